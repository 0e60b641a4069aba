"""Public keys, key epochs and wrapped keys. Flushes at most; the calling route commits."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from service.models import AgencyKey, KeyKind, Project, ProjectKeyEpoch, WrappedKey


def _owned_by(
    agency_id: uuid.UUID | None, kind: KeyKind, project_id: uuid.UUID | None
) -> ColumnElement[bool]:
    # An agency has one live agency key; a project has one live team key, whoever set it.
    if kind is KeyKind.TEAM:
        return and_(AgencyKey.kind == KeyKind.TEAM, AgencyKey.project_id == project_id)
    return and_(AgencyKey.kind == KeyKind.AGENCY, AgencyKey.agency_id == agency_id)


def active_key(
    session: Session,
    *,
    agency_id: uuid.UUID | None,
    kind: KeyKind,
    project_id: uuid.UUID | None = None,
) -> AgencyKey | None:
    """The owner's live (unrevoked) key of this kind, if one is registered."""
    query = select(AgencyKey).where(
        _owned_by(agency_id, kind, project_id), AgencyKey.revoked_at.is_(None)
    )
    return session.scalars(query.order_by(AgencyKey.created_at.desc())).first()


def register_key(session: Session, key: AgencyKey, *, now: datetime) -> AgencyKey:
    """Add a key and revoke the owner's earlier live key of the same kind."""
    session.execute(
        update(AgencyKey)
        .where(_owned_by(key.agency_id, key.kind, key.project_id), AgencyKey.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    session.add(key)
    session.flush()
    return key


def project_keys(session: Session, project: Project) -> Sequence[AgencyKey]:
    """The live agency keys of the project's agencies, and the project's live team key."""
    query = select(AgencyKey).where(
        AgencyKey.revoked_at.is_(None),
        or_(
            and_(AgencyKey.kind == KeyKind.AGENCY, AgencyKey.agency_id.in_(project.agency_ids)),
            and_(AgencyKey.kind == KeyKind.TEAM, AgencyKey.project_id == project.id),
        ),
    )
    return session.scalars(query.order_by(AgencyKey.kind, AgencyKey.owner)).all()


def key_epochs(session: Session, project_id: uuid.UUID) -> dict[int, str]:
    """The project's key check value per epoch."""
    query = select(ProjectKeyEpoch.epoch, ProjectKeyEpoch.key_check).where(
        ProjectKeyEpoch.project_id == project_id
    )
    return {row.epoch: row.key_check for row in session.execute(query)}


def add_epoch(session: Session, project: Project, *, epoch: int, key_check: str) -> None:
    """Make `key_check` the project's current key check value, as epoch `epoch`."""
    session.add(ProjectKeyEpoch(project_id=project.id, epoch=epoch, key_check=key_check))
    project.key_epoch, project.key_check = epoch, key_check
    session.flush()


def put_wrapped(session: Session, wrapped: WrappedKey) -> WrappedKey:
    """Store a wrapped key, replacing the agency's earlier one for the same epoch.

    The route decides whether a replacement is allowed (service.routes.wrapped_keys).
    """
    stored = session.get(WrappedKey, (wrapped.project_id, wrapped.agency_id, wrapped.epoch))
    if stored is not None:
        session.delete(stored)
        session.flush()
    session.add(wrapped)
    session.flush()
    return wrapped


def find_agency_key(session: Session, agency_id: uuid.UUID, key_id: str) -> AgencyKey | None:
    """The agency's live agency key with this id."""
    query = select(AgencyKey).where(
        _owned_by(agency_id, KeyKind.AGENCY, None),
        AgencyKey.key_id == key_id,
        AgencyKey.revoked_at.is_(None),
    )
    return session.scalars(query).first()


def find_wrapped(
    session: Session, *, project_id: uuid.UUID, agency_id: uuid.UUID, epoch: int | None
) -> WrappedKey | None:
    """The agency's wrapped key of this epoch, or of its latest epoch when none is named."""
    query = select(WrappedKey).where(
        WrappedKey.project_id == project_id, WrappedKey.agency_id == agency_id
    )
    if epoch is not None:
        query = query.where(WrappedKey.epoch == epoch)
    return session.scalars(query.order_by(WrappedKey.epoch.desc())).first()
