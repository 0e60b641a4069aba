"""What the retention purge counts and deletes of one project. Flushes at most.

Deletes are bulk statements; hit members and disclosure approvals go with their hits
(ON DELETE CASCADE), suspects with theirs too, but are deleted first to be counted. The
project's key material goes too: the secret wrapped for each agency (every epoch) and the
team's public key, which envelopes were sealed to.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, func, select, update
from sqlalchemy.orm import Session

from service.models import (
    AcceptedContent,
    AgencyKey,
    DisclosureApproval,
    Hit,
    HitView,
    KeyKind,
    Project,
    PurgeReceipt,
    Run,
    RunStatus,
    Suspect,
    Upload,
    WrappedKey,
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
        "disclosure_approvals": _count(
            session, DisclosureApproval.hit_id, DisclosureApproval.run_id.in_(runs)
        ),
        "suspects": _count(session, Suspect.id, suspects),
        "suspect_notes": _count(session, Suspect.id, suspects, Suspect.note != ""),
        "wrapped_keys": _count(session, WrappedKey.agency_id, WrappedKey.project_id == project_id),
        "team_keys": _count(session, AgencyKey.id, _team_keys(project_id)),
    }


def delete_data(session: Session, project_id: uuid.UUID, *, now: datetime) -> None:
    """Delete the project's uploads, budget entries, suspects, hits, hit views and keys.

    Runs still queued or running fail: their workers lose the claim and store nothing.
    """
    runs = _project_runs(project_id)
    session.execute(delete(Suspect).where(Suspect.project_id == project_id))
    session.execute(delete(HitView).where(HitView.run_id.in_(runs)))
    session.execute(delete(Hit).where(Hit.run_id.in_(runs)))
    session.execute(delete(Upload).where(Upload.project_id == project_id))
    session.execute(delete(AcceptedContent).where(AcceptedContent.project_id == project_id))
    session.execute(delete(WrappedKey).where(WrappedKey.project_id == project_id))
    session.execute(delete(AgencyKey).where(_team_keys(project_id)))
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


def due_for_purge(session: Session, *, expired_before: datetime) -> list[uuid.UUID]:
    """Projects that expired before this moment and are not purged yet, oldest first."""
    query = (
        select(Project.id)
        .where(
            Project.expires_at <= expired_before,
            Project.purged_at.is_(None),
            Project.id.not_in(select(PurgeReceipt.project_id)),
        )
        .order_by(Project.expires_at, Project.id)
    )
    return list(session.scalars(query))


def _team_keys(project_id: uuid.UUID) -> ColumnElement[bool]:
    return and_(AgencyKey.kind == KeyKind.TEAM, AgencyKey.project_id == project_id)


def _project_runs(project_id: uuid.UUID) -> Select[Any]:
    return select(Run.id).where(Run.project_id == project_id)


def _count(session: Session, column: Any, *where: ColumnElement[bool]) -> int:
    return session.scalar(select(func.count(column)).where(*where)) or 0
