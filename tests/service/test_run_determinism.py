"""A run's hits depend on the batches' contents only, not on the ids a hub gave them.

Two hubs, each with its own database and data folder, get the same batch files; ids are
random, so here they are chosen to order the agencies (and one agency's uploads) the
other way round on the second hub. Both must export the same hits file, byte for byte.
"""

import uuid
from dataclasses import replace
from pathlib import Path

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session

from linkage.batch import Batch
from service.auth import Role
from service.config import Settings
from service.db import Base, make_engine
from service.main import create_app
from service.models import Agency, Upload
from tests.service.factories import bearer, make_principal, make_project
from tests.service.matching_data import plant, store_upload

NAMES = ("FIU", "Gemeente Rotterdam", "Politie")


def halves(batch: Batch) -> list[Batch]:
    """One agency's file as two uploads (its references and filters split in two)."""
    middle = len(batch) // 2
    return [
        replace(batch, references=batch.references[part], filters=batch.filters[part])
        for part in (slice(0, middle), slice(middle, None))
    ]


def ids(reverse: bool) -> list[uuid.UUID]:
    """Agency ids that sort like NAMES, or the other way round."""
    chosen = [uuid.UUID(int=(index + 1) << 120) for index in range(len(NAMES))]
    return chosen[::-1] if reverse else chosen


def hub_export(tmp_path: Path, hub: str, batches: dict[str, Batch], *, reverse: bool) -> bytes:
    """Set up a hub, upload the batches, run without a threshold, export the hits."""
    settings = Settings(
        database_url=SecretStr(f"sqlite:///{tmp_path / hub}.db"),
        data_dir=tmp_path / hub,
        run_workers=0,
        run_inline=True,
    )
    engine = make_engine(settings)
    Base.metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as session:
        agencies = [Agency(id=i, name=name) for i, name in zip(ids(reverse), NAMES, strict=True)]
        session.add_all(agencies)
        session.commit()
        analyst, token = make_principal(session, agencies[-1], name="Analyst")
        project = make_project(session, agencies, members=[analyst])
        for agency in agencies:
            officer, _ = make_principal(session, agency, role=Role.DATA_OFFICER, name="Officer")
            parts = halves(batches[agency.name])
            for part in parts[::-1] if reverse else parts:
                store_upload(
                    session, settings, project=project, agency=agency, uploaded_by=officer.id,
                    batch=part,
                )  # fmt: skip
        uploads = session.query(Upload.id).filter(Upload.project_id == project.id).count()
        assert uploads == 2 * len(NAMES)
    url = f"/v1/projects/{project.id}/runs"
    with TestClient(create_app(settings, engine=engine)) as client:
        run = client.post(url, json={}, headers=bearer(token))
        assert run.status_code == 202, run.text
        export = client.get(
            f"{url}/{run.json()['id']}/hits/export",
            params={"format": "json"},
            headers=bearer(token),
        )
    engine.dispose()
    assert export.status_code == 200, export.text
    content: bytes = export.content
    return content


def test_two_hubs_given_the_same_files_export_identical_hits(tmp_path: Path) -> None:
    planted = plant(list(NAMES), records=150, persons=20, seed=3)

    first = hub_export(tmp_path, "first", planted.batches, reverse=False)
    second = hub_export(tmp_path, "second", planted.batches, reverse=True)

    assert first == second
    assert first.count(b'"group"') >= len(planted.persons)
