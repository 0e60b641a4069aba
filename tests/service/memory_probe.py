"""Peak memory of a hub run and an envelope release, measured in a process of its own.

    python -m tests.service.memory_probe setup FOLDER --records N --envelope-bytes B
    python -m tests.service.memory_probe measure FOLDER

`setup` makes a hub in FOLDER (SQLite file, data folder): a project of two agencies, each
with one upload of N records whose sealed envelopes are B bytes each, so the uploads are
large while what matching needs of them (references and 1024-bit filters) is small; and
a small project of the same kind to warm the hub up with.
`measure`, in a fresh process, runs and releases once on the small project (imports,
compiled kernels loaded: what a hub that has served before holds), then executes a run
over the large uploads as a run worker does (`service.jobs`) and releases the envelopes
of every hit (`service.disclosure`), and prints one JSON line: the peak of Python-traced
memory (tracemalloc: Python objects, NumPy arrays, decrypted chunks) during each, Arrow's
own pool peak over both, the sealed uploads' sizes, and what came out. Used by
tests/service/test_streaming.py.
"""

import argparse
import json
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from linkage.batch import Envelopes
from service.auth import Role
from service.config import Settings
from service.db import Base, make_engine
from service.disclosure import release
from service.models import Project, Run, RunStatus, Upload
from service.store.disclosure import hits_with_members
from service.store.runs import uploads_of
from tests.service.factories import make_agency, make_principal, make_project
from tests.service.matching_data import (
    execute_queued,
    job_context,
    plant,
    queue_run,
    store_upload,
)

AGENCIES = ("FIU", "Politie")
WARM_UP, MEASURED = "Warm-up", "Carousel"


def settings_for(folder: Path) -> Settings:
    return Settings(
        database_url=SecretStr(f"sqlite:///{folder / 'hub.db'}"),
        data_dir=folder / "hub-data",
        run_workers=0,
    )


def setup(folder: Path, records: int, envelope_bytes: int) -> None:
    """A project of two agencies, each with one large upload; and a small one."""
    settings = settings_for(folder)
    engine = make_engine(settings)
    Base.metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as session:
        for name, size in ((WARM_UP, 200), (MEASURED, records)):
            add_project(session, settings, name, size, envelope_bytes)
    engine.dispose()


def add_project(
    session: Session, settings: Settings, name: str, records: int, envelope_bytes: int
) -> None:
    planted = plant(list(AGENCIES), records=records, persons=12)
    rng = np.random.default_rng(7)
    agencies = {agency: make_agency(session, f"{agency} {name}") for agency in AGENCIES}
    project = make_project(session, list(agencies.values()), name=name)
    for label, agency in zip(AGENCIES, agencies.values(), strict=True):
        officer, _ = make_principal(session, agency, role=Role.DATA_OFFICER, name="Officer")
        batch = replace(planted.batches[label], agency=agency.name)
        sealed = tuple(rng.bytes(envelope_bytes) for _ in range(len(batch)))
        envelopes = Envelopes(ephemeral_key="cd" * 32, team_key_id="ef" * 8, sealed=sealed)
        store_upload(
            session,
            settings,
            project=project,
            agency=agency,
            uploaded_by=officer.id,
            batch=replace(batch, envelopes=envelopes),
        )


def measure(folder: Path) -> dict[str, object]:
    """Warm up, then run and release every hit's envelopes; peaks and outcomes."""
    settings = settings_for(folder)
    engine = make_engine(settings)

    def sessions() -> Session:
        return Session(engine, expire_on_commit=False)

    run_and_release(sessions, settings, WARM_UP)
    tracemalloc.start()
    measured = run_and_release(sessions, settings, MEASURED)
    tracemalloc.stop()
    return measured | {"arrow_peak_bytes": pa.default_memory_pool().max_memory()}


def run_and_release(
    sessions: Callable[[], Session], settings: Settings, name: str
) -> dict[str, object]:
    """A run over the project's uploads, then a release of every hit's envelopes."""
    with sessions() as session:
        project = session.scalars(select(Project).where(Project.name == name)).one()
        run_id = queue_run(session, project).id
        query = select(Upload.size_bytes).where(Upload.project_id == project.id)
        sizes = list(session.scalars(query))
    tracemalloc.reset_peak()
    started = time.perf_counter()
    execute_queued(sessions, settings)
    run_seconds = time.perf_counter() - started
    run_peak = tracemalloc.get_traced_memory()[1]
    with sessions() as session:
        run = session.get_one(Run, run_id)
        hits = hits_with_members(session, run.id, list(range(1, (run.hit_count or 0) + 1)))
        uploads = uploads_of(session, run)
    context = job_context(sessions, settings)
    tracemalloc.reset_peak()
    releases = release(
        list(hits.values()),
        run=run,
        uploads=uploads,
        approved=None,
        objects=context.objects,
        keyring=context.keyring,
    )
    return {
        "status": run.status.value if run.status is RunStatus.SUCCEEDED else str(run.error),
        "hits": run.hit_count,
        "members": sum(len(hit.members) for hit in hits.values()),
        "envelopes": sum(len(item.envelopes) for item in releases),
        "upload_bytes": sizes,
        "run_peak_bytes": run_peak,
        "release_peak_bytes": tracemalloc.get_traced_memory()[1],
        "run_seconds": round(run_seconds, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("step", choices=["setup", "measure"])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--envelope-bytes", type=int, default=4096)
    args = parser.parse_args(argv)
    if args.step == "setup":
        setup(args.folder, args.records, args.envelope_bytes)
    else:
        sys.stdout.write(json.dumps(measure(args.folder)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
