"""A hub that spills large uploads' comparison words finds the hits of one that does not.

`Settings.spill_over_records` = 0 spills every upload: a run reads each salt family's
words back from sealed temporary files under `spill_dir` when it compares that family
(`linkage.spill`). SQLite and PostgreSQL.
"""

import uuid
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from linkage.batch import read_batch
from linkage.match.engine import run_here
from linkage.spill import SealedSpill
from service.config import Settings
from service.matching import match_run
from service.models import Agency, Upload
from tests.service.test_digested_runs import files, run_hits, uploaded

__all__ = ["files"]  # the module's fixture, shared


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    (tmp_path / "spill").mkdir()
    return settings.model_copy(
        update={"spill_over_records": 0, "spill_dir": str(tmp_path / "spill")}
    )


def test_a_run_of_spilled_uploads_finds_the_hits_of_the_uploads_read_whole(
    client: TestClient,
    session: Session,
    admin_token: str,
    files: dict[str, bytes],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    read_back: list[int] = []
    reader = SealedSpill.read

    def counted(spill: SealedSpill, part: int) -> npt.NDArray[np.uint64]:
        read_back.append(part)
        return reader(spill, part)

    monkeypatch.setattr(SealedSpill, "read", counted)
    url, analyst = uploaded(client, session, admin_token, files)

    spilled = run_hits(client, url, analyst)

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
    assert len(read_back) >= len(uploads) * 2  # every upload's families, read back from disk
    assert len(spilled) == len(expected.groups) > 20
    for group, hit in zip(expected.groups, spilled, strict=True):
        members = [(names[uuid.UUID(m.agency)], m.reference) for m in group.members]
        assert [(m["agency"], m["reference"]) for m in hit["members"]] == members
    assert list(Path(settings.spill_dir).iterdir()) == []  # unnamed files, closed: gone


def test_a_hub_spills_uploads_of_more_than_a_million_records_by_default() -> None:
    defaults = Settings()
    assert defaults.spill_over_records == 1_000_000 and defaults.spill_dir == ""
