"""What the retention purge counts and deletes of one project. Flushes at most.

Deletes are bulk statements; hit members and disclosure approvals go with their hits
(ON DELETE CASCADE), suspects with theirs too, but are deleted first to be counted.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, select, update
from sqlalchemy.orm import Session

from service.models import (
    AcceptedContent,
    Hit,
    HitView,
    PurgeReceipt,
    Run,
    RunStatus,
    Suspect,
    Upload,
)


def uploads(session: Session, project_id: uuid.UUID) -> Sequence[Upload]:
    return session.scalars(select(Upload).where(Upload.project_id == project_id)).all()


def row_counts(session: Session, project_id: uuid.UUID) -> dict[str, int]:
    """Hits, rendered hit views, suspects and suspect notes the project holds."""
    runs = _project_runs(project_id)
    suspects = Suspect.project_id == project_id
    return {
        "hits": _count(session, Hit.id, Hit.run_id.in_(runs)),
        "hit_views": _count(session, HitView.number, HitView.run_id.in_(runs)),
        "suspects": _count(session, Suspect.id, suspects),
        "suspect_notes": _count(session, Suspect.id, suspects, Suspect.note != ""),
    }


def delete_data(session: Session, project_id: uuid.UUID, *, now: datetime) -> None:
    """Delete the project's uploads, budget entries, suspects, hits and hit views.

    Runs still queued or running fail: their workers lose the claim and store nothing.
    """
    runs = _project_runs(project_id)
    session.execute(delete(Suspect).where(Suspect.project_id == project_id))
    session.execute(delete(HitView).where(HitView.run_id.in_(runs)))
    session.execute(delete(Hit).where(Hit.run_id.in_(runs)))
    session.execute(delete(Upload).where(Upload.project_id == project_id))
    session.execute(delete(AcceptedContent).where(AcceptedContent.project_id == project_id))
    session.execute(
        update(Run)
        .where(Run.project_id == project_id, Run.status.in_([RunStatus.QUEUED, RunStatus.RUNNING]))
        .values(status=RunStatus.FAILED, error="the project expired", finished_at=now)
        .execution_options(synchronize_session=False)
    )
    session.flush()


def add_receipt(session: Session, project_id: uuid.UUID, *, document: str, now: datetime) -> None:
    session.add(PurgeReceipt(project_id=project_id, purged_at=now, document=document))
    session.flush()


def find_receipt(session: Session, project_id: uuid.UUID) -> PurgeReceipt | None:
    return session.get(PurgeReceipt, project_id)


def _project_runs(project_id: uuid.UUID) -> Select[Any]:
    return select(Run.id).where(Run.project_id == project_id)


def _count(session: Session, column: Any, *where: ColumnElement[bool]) -> int:
    return session.scalar(select(func.count(column)).where(*where)) or 0
