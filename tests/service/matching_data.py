"""Runs and hits test data: uploads with planted matches sealed into the vault, and a
finished run written straight to the tables (for tests about access, not matching)."""

import hashlib
import io
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from linkage.batch import Batch, write_batch
from service.auth import Role
from service.batches import blob_path
from service.config import Settings
from service.hub_keys import load_hub_keys
from service.jobs import JobContext, execute_next
from service.models import Agency, Hit, HitMember, Project, Run, RunStatus, Upload, utcnow
from service.objects import LocalObjects
from service.store.runs import add_run
from service.vault import seal
from tests.service.factories import (
    FINGERPRINT,
    KEY_CHECK,
    make_agency,
    make_principal,
    make_project,
)

FILTER_BITS = 1024
THRESHOLD = 0.8


@dataclass(frozen=True)
class Planted:
    """Batches per agency name, and the persons planted in several of them."""

    batches: dict[str, Batch]
    persons: list[frozenset[tuple[str, str]]]  # each: {(agency name, reference), ...}


def random_filters(rng: np.random.Generator, count: int) -> npt.NDArray[np.uint8]:
    """Packed 1024-bit filters with about 30% of the bits set (as real encodings have)."""
    return np.packbits(rng.random((count, FILTER_BITS)) < 0.3, axis=1)


def near_copy(
    rng: np.random.Generator, filters: npt.NDArray[np.uint8], flips: int = 12
) -> npt.NDArray[np.uint8]:
    """The same person seen by another agency: the filter with a few bits flipped."""
    bits = np.unpackbits(filters.copy())
    positions = rng.choice(bits.size, size=flips, replace=False)
    bits[positions] ^= 1
    return np.packbits(bits)


def plant(
    agencies: Sequence[str], *, records: int = 120, persons: int = 12, seed: int = 0
) -> Planted:
    """Random records per agency, plus persons seen by 2..all agencies (one of them twice
    by the first agency: several records of one agency may share a hit)."""
    rng = np.random.default_rng(seed)
    filters = {name: random_filters(rng, records) for name in agencies}
    references = {name: [f"{name[:3]}-{i:05d}" for i in range(records)] for name in agencies}
    truth = []
    for person in range(persons):
        base = random_filters(rng, 1)[0]
        spread = 2 + person % (len(agencies) - 1)
        chosen = [agencies[(person + step) % len(agencies)] for step in range(spread)]
        slots = [(name, person) for name in chosen]
        if person == 0:
            slots.append((chosen[0], records - 1))
        for name, row in slots:
            filters[name][row] = near_copy(rng, base)
        truth.append(frozenset((name, references[name][row]) for name, row in slots))
    batches = {
        name: Batch.create(
            agency=name,
            schema_fingerprint=FINGERPRINT,
            key_check=KEY_CHECK,
            references=references[name],
            filters=filters[name],
        )
        for name in agencies
    }
    return Planted(batches=batches, persons=truth)


def store_upload(
    session: Session,
    settings: Settings,
    *,
    project: Project,
    agency: Agency,
    uploaded_by: uuid.UUID,
    batch: Batch,
) -> Upload:
    """An upload as the upload route leaves it: a row and its batch file sealed in the vault."""
    sink = io.BytesIO()
    write_batch(batch, sink)
    data = sink.getvalue()
    keyring = load_hub_keys(settings.data_dir, create=True).storage
    upload = Upload(
        project_id=project.id,
        agency_id=agency.id,
        uploaded_by=uploaded_by,
        digest=hashlib.sha256(data).hexdigest(),
        record_count=len(batch),
        filter_bits=batch.filter_bits,
        size_bytes=len(data),
        storage_key_id=keyring.active_id,
    )
    session.add(upload)
    session.flush()
    seal(iter([data]), blob_path(settings.data_dir, upload), keyring=keyring, name=str(upload.id))
    session.commit()
    return upload


def make_finished_run(
    session: Session,
    project: Project,
    started_by: uuid.UUID,
    hits: Sequence[Sequence[tuple[Agency, str]]],
) -> tuple[Run, list[Hit]]:
    """A succeeded run with these hits (members as (agency, reference)), no matching done."""
    records: dict[str, int] = {}
    by_agency: dict[str, int] = {}
    for members in hits:
        for agency, _ in members:
            records[str(agency.id)] = records.get(str(agency.id), 0) + 1
        for agency_id in {str(agency.id) for agency, _ in members}:
            by_agency[agency_id] = by_agency.get(agency_id, 0) + 1
    now = utcnow()
    run = Run(
        project_id=project.id,
        started_by=started_by,
        status=RunStatus.SUCCEEDED,
        upload_ids=[],
        threshold=THRESHOLD,
        min_agencies=project.min_agencies,
        progress=1.0,
        stage="done",
        attempts=1,
        report={"records": records, "threshold": THRESHOLD, "hits_by_agency": by_agency},
        hit_count=len(hits),
        started_at=now,
        finished_at=now,
    )
    session.add(run)
    session.flush()
    rows = []
    for number, members in enumerate(hits, 1):
        hit = Hit(
            run_id=run.id,
            number=number,
            agency_count=len({agency.id for agency, _ in members}),
            best_score=0.9,
            links=[[0, position, 0.9] for position in range(1, len(members))],
        )
        session.add(hit)
        session.flush()
        session.add_all(
            HitMember(
                hit_id=hit.id, position=position, run_id=run.id, agency_id=agency.id, reference=ref
            )
            for position, (agency, ref) in enumerate(members)
        )
        rows.append(hit)
    session.commit()
    return run, rows


@dataclass
class Scene:
    """A project over three agencies with planted matches uploaded, and its team's tokens."""

    project: Project
    agencies: dict[str, Agency]
    tokens: dict[str, str]  # "analyst", "auditor", "outsider", "officer:<agency name>"
    planted: Planted


AGENCIES = ("FIU", "Gemeente Rotterdam", "Politie")


def make_scene(
    session: Session, settings: Settings, *, name: str = "Carousel", seed: int = 0
) -> Scene:
    """Three agencies, their data officers, an analyst and an auditor on the team, an analyst
    who is not, and an upload per agency with planted persons."""
    agencies = {agency: make_agency(session, f"{agency} {name}") for agency in AGENCIES}
    analyst, analyst_token = make_principal(session, agencies["Politie"], name="Analyst")
    auditor, auditor_token = make_principal(session, agencies["FIU"], role=Role.AUDITOR, name="A")
    _, outsider_token = make_principal(session, agencies["Politie"], name="Outsider")
    project = make_project(session, list(agencies.values()), name=name, members=[analyst, auditor])
    tokens = {"analyst": analyst_token, "auditor": auditor_token, "outsider": outsider_token}
    planted = plant([f"{agency} {name}" for agency in AGENCIES], seed=seed)
    for agency_name, agency in agencies.items():
        officer, token = make_principal(session, agency, role=Role.DATA_OFFICER, name="Officer")
        tokens[f"officer:{agency_name}"] = token
        store_upload(
            session,
            settings,
            project=project,
            agency=agency,
            uploaded_by=officer.id,
            batch=planted.batches[agency.name],
        )
    return Scene(project=project, agencies=agencies, tokens=tokens, planted=planted)


def queue_run(session: Session, project: Project) -> Run:
    """A run queued over the project's uploads, as POST .../runs queues it (not executed)."""
    uploads = session.execute(
        select(Upload.id, Upload.uploaded_by).where(Upload.project_id == project.id)
    ).all()
    run = add_run(
        session,
        project_id=project.id,
        started_by=uploads[0].uploaded_by,
        threshold=THRESHOLD,
        min_agencies=project.min_agencies,
        upload_ids=[row.id for row in uploads],
    )
    session.commit()
    return run


def job_context(session_factory: Callable[[], Session], settings: Settings) -> JobContext:
    """What the run workers would use, on the test's sessions."""
    keyring = load_hub_keys(settings.data_dir, create=True).storage
    return JobContext(
        sessions=session_factory, objects=LocalObjects(settings.data_dir), keyring=keyring
    )


def execute_queued(session_factory: Callable[[], Session], settings: Settings) -> int:
    """Execute every queued run here and now, as a run worker would; how many ran."""
    context = job_context(session_factory, settings)
    count = 0
    while execute_next(context):
        count += 1
    return count
