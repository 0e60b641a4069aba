"""Matching runs: start, claim, progress, finish, fail and recovery. Flushes, never commits.

A run moves queued -> running -> succeeded | failed. Every transition after `queued` is a
conditional UPDATE on (id, status, attempts), so that two hub processes never execute one
run twice and a process that lost its run (requeued after a stale heartbeat) cannot
overwrite what the new owner does.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, func, or_, select, update
from sqlalchemy.orm import Session

from service.models import Agency, Run, RunStatus, Upload

MAX_ATTEMPTS = 3  # executions begun; a run interrupted this often is failed, not retried
REQUEUED_STAGE = "requeued after restart"


def add_run(
    session: Session,
    *,
    project_id: uuid.UUID,
    started_by: uuid.UUID,
    threshold: float | None,
    min_agencies: int,
    upload_ids: Sequence[uuid.UUID],
    upload_digests: dict[str, str] | None = None,
    run_id: uuid.UUID | None = None,
    trigger_upload_id: uuid.UUID | None = None,
) -> Run:
    """Queue a run over exactly these uploads (stored sorted: the run's fixed input order).

    `trigger_upload_id` names the upload that queued it under the standing watch.
    """
    run = Run(
        id=run_id or uuid.uuid4(),
        trigger_upload_id=trigger_upload_id,
        upload_digests=upload_digests,
        project_id=project_id,
        started_by=started_by,
        status=RunStatus.QUEUED,
        upload_ids=sorted(str(upload_id) for upload_id in upload_ids),
        threshold=threshold,
        min_agencies=min_agencies,
        progress=0.0,
        stage="queued",
        attempts=0,
    )
    session.add(run)
    session.flush()
    return run


def project_uploads(
    session: Session, project_id: uuid.UUID
) -> Sequence[tuple[uuid.UUID, uuid.UUID]]:
    """(upload id, agency id) of every upload the project holds now."""
    query = select(Upload.id, Upload.agency_id).where(Upload.project_id == project_id)
    return [(row.id, row.agency_id) for row in session.execute(query)]


@dataclass(frozen=True, slots=True)
class UploadLabel:
    """What starting a run checks about one upload: whose, which epoch, which content."""

    upload_id: uuid.UUID
    agency_id: uuid.UUID
    agency: str
    key_check: str | None  # None: stored before epochs were recorded (the first epoch)
    digest: str


def upload_labels(session: Session, project_id: uuid.UUID) -> list[UploadLabel]:
    """The labels of every upload the project holds now, by agency name."""
    query = (
        select(Upload.id, Upload.agency_id, Agency.name, Upload.key_check, Upload.digest)
        .join(Agency, Agency.id == Upload.agency_id)
        .where(Upload.project_id == project_id)
        .order_by(Agency.name, Upload.id)
    )
    return [UploadLabel(*row) for row in session.execute(query)]


def uploads_of(session: Session, run: Run) -> dict[str, Upload]:
    """The run's uploads that still exist, by id string (uploads deleted since are absent)."""
    ids = [uuid.UUID(upload_id) for upload_id in run.upload_ids]
    return {
        str(upload.id): upload
        for upload in session.scalars(select(Upload).where(Upload.id.in_(ids)))
    }


def find_run(session: Session, project_id: uuid.UUID, run_id: uuid.UUID) -> Run | None:
    """The run, if it belongs to this project."""
    run = session.get(Run, run_id)
    return run if run is not None and run.project_id == project_id else None


def list_runs(session: Session, project_id: uuid.UUID) -> Sequence[Run]:
    """The project's runs, newest first."""
    query = select(Run).where(Run.project_id == project_id).order_by(Run.created_at.desc(), Run.id)
    return session.scalars(query).all()


def previous_succeeded(session: Session, run: Run) -> Run | None:
    """The project's newest succeeded run made before `run`, if any."""
    query = (
        select(Run)
        .where(
            Run.project_id == run.project_id,
            Run.status == RunStatus.SUCCEEDED,
            Run.created_at < run.created_at,
            Run.id != run.id,
        )
        .order_by(Run.created_at.desc(), Run.id)
        .limit(1)
    )
    return session.scalars(query).first()


def count_active_runs(session: Session, project_id: uuid.UUID) -> int:
    """How many of the project's runs are queued or running."""
    query = select(func.count(Run.id)).where(
        Run.project_id == project_id, Run.status.in_((RunStatus.QUEUED, RunStatus.RUNNING))
    )
    return int(session.scalar(query) or 0)


def next_queued(session: Session) -> uuid.UUID | None:
    """The oldest queued run of the hub, if any."""
    query = (
        select(Run.id)
        .where(Run.status == RunStatus.QUEUED)
        .order_by(Run.created_at, Run.id)
        .limit(1)
    )
    return session.scalars(query).first()


def claim(session: Session, run_id: uuid.UUID, *, now: datetime) -> int | None:
    """Take a queued run for execution; the attempt number, or None if another took it."""
    changed = _update(
        session,
        and_(Run.id == run_id, Run.status == RunStatus.QUEUED),
        status=RunStatus.RUNNING,
        attempts=Run.attempts + 1,
        stage="starting",
        progress=0.0,
        error=None,
        started_at=now,
        heartbeat_at=now,
    )
    if not changed:
        return None
    attempts: int = session.scalars(select(Run.attempts).where(Run.id == run_id)).one()
    return attempts


def record_progress(
    session: Session, run_id: uuid.UUID, attempt: int, *, stage: str, progress: float, now: datetime
) -> bool:
    """Store stage and progress of a run this attempt still owns (renews its heartbeat)."""
    return _update(
        session,
        _owned(run_id, attempt),
        stage=stage[:80],
        progress=min(max(progress, 0.0), 1.0),
        heartbeat_at=now,
    )


def beat(session: Session, run_id: uuid.UUID, attempt: int, *, now: datetime) -> bool:
    """Renew the heartbeat of a run this attempt still owns."""
    return _update(session, _owned(run_id, attempt), heartbeat_at=now)


def finish(
    session: Session,
    run_id: uuid.UUID,
    attempt: int,
    *,
    report: dict[str, Any],
    hit_count: int,
    now: datetime,
    changes: dict[str, Any] | None = None,
) -> bool:
    """Mark an owned run succeeded, with its report (counts only), hit count and changes."""
    return _update(
        session,
        _owned(run_id, attempt),
        status=RunStatus.SUCCEEDED,
        stage="done",
        progress=1.0,
        report=report,
        hit_count=hit_count,
        changes=changes,
        finished_at=now,
        heartbeat_at=now,
    )


def fail(session: Session, run_id: uuid.UUID, attempt: int, *, error: str, now: datetime) -> bool:
    """Mark an owned run failed; `error` names the kind of failure, never data."""
    return _update(
        session,
        _owned(run_id, attempt),
        status=RunStatus.FAILED,
        stage="failed",
        error=error,
        finished_at=now,
    )


def recover_stale(session: Session, *, stale_before: datetime, now: datetime) -> tuple[int, int]:
    """Requeue runs left `running` by a dead process, or fail those out of attempts.

    Returns:
        How many runs were requeued and how many were failed.
    """
    stale = and_(
        Run.status == RunStatus.RUNNING,
        or_(Run.heartbeat_at.is_(None), Run.heartbeat_at < stale_before),
    )
    if session.scalars(select(Run.id).where(stale).limit(1)).first() is None:
        return 0, 0  # the common case, answered without taking a write lock
    failed = _count(
        session,
        and_(stale, Run.attempts >= MAX_ATTEMPTS),
        status=RunStatus.FAILED,
        stage="failed",
        error=f"Interrupted: the hub stopped during each of {MAX_ATTEMPTS} attempts",
        finished_at=now,
    )
    requeued = _count(
        session,
        and_(stale, Run.attempts < MAX_ATTEMPTS),
        status=RunStatus.QUEUED,
        stage=REQUEUED_STAGE,
        progress=0.0,
    )
    return requeued, failed


def _owned(run_id: uuid.UUID, attempt: int) -> ColumnElement[bool]:
    return and_(Run.id == run_id, Run.status == RunStatus.RUNNING, Run.attempts == attempt)


def _update(session: Session, where: ColumnElement[bool], **values: Any) -> bool:
    return _count(session, where, **values) == 1


def _count(session: Session, where: ColumnElement[bool], **values: Any) -> int:
    statement = (
        update(Run).where(where).values(**values).execution_options(synchronize_session=False)
    )
    result = cast(CursorResult[Any], session.execute(statement))
    session.expire_all()  # ORM copies of runs in this session are now out of date
    return result.rowcount
