"""A hub that spills large uploads' comparison words finds the hits of one that does not.

`Settings.spill_over_records` = 0 spills every upload: a run reads each salt family's
words back from sealed temporary files under `spill_dir` when it compares that family
(`linkage.spill`). SQLite and PostgreSQL.
"""

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from linkage.spill import SealedSpill
from service.config import Settings
from tests.service.test_digested_runs import (
    assert_hits_of_whole_batches,
    files,
    run_hits,
    uploaded,
)
from tests.service.test_probing import AGENCIES

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

    assert len(read_back) >= len(AGENCIES) * 2  # every upload's families, read back from disk
    assert_hits_of_whole_batches(spilled, session, files)
    assert list(Path(settings.spill_dir).iterdir()) == []  # unnamed files, closed: gone


def test_a_hub_spills_uploads_of_more_than_a_million_records_by_default() -> None:
    defaults = Settings()
    assert defaults.spill_over_records == 1_000_000 and defaults.spill_dir == ""
