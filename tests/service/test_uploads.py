"""Uploads: streamed batch files, checked, sealed at rest, replaced and deleted by their agency."""

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from linkage.batch import Batch
from service.auth import Role
from service.batches import blob_path, open_upload, reseal_uploads
from service.config import Settings
from service.hub_keys import Keyring, load_hub_keys, rotate
from service.models import Upload
from service.objects import LocalObjects
from tests.service.batch_files import ARROW, as_file, make_batch, raw_arrow_file
from tests.service.factories import bearer, make_agency, make_principal, make_project

OWN, PARTNER, OUTSIDER = "Politie", "KMar", "FIOD"


@dataclass
class Team:
    url: str
    tokens: dict[str, str]

    def headers(self, caller: str, *, arrow: bool = False) -> dict[str, str]:
        return bearer(self.tokens[caller]) | (ARROW if arrow else {})


@pytest.fixture
def team(session: Session) -> Team:
    own, partner, outsider = (make_agency(session, name) for name in (OWN, PARTNER, OUTSIDER))
    principals = {
        "officer": make_principal(session, own, role=Role.DATA_OFFICER),
        "partner": make_principal(session, partner, role=Role.DATA_OFFICER),
        "outsider": make_principal(session, outsider, role=Role.DATA_OFFICER, name="Outsider"),
        "analyst": make_principal(session, own, role=Role.ANALYST),
        "auditor": make_principal(session, own, role=Role.AUDITOR),
        "stranger": make_principal(session, own, role=Role.ANALYST, name="Not on the team"),
    }
    members = [principals[name][0] for name in ("analyst", "auditor", "outsider")]
    project = make_project(session, [own, partner], members=members)
    return Team(
        url=f"/v1/projects/{project.id}/uploads",
        tokens={name: token for name, (_, token) in principals.items()},
    )


def upload(
    client: TestClient, team: Team, content: bytes, caller: str = "officer"
) -> dict[str, Any]:
    response = client.post(team.url, content=content, headers=team.headers(caller, arrow=True))
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def keyring(settings: Settings) -> Keyring:
    return load_hub_keys(settings.data_dir, create=False).storage


def stored(settings: Settings, session: Session, upload_id: str) -> Batch:
    row = session.get(Upload, uuid.UUID(upload_id))
    assert row is not None
    session.refresh(row)
    return open_upload(row, objects=LocalObjects(settings.data_dir), keyring=keyring(settings))


def blobs(settings: Settings) -> list[Path]:
    return sorted((settings.data_dir / "uploads").glob("*"))


def spool_is_empty(settings: Settings) -> bool:
    return not any((settings.data_dir / "spool").glob("*"))


def test_upload_is_accepted_and_listed(client: TestClient, team: Team, settings: Settings) -> None:
    content = as_file(make_batch(OWN, records=25))

    created = client.post(team.url, content=content, headers=team.headers("officer", arrow=True))
    listed = client.get(team.url, headers=team.headers("officer"))
    read = client.get(f"{team.url}/{created.json()['id']}", headers=team.headers("analyst"))

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["agency"] == OWN
    assert (body["record_count"], body["filter_bits"]) == (25, 1024)
    assert body["digest"] == hashlib.sha256(content).hexdigest()
    assert body["size_bytes"] == len(content)
    assert listed.json()["items"] == [body]
    assert read.json() == body
    assert spool_is_empty(settings)


def test_identical_file_is_answered_200_and_stored_once(
    client: TestClient, team: Team, session: Session, settings: Settings
) -> None:
    content = as_file(make_batch(OWN))

    first = upload(client, team, content)
    again = client.post(team.url, content=content, headers=team.headers("officer", arrow=True))

    assert again.status_code == 200
    assert again.json() == first
    assert len(client.get(team.url, headers=team.headers("officer")).json()["items"]) == 1
    assert len(blobs(settings)) == 1


def _bad_files() -> dict[str, tuple[bytes, str]]:
    good = make_batch(OWN, first=1000)
    return {
        "not arrow": (b"PAR1 this is no Arrow file", "invalid-batch"),
        "no records": (as_file(make_batch(OWN, records=0)), "invalid-batch"),
        "repeated reference": (
            raw_arrow_file(good, references=["a" * 32] * len(good)),
            "invalid-batch",
        ),
        "other agency": (as_file(make_batch(PARTNER, first=1000)), "agency-mismatch"),
        "other schema": (
            as_file(make_batch(OWN, first=1000, fingerprint="cd" * 32)),
            "schema-mismatch",
        ),
        "other key": (as_file(make_batch(OWN, first=1000, key_check="f" * 16)), "key-mismatch"),
        "other filter length": (
            as_file(make_batch(OWN, first=1000, filter_bits=512)),
            "filter-bits-mismatch",
        ),
        "reference uploaded before": (
            as_file(make_batch(OWN, first=10, seed=3)),
            "duplicate-references",
        ),
    }


@pytest.mark.parametrize("kind", list(_bad_files()))
def test_bad_upload_is_refused_and_earlier_upload_stays(
    client: TestClient, team: Team, session: Session, kind: str, settings: Settings
) -> None:
    content, code = _bad_files()[kind]
    earlier = upload(client, team, as_file(make_batch(OWN, records=20)))

    response = client.post(team.url, content=content, headers=team.headers("officer", arrow=True))

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert "0" * 29 not in response.text  # no reference is echoed
    assert [
        item["id"] for item in client.get(team.url, headers=team.headers("officer")).json()["items"]
    ] == [earlier["id"]]
    assert len(stored(settings, session, earlier["id"])) == 20
    assert spool_is_empty(settings)


def test_other_agency_label_is_refused_without_echoing_the_label(
    client: TestClient, team: Team
) -> None:
    response = client.post(
        team.url, content=as_file(make_batch(PARTNER)), headers=team.headers("officer", arrow=True)
    )

    assert response.json()["code"] == "agency-mismatch"
    assert (
        response.json()["detail"] == "the batch is not labelled with the caller's agency, Politie"
    )
    assert PARTNER not in response.text


def test_duplicate_reference_is_named_by_line_and_upload(client: TestClient, team: Team) -> None:
    earlier = upload(client, team, as_file(make_batch(OWN, first=0, records=10)))

    response = client.post(
        team.url,
        content=as_file(make_batch(OWN, first=5, records=10, seed=1)),
        headers=team.headers("officer", arrow=True),
    )

    # The new batch's first record (line 2 of its reference map, under the header line).
    assert response.json()["detail"] == (
        "the record on line 2 of the batch's reference map repeats a reference of the "
        f"agency's upload {earlier['id']}"
    )


def test_filter_length_is_checked_against_other_agencies_uploads(
    client: TestClient, team: Team
) -> None:
    upload(client, team, as_file(make_batch(PARTNER, filter_bits=512)), caller="partner")

    response = client.post(
        team.url, content=as_file(make_batch(OWN)), headers=team.headers("officer", arrow=True)
    )

    assert response.json()["code"] == "filter-bits-mismatch"
    assert response.json()["detail"] == "filters are 1024 bits; the project's uploads use 512"


def test_agencies_may_share_references(client: TestClient, team: Team) -> None:
    upload(client, team, as_file(make_batch(PARTNER)), caller="partner")

    response = client.post(
        team.url, content=as_file(make_batch(OWN)), headers=team.headers("officer", arrow=True)
    )

    assert response.status_code == 201


def test_body_over_the_limit_is_413_by_its_declared_length(
    client: TestClient, team: Team, settings: Settings
) -> None:
    content = as_file(make_batch(OWN))
    settings.max_upload_bytes = len(content) - 1  # the app's own settings

    response = client.post(team.url, content=content, headers=team.headers("officer", arrow=True))

    assert response.status_code == 413
    assert response.json()["code"] == "payload-too-large"
    assert client.get(team.url, headers=team.headers("officer")).json()["items"] == []
    assert spool_is_empty(settings)


def test_streamed_body_over_the_limit_is_413(
    client: TestClient, team: Team, settings: Settings
) -> None:
    content = as_file(make_batch(OWN))
    settings.max_upload_bytes = len(content) - 1  # the app's own settings

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        yield from (content[start : start + 1000] for start in range(0, len(content), 1000))

    response = client.post(team.url, content=chunks(), headers=team.headers("officer", arrow=True))

    assert response.status_code == 413
    assert spool_is_empty(settings)


def test_other_media_type_is_415(client: TestClient, team: Team) -> None:
    response = client.post(
        team.url,
        content=as_file(make_batch(OWN)),
        headers=team.headers("officer") | {"Content-Type": "application/json"},
    )

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported-media-type"


def test_replace_keeps_the_id_and_swaps_the_content(
    client: TestClient, team: Team, session: Session, settings: Settings
) -> None:
    first = upload(client, team, as_file(make_batch(OWN, records=20)))
    old_blob = blobs(settings)[0]
    # The same references again are fine: the replaced upload does not count as earlier.
    content = as_file(make_batch(OWN, records=30, seed=9))

    response = client.put(
        f"{team.url}/{first['id']}", content=content, headers=team.headers("officer", arrow=True)
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == first["id"]
    assert (body["record_count"], body["digest"]) == (30, hashlib.sha256(content).hexdigest())
    assert len(stored(settings, session, first["id"])) == 30
    assert not old_blob.exists()
    assert client.get(team.url, headers=team.headers("officer")).json()["items"] == [body]


def test_failed_replace_keeps_the_old_content(
    client: TestClient, team: Team, session: Session, settings: Settings
) -> None:
    first = upload(client, team, as_file(make_batch(OWN, records=20)))

    response = client.put(
        f"{team.url}/{first['id']}",
        content=as_file(make_batch(OWN, key_check="e" * 16)),
        headers=team.headers("officer", arrow=True),
    )

    assert response.json()["code"] == "key-mismatch"
    assert client.get(f"{team.url}/{first['id']}", headers=team.headers("officer")).json() == first
    assert len(stored(settings, session, first["id"])) == 20
    assert len(blobs(settings)) == 1


def test_replace_with_the_same_file_changes_nothing(client: TestClient, team: Team) -> None:
    content = as_file(make_batch(OWN))
    first = upload(client, team, content)

    response = client.put(
        f"{team.url}/{first['id']}", content=content, headers=team.headers("officer", arrow=True)
    )

    assert response.status_code == 200
    assert response.json() == first


def test_replace_with_another_uploads_file_is_a_conflict(client: TestClient, team: Team) -> None:
    first = upload(client, team, as_file(make_batch(OWN, first=0)))
    second_file = as_file(make_batch(OWN, first=100))
    upload(client, team, second_file)

    response = client.put(
        f"{team.url}/{first['id']}",
        content=second_file,
        headers=team.headers("officer", arrow=True),
    )

    assert response.status_code == 409


def test_delete_removes_row_and_blob(client: TestClient, team: Team, settings: Settings) -> None:
    first = upload(client, team, as_file(make_batch(OWN)))

    deleted = client.delete(f"{team.url}/{first['id']}", headers=team.headers("officer"))
    again = client.delete(f"{team.url}/{first['id']}", headers=team.headers("officer"))

    assert deleted.status_code == 204
    assert again.status_code == 404
    assert client.get(team.url, headers=team.headers("officer")).json()["items"] == []
    assert blobs(settings) == []


def test_sealed_blob_holds_no_reference_and_no_filter(
    client: TestClient, team: Team, session: Session, settings: Settings
) -> None:
    batch = make_batch(OWN, records=50)
    first = upload(client, team, as_file(batch))
    row = session.get(Upload, uuid.UUID(first["id"]))
    assert row is not None

    sealed = blob_path(settings.data_dir, row).read_bytes()

    assert not any(reference.encode() in sealed for reference in batch.references)
    assert not any(bytes(filter_row) in sealed for filter_row in batch.filters)
    assert row.storage_key_id == keyring(settings).active_id


def test_data_officer_sees_own_uploads_and_team_sees_all(client: TestClient, team: Team) -> None:
    own = upload(client, team, as_file(make_batch(OWN)))
    partner = upload(client, team, as_file(make_batch(PARTNER)), caller="partner")

    def listed(caller: str) -> list[str]:
        response = client.get(team.url, headers=team.headers(caller))
        return [item["id"] for item in response.json()["items"]]

    assert listed("officer") == [own["id"]]
    assert listed("partner") == [partner["id"]]
    assert listed("analyst") == listed("auditor") == [own["id"], partner["id"]]
    assert (
        client.get(f"{team.url}/{partner['id']}", headers=team.headers("officer")).status_code
        == 404
    )
    assert (
        client.get(f"{team.url}/{partner['id']}", headers=team.headers("analyst")).status_code
        == 200
    )
    assert client.get(team.url, headers=team.headers("stranger")).status_code == 404


def test_other_agency_cannot_replace_or_delete(client: TestClient, team: Team) -> None:
    own = upload(client, team, as_file(make_batch(OWN)))
    url = f"{team.url}/{own['id']}"

    replaced = client.put(
        url, content=as_file(make_batch(PARTNER)), headers=team.headers("partner", arrow=True)
    )
    deleted = client.delete(url, headers=team.headers("partner"))

    assert (replaced.status_code, deleted.status_code) == (404, 404)
    assert client.get(url, headers=team.headers("officer")).json() == own


def test_officer_on_the_team_of_a_project_without_its_agency_cannot_upload(
    client: TestClient, team: Team
) -> None:
    response = client.post(
        team.url,
        content=as_file(make_batch(OUTSIDER)),
        headers=team.headers("outsider", arrow=True),
    )

    assert response.status_code == 403


def test_spec_declares_the_batch_file_body(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    path = spec["paths"]["/v1/projects/{project_id}/uploads"]

    content = path["post"]["requestBody"]["content"]

    assert content == {
        "application/vnd.apache.arrow.file": {"schema": {"type": "string", "format": "binary"}}
    }


def test_reseal_moves_uploads_to_the_new_storage_key(
    client: TestClient, team: Team, session: Session, settings: Settings
) -> None:
    first = upload(client, team, as_file(make_batch(OWN, records=20)))
    old_id = keyring(settings).active_id
    folder = settings.data_dir
    new_id = rotate(folder, "storage")
    ring = load_hub_keys(folder, create=False).storage

    moved = reseal_uploads(session, objects=LocalObjects(folder), keyring=ring)
    session.commit()

    row = session.get(Upload, uuid.UUID(first["id"]))
    assert row is not None
    assert (moved, row.storage_key_id) == (1, new_id)
    only_new = Keyring(keys={new_id: ring.keys[new_id]}, active_id=new_id)
    assert len(open_upload(row, objects=LocalObjects(folder), keyring=only_new)) == 20
    assert old_id not in blob_path(folder, row).read_bytes()[:24].decode()
    assert reseal_uploads(session, objects=LocalObjects(folder), keyring=ring) == 0
