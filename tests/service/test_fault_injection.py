"""SIGKILL a real hub once in each phase (upload, run, hit storage, burst) and restart it.

A small version of benchmarks/fault_injection.py: after every kill no acknowledged upload is
lost, no half batch is visible, interrupted runs end (and rerun), the audit chain verifies
and the spool is clean. On SQLite, and on a PostgreSQL database of its own when configured.
"""

import os
from pathlib import Path

import pytest

from benchmarks.fault_injection import INVARIANTS, PHASES, Scale, inject, postgres_database
from tests.log_scan import scan_file

SMALL = Scale(run_records=1000, run_persons=600, upload_records=5000, burst_requests=16)


def _expect_all_held(outcome_held: dict[str, dict[str, int]]) -> None:
    failed = [(p, i) for p in PHASES for i in INVARIANTS if outcome_held[p][i] != 1]
    assert not failed, f"invariants broken after a kill (phase, invariant): {failed}"


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_one_kill_in_each_phase_breaks_no_invariant(database: str, tmp_path: Path) -> None:
    if database == "sqlite":
        outcome = inject(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path, cycles=1, scale=SMALL)
    else:
        server = os.environ.get("TEST_DATABASE_URL")
        if not server:
            pytest.skip("TEST_DATABASE_URL is not set")
        with postgres_database(server) as url:
            outcome = inject(url, tmp_path, cycles=1, scale=SMALL)

    assert outcome.cycles == dict.fromkeys(PHASES, 1)
    _expect_all_held(outcome.held)
    scan_file(tmp_path / "hub.log", source="hub subprocess (fault injection)")
