"""Runs read uploads of group filters as family digests: the hits of the uploads read whole.

Uploads keep their content digest (`Upload.content_digest`, migration 0009), so a run can
order its batches without the filters and read each as `linkage.batch_stream.
read_for_matching` does. Uploads stored before have none and are read whole, as before.
Synthetic agency files encoded by `encode_csv` with the shipped `person` schema (salt
families with group filters). SQLite and PostgreSQL.
"""

import uuid
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from linkage.batch import Batch, read_batch
from linkage.match.engine import run_here
from linkage.match.layout import ComparisonLayout
from linkage.synth import generate
from service import batches, matching, store
from service.auth import Role
from service.matching import match_run
from service.models import Agency, Upload
from service.probing import content_digest
from tests.service.factories import bearer, make_agency, make_principal
from tests.service.probing_data import encode_rows, read_rows
from tests.service.test_probing import AGENCIES, post, register


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Each synthetic agency's batch file, encoded with the person schema."""
    folder = tmp_path_factory.mktemp("synth")
    generate(folder, persons=300, seed=3)
    return {
        agency: encode_rows(read_rows(folder / f"{agency}.csv"), folder / agency, agency=agency)
        for agency in AGENCIES
    }


def uploaded(
    client: TestClient, session: Session, admin_token: str, files: dict[str, bytes]
) -> tuple[str, str]:
    """A project of the four agencies with every file uploaded: its URL and an analyst."""
    tokens = {}
    for name in AGENCIES:
        agency = make_agency(session, name)
        tokens[name] = make_principal(session, agency, role=Role.DATA_OFFICER, name=name)[1]
    url = register(client, admin_token, session).removesuffix("/uploads")
    for name, token in tokens.items():
        answer = post(client, f"{url}/uploads", token, files[name])
        assert answer.status_code == 201, answer.text
    politie = session.scalars(select(Agency).where(Agency.name == "politie")).one()
    analyst, analyst_token = make_principal(session, politie, name="Analyst")
    store.add_member(session, project_id=uuid.UUID(url.rsplit("/", 1)[1]), principal_id=analyst.id)
    session.commit()
    return url, analyst_token


def run_hits(client: TestClient, url: str, token: str) -> list[dict[str, Any]]:
    started = client.post(f"{url}/runs", json={}, headers=bearer(token))
    assert started.status_code == 202, started.text
    run = client.get(f"{url}/runs/{started.json()['id']}", headers=bearer(token)).json()
    assert run["status"] == "succeeded", run
    export = client.get(f"{url}/runs/{run['id']}/hits/export", headers=bearer(token))
    return list(export.json()["groups"])


def assert_hits_of_whole_batches(
    hits: list[dict[str, Any]], session: Session, files: dict[str, bytes]
) -> None:
    """The run's exported hits are those of its uploads' batches read whole and matched."""
    uploads = session.scalars(select(Upload)).all()
    names = {agency.id: agency.name for agency in session.scalars(select(Agency))}
    expected, _ = match_run(
        [
            replace(read_batch(files[names[upload.agency_id]]), agency=str(upload.agency_id))
            for upload in uploads
        ],
        threshold=None,
        min_agencies=2,
        runner=run_here,
        progress=lambda stage, done: None,
    )
    assert len(hits) == len(expected.groups) > 20
    for group, hit in zip(expected.groups, hits, strict=True):
        members = [(names[uuid.UUID(m.agency)], m.reference) for m in group.members]
        assert [(m["agency"], m["reference"]) for m in hit["members"]] == members


def test_a_run_reads_digests_and_finds_the_hits_of_the_uploads_read_whole(
    client: TestClient,
    session: Session,
    admin_token: str,
    files: dict[str, bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert ComparisonLayout.parse(
        read_batch(files["politie"]).comparisons.layout  # type: ignore[union-attr]
    ).group_filters
    url, analyst = uploaded(client, session, admin_token, files)
    uploads = session.scalars(select(Upload)).all()
    names = {agency.id: agency.name for agency in session.scalars(select(Agency))}
    for upload in uploads:  # kept on admission: the digest of what was uploaded
        whole = read_batch(files[names[upload.agency_id]])
        assert upload.content_digest == content_digest(whole)
    read_whole: list[str] = []
    whole_read = batches.open_upload

    def counted(upload: Upload, **where: Any) -> Batch:
        read_whole.append(str(upload.id))
        return whole_read(upload, **where)

    monkeypatch.setattr(matching, "open_upload", counted)

    digested = run_hits(client, url, analyst)

    assert not read_whole  # every upload was read as digests
    assert_hits_of_whole_batches(digested, session, files)

    for upload in uploads:  # as uploads stored before the digest was kept
        upload.content_digest = None
    session.commit()
    assert run_hits(client, url, analyst) == digested
    assert len(read_whole) == len(AGENCIES)
