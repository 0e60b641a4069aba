"""Peak memory of a hub run and an envelope release: uploads read whole (as before) or streamed.

    .venv/bin/python -m benchmarks.hub_memory_bench                     # 2 x 200,000 records
    .venv/bin/python -m benchmarks.hub_memory_bench --records 1000000 --persons 500000

Seeds a hub (SQLite file, data folder) with a project of two agencies, each with one
upload of `--records` records: random 1024-bit filters, `--persons` persons planted in
both (the same filter with 12 bits flipped), and a sealed envelope of `--envelope-bytes`
random bytes per record (157: four fields, benchmarks/README.md). Then, for each way of
reading, in a fresh process: a warm-up run and release on a small project (imports and
compiled kernels loaded, as in a hub that has served before), then

- *run*: `service.jobs.execute` of a queued run: read the uploads, match, store the hits,
  their members and rendered views, count the changes;
- *release*: `service.disclosure.release` of the envelopes of `--release` hits (500, the
  most one request may ask for);
- *read*: one upload read as the upload checks read a new one,

each with the process's peak resident memory during the step (VmHWM, cleared before the
step: Linux) and how far that peak rose above what the process held when the step began.

*whole* is the hub before streaming (the parent of commit 059a308): the same code with
three functions put back as they were there: uploads decrypted whole and read by
`read_batch` (`service.matching.load_batches`), hit rows built for every hit before
storing begins (`service.hit_views.stored_hits`), and a release's upload decrypted whole
and opened as one Arrow table (`service.disclosure.upload_envelopes`). *streamed* is the
hub as it is.
"""

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from linkage.batch import ENVELOPE_COLUMN, Batch, Envelopes, read_batch, write_batch
from linkage.batch_stream import Picked
from linkage.hits import Group
from linkage.match.engine import run_here
from service import disclosure, jobs, store
from service.auth import Role
from service.batches import blob_key, read_upload, seal_upload
from service.config import Settings
from service.db import Base, make_engine
from service.hit_views import rendered_views, stored_hits
from service.hub_keys import Keyring, load_hub_keys
from service.matching import load_batches, match_run
from service.models import PROJECT_LIFETIME, Project, Run, Upload, utcnow
from service.objects import LocalObjects, ObjectStore
from service.store import hits as hits_store
from service.store import runs as runs_store
from service.store import uploads as uploads_store
from service.store.disclosure import hits_with_members
from service.store.runs import add_run, uploads_of
from service.vault import open_object

AGENCIES = ("Gemeente", "Politie")
FINGERPRINT = "ab" * 32
KEY_CHECK = "0123456789abcdef"
THRESHOLD = 0.8
WARM_UP = "Warm-up"
MODES = ("whole", "streamed")  # each measured on a project of its own, with the same uploads
STEPS = ("run", "release", "read")
STAGES = ("reading the uploads", "matching", "hit rows and views")


# ---------------------------------------------------------------------------- data


def planted(records: int, persons: int, envelope_bytes: int, seed: int) -> list[Batch]:
    """Two agencies' batches: random filters, `persons` planted in both, sealed envelopes."""
    rng = np.random.default_rng(seed)
    shape = (records, 128)
    filters = [
        rng.integers(0, 256, shape, dtype=np.uint8) & rng.integers(0, 256, shape, dtype=np.uint8)
        for _ in AGENCIES
    ]
    rows = rng.permutation(records)[:persons]
    for side in filters[1:]:
        side[rows] = filters[0][rows]
    for side in filters:  # each agency's copy differs from the person's filter in 12 bits
        flips = rng.integers(0, 1024, (persons, 12))
        np.bitwise_xor.at(side, (rows[:, None], flips // 8), (1 << (flips % 8)).astype(np.uint8))
    batches = []
    for name, side in zip(AGENCIES, filters, strict=True):
        sealed = tuple(rng.bytes(envelope_bytes) for _ in range(records))
        batches.append(
            Batch.create(
                agency=name,
                schema_fingerprint=FINGERPRINT,
                key_check=KEY_CHECK,
                references=[f"{name[:3].lower()}-{index:08d}" for index in range(records)],
                filters=side,
                envelopes=Envelopes(ephemeral_key="cd" * 32, team_key_id="ef" * 8, sealed=sealed),
            )
        )
    return batches


def settings_for(folder: Path) -> Settings:
    return Settings(
        database_url=SecretStr(f"sqlite:///{folder / 'hub.db'}"),
        data_dir=folder / "hub-data",
        run_workers=0,
    )


def seed(folder: Path, records: int, persons: int, envelope_bytes: int) -> list[int]:
    """The hub: schema, keys, a warm-up project and the measured one; upload sizes."""
    settings = settings_for(folder)
    engine = make_engine(settings)
    Base.metadata.create_all(engine)
    keyring = load_hub_keys(settings.data_dir, create=True).storage
    objects = LocalObjects(settings.data_dir)
    with Session(engine) as session:
        warm_up = planted(1000, 100, envelope_bytes, seed=0)
        add_project(session, WARM_UP, warm_up, folder, objects, keyring)
        batches = planted(records, persons, envelope_bytes, seed=1)
        for mode in MODES:
            sizes = add_project(session, mode, batches, folder, objects, keyring)
        session.commit()
    engine.dispose()
    return sizes


def add_project(
    session: Session,
    name: str,
    batches: Sequence[Batch],
    folder: Path,
    objects: ObjectStore,
    keyring: Keyring,
) -> list[int]:
    agencies = [store.add_agency(session, name=f"{batch.agency} {name}") for batch in batches]
    project = store.add_project(
        session,
        name=name,
        purpose="memory benchmark",
        legal_basis="none: synthetic data",
        agencies=agencies,
        schema_fingerprint=FINGERPRINT,
        key_check=KEY_CHECK,
        threshold=THRESHOLD,
        min_agencies=2,
        expires_at=utcnow() + PROJECT_LIFETIME,
    )
    sizes = []
    for agency, batch in zip(agencies, batches, strict=True):
        officer = store.add_principal(
            session, agency_id=agency.id, name="Officer", role=Role.DATA_OFFICER
        )
        path = folder / f"{agency.id}.arrow"
        write_batch(batch, path)
        upload = Upload(
            project_id=project.id,
            agency_id=agency.id,
            uploaded_by=officer.id,
            digest=_sha256(path),
            record_count=len(batch),
            filter_bits=batch.filter_bits,
            size_bytes=path.stat().st_size,
            storage_key_id=keyring.active_id,
            key_check=KEY_CHECK,
        )
        uploads_store.add_upload(session, upload)
        seal_upload(_pieces(path), upload, objects=objects, keyring=keyring)
        path.unlink()
        sizes.append(upload.size_bytes)
    return sizes


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    for piece in _pieces(path):
        digest.update(piece)
    return digest.hexdigest()


def _pieces(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as source:
        while piece := source.read(8 * 1024 * 1024):
            yield piece


# ---------------------------------------------------------------------------- the hub before


def whole_load_batches(
    uploads: Sequence[Upload], *, objects: ObjectStore, keyring: Keyring
) -> list[Batch]:
    """`service.matching.load_batches` before streaming: each upload decrypted whole."""
    return [
        replace(read_batch(_whole(upload, objects, keyring)), agency=str(upload.agency_id))
        for upload in uploads
    ]


def whole_stored_hits(
    run_id: uuid.UUID, groups: Sequence[Group], agency_names: Mapping[str, str]
) -> Iterator[hits_store.RowBatch]:
    """`service.jobs._store` before: every hit's rows built first, views rendered lazily."""
    rows = hits_store.hit_rows(run_id, groups)
    views = rendered_views(hits_store.row_pages(rows, agency_names), agency_names)
    return hits_store.row_batches(run_id, rows, views)


def whole_upload_envelopes(
    upload: Upload, references: Collection[str], *, objects: ObjectStore, keyring: Keyring
) -> Picked:
    """`service.disclosure._envelopes` before: the upload decrypted whole, one Arrow table."""
    table = pa.ipc.open_file(pa.py_buffer(_whole(upload, objects, keyring))).read_all()
    meta = {
        key.decode().removeprefix("fieldlink."): value.decode()
        for key, value in (table.schema.metadata or {}).items()
    }
    wanted = sorted(references)
    positions = pc.index_in(pa.array(wanted, pa.string()), value_set=table.column("ref"))
    present = [(r, p) for r, p in zip(wanted, positions.to_pylist(), strict=True) if p is not None]
    picked = Picked(meta)
    if ENVELOPE_COLUMN not in table.column_names:
        picked.envelopes.update((reference, None) for reference, _ in present)
        return picked
    sealed = table.column(ENVELOPE_COLUMN).take(pa.array([p for _, p in present], pa.int64()))
    picked.envelopes.update(
        (reference, envelope)
        for (reference, _), envelope in zip(present, sealed.to_pylist(), strict=True)
    )
    return picked


def _whole(upload: Upload, objects: ObjectStore, keyring: Keyring) -> bytes:
    return open_object(objects, blob_key(upload), keyring=keyring, name=str(upload.id))


def read_whole_for_checks(upload: Upload, objects: ObjectStore, keyring: Keyring) -> int:
    """What the upload checks read before: the file in memory, its table and its batch."""
    data = _whole(upload, objects, keyring)
    references = pa.ipc.open_file(pa.py_buffer(data)).read_all().column("ref")
    return len(read_batch(data)) + len(references)


def use_whole_reads() -> None:
    """Put the three whole-upload functions back in place of the streamed ones."""
    setattr(jobs, "load_batches", whole_load_batches)  # noqa: B010 - names mypy cannot see
    setattr(jobs, "stored_hits", whole_stored_hits)  # noqa: B010
    setattr(disclosure, "upload_envelopes", whole_upload_envelopes)  # noqa: B010


# ---------------------------------------------------------------------------- measuring


def memory_kb() -> tuple[int, int]:
    """The process's peak and current resident memory (kB), from /proc/self/status."""
    status = Path("/proc/self/status").read_text()
    found = {key: int(value) for key, value in re.findall(r"(VmHWM|VmRSS):\s+(\d+) kB", status)}
    return found["VmHWM"], found["VmRSS"]


@dataclass
class Step:
    seconds: float
    peak_mb: float  # the process's peak resident memory during the step
    rise_mb: float  # that peak above what the process held when the step began


def measured(step: Any) -> tuple[Any, dict[str, float]]:
    Path("/proc/self/clear_refs").write_text("5")  # the peak starts again from here
    _, before = memory_kb()
    started = time.perf_counter()
    result = step()
    seconds = time.perf_counter() - started
    peak, _ = memory_kb()
    figures = Step(round(seconds, 2), round(peak / 1024, 1), round((peak - before) / 1024, 1))
    return result, figures.__dict__


def measure(folder: Path, mode: str, step: str, release_hits: int) -> dict[str, Any]:
    """In a fresh process: warm up on the small project, then one step on the mode's own.

    A step of its own per process, so that no earlier step's freed memory is reused.
    The run step runs; the release and read steps use that run's hits and uploads.
    """
    if mode == "whole":
        use_whole_reads()
    settings = settings_for(folder)
    engine = make_engine(settings)

    def sessions() -> Session:
        return Session(engine, expire_on_commit=False)

    context = jobs.JobContext(
        sessions=sessions,
        objects=LocalObjects(settings.data_dir),
        keyring=load_hub_keys(settings.data_dir).storage,
    )
    steps_on(context, WARM_UP, mode, STEPS, release_hits)  # imports, compiled kernels
    if step == "stages":
        return run_stages(context, mode)
    return steps_on(context, mode, mode, (step,), release_hits)


def run_stages(context: jobs.JobContext, mode: str) -> dict[str, Any]:
    """A run's stages one by one under tracemalloc: each one's peak and what it leaves held.

    Python-traced memory (objects, NumPy arrays, decrypted chunks), not resident memory:
    it says which stage holds what. Hits are rendered into rows and views, not inserted.
    """
    with context.sessions() as session:
        project = session.scalars(select(Project).where(Project.name == mode)).one()
        query = select(Upload).where(Upload.project_id == project.id)
        uploads = list(session.scalars(query))
        names = hits_store.agency_names(session)
    figures: dict[str, Any] = {}
    tracemalloc.start()
    whole = mode == "whole"
    load = whole_load_batches if whole else load_batches
    batches = load(uploads, objects=context.objects, keyring=context.keyring)
    figures[STAGES[0]] = traced()
    hits, _ = match_run(
        batches, threshold=THRESHOLD, min_agencies=2, runner=run_here, progress=no_progress
    )
    figures[STAGES[1]] = traced()
    for _ in (whole_stored_hits if whole else stored_hits)(uuid.uuid4(), hits.groups, names):
        pass
    figures[STAGES[2]] = traced()
    tracemalloc.stop()
    return {"stages": figures}


def traced() -> dict[str, float]:
    """The traced peak since the last call, and what is held now (MB); the peak restarts."""
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    return {"peak_mb": round(peak / 1e6, 1), "held_mb": round(held / 1e6, 1)}


def no_progress(stage: str, done: float) -> None:
    """Progress is not reported here."""


def steps_on(
    context: jobs.JobContext, name: str, mode: str, steps: Sequence[str], release_hits: int
) -> dict[str, Any]:
    """The steps on the named project (release and read after its last run), measured."""
    outcome: dict[str, Any] = {}
    if "run" in steps:
        run_id = queue(context.sessions, name)
        _, outcome["run"] = measured(lambda: execute(context, run_id))
    with context.sessions() as session:
        run = session.get_one(Run, last_run(session, name))
        numbers = list(range(1, min(release_hits, run.hit_count or 0) + 1))
        hits = list(hits_with_members(session, run.id, numbers).values())
        uploads = uploads_of(session, run)
    outcome |= {"status": run.status.value, "hits": run.hit_count}
    if "release" in steps:
        released, outcome["release"] = measured(
            lambda: disclosure.release(
                hits,
                run=run,
                uploads=uploads,
                approved=None,
                objects=context.objects,
                keyring=context.keyring,
            )
        )
        outcome["released"] = len(released)
        outcome["envelopes"] = sum(len(item.envelopes) for item in released)
    if "read" in steps:
        _, outcome["read"] = measured(lambda: read_for_checks(mode, context, uploads))
    return outcome


def read_for_checks(mode: str, context: jobs.JobContext, uploads: dict[str, Upload]) -> object:
    upload = next(iter(uploads.values()))
    if mode == "whole":
        return read_whole_for_checks(upload, context.objects, context.keyring)
    return read_upload(upload, objects=context.objects, keyring=context.keyring)


def last_run(session: Session, name: str) -> uuid.UUID:
    project = session.scalars(select(Project).where(Project.name == name)).one()
    query = select(Run.id).where(Run.project_id == project.id).order_by(Run.created_at.desc())
    return session.scalars(query).first()  # type: ignore[return-value]


def queue(sessions: Any, name: str) -> uuid.UUID:
    with sessions() as session:
        project = session.scalars(select(Project).where(Project.name == name)).one()
        uploads = list(session.scalars(select(Upload).where(Upload.project_id == project.id)))
        run = add_run(
            session,
            project_id=project.id,
            started_by=uploads[0].uploaded_by,
            threshold=THRESHOLD,
            min_agencies=2,
            upload_ids=[upload.id for upload in uploads],
        )
        session.commit()
        return run.id


def execute(context: jobs.JobContext, run_id: uuid.UUID) -> None:
    with context.sessions() as session:
        attempt = runs_store.claim(session, run_id, now=utcnow())
        session.commit()
    if attempt is None:
        raise SystemExit("the run was claimed by another process")
    jobs.execute(context, run_id, attempt)


# ---------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--records", type=int, default=200_000, help="per agency")
    parser.add_argument("--persons", type=int, default=100_000, help="planted in both")
    parser.add_argument("--envelope-bytes", type=int, default=157)
    parser.add_argument("--release", type=int, default=500, help="hits released at once")
    parser.add_argument("--measure", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--step", choices=(*STEPS, "stages"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        outcome = measure(args.folder, args.measure, args.step, args.release)
        sys.stdout.write(json.dumps(outcome) + "\n")
        return 0
    with tempfile.TemporaryDirectory(prefix="fieldlink-memory-") as temporary:
        folder = Path(temporary)
        started = time.perf_counter()
        sizes = seed(folder, args.records, args.persons, args.envelope_bytes)
        print(
            f"seeded 2 uploads of {args.records:,} records ({sizes[0] / 1e6:.1f} and "
            f"{sizes[1] / 1e6:.1f} MB sealed) per mode in {time.perf_counter() - started:.1f} s"
        )
        results = {
            (mode, step): run_step(folder, mode, step, args.release)
            for mode in MODES
            for step in (*STEPS, "stages")
        }
    report(results)
    return 0


def run_step(folder: Path, mode: str, step: str, release_hits: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.hub_memory_bench", "--measure", mode]
    command += ["--step", step, "--folder", str(folder), "--release", str(release_hits)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def report(results: dict[tuple[str, str], dict[str, Any]]) -> None:
    lines = ["| step | " + " | ".join(MODES) + " |", "|---|" + "---|" * len(MODES)]
    for step in STEPS:
        cells = [
            f"peak {r['peak_mb']:,.0f} MB (+{r['rise_mb']:,.0f} MB), {r['seconds']} s"
            for r in (results[mode, step][step] for mode in MODES)
        ]
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    lines += ["", "| run stage (traced) | " + " | ".join(MODES) + " |"]
    lines.append("|---|" + "---|" * len(MODES))
    for stage in STAGES:
        cells = [
            f"peak {r['peak_mb']:,.0f} MB, then {r['held_mb']:,.0f} MB held"
            for r in (results[mode, "stages"]["stages"][stage] for mode in MODES)
        ]
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    for mode in MODES:
        run, released = results[mode, "run"], results[mode, "release"]
        lines.append(
            f"{mode}: run {run['status']}, {run['hits']:,} hits; "
            f"{released['released']} released with {released['envelopes']:,} envelopes"
        )
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
