"""Project teams under dual control: proposed by an administrator, confirmed by a second person.

A membership grants data rights only once confirmed (`store._access_rule`). Who may
confirm: a data officer of one of the project's agencies; where those agencies have no
active data officer, another administrator than the one who proposed. Nobody confirms
their own membership or proposal, and nobody the proposer registered or gave an
enrolment code: the proposer could have redeemed that code itself (service.activation).
Flushes at most; the calling route commits.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service import auth
from service.auth import Role
from service.models import EnrolmentCode, Principal, Project, ProjectMember


@dataclass(frozen=True, slots=True)
class MemberRow:
    """A principal on a project's team, with its membership's state."""

    principal: Principal
    membership: ProjectMember


def find(session: Session, project_id: uuid.UUID, principal_id: uuid.UUID) -> ProjectMember | None:
    return session.get(ProjectMember, (project_id, principal_id))


def propose(
    session: Session,
    *,
    project_id: uuid.UUID,
    principal_id: uuid.UUID,
    added_by: uuid.UUID,
    now: datetime,
) -> ProjectMember:
    """Add a pending membership; it grants nothing until confirmed."""
    member = ProjectMember(
        project_id=project_id, principal_id=principal_id, added_by=added_by, added_at=now
    )
    session.add(member)
    session.flush()
    return member


def confirm(session: Session, member: ProjectMember, *, by: uuid.UUID, now: datetime) -> None:
    member.confirmed_by, member.confirmed_at = by, now
    session.flush()


def remove(session: Session, *, project_id: uuid.UUID, principal_id: uuid.UUID) -> bool:
    """Take a principal off the team (pending or confirmed); False when it was not on it."""
    result = session.execute(
        delete(ProjectMember).where(
            ProjectMember.project_id == project_id, ProjectMember.principal_id == principal_id
        )
    )
    session.flush()
    return bool(getattr(result, "rowcount", 0))


def list_members(session: Session, project_id: uuid.UUID) -> list[MemberRow]:
    """The team, pending members included, by name."""
    query = (
        select(Principal, ProjectMember)
        .join(ProjectMember, ProjectMember.principal_id == Principal.id)
        .where(ProjectMember.project_id == project_id)
        .order_by(Principal.name, Principal.id)
    )
    return [MemberRow(principal, membership) for principal, membership in session.execute(query)]


def may_confirm(
    session: Session, project: Project, member: ProjectMember, caller: auth.Principal
) -> bool:
    """Whether the caller is the second person this membership needs."""
    if caller.principal_id in (member.principal_id, member.added_by):
        return False
    if member.added_by is not None and _enrolled_by(session, caller.principal_id, member.added_by):
        return False
    if caller.role is Role.DATA_OFFICER:
        return caller.agency_id in project.agency_ids
    if caller.role is Role.ADMINISTRATOR:
        return not _officers_of(session, project.agency_ids)
    return False


def _officers_of(session: Session, agency_ids: Sequence[uuid.UUID]) -> bool:
    query = select(Principal.id).where(
        Principal.role == Role.DATA_OFFICER,
        Principal.agency_id.in_(agency_ids),
        Principal.disabled_at.is_(None),
        Principal.activated_at.is_not(None),
    )
    return session.scalars(query.limit(1)).first() is not None


def _enrolled_by(session: Session, principal_id: uuid.UUID, admin_id: uuid.UUID) -> bool:
    # Registering a principal creates its first code, so this covers "registered by" too.
    query = select(EnrolmentCode.id).where(
        EnrolmentCode.principal_id == principal_id, EnrolmentCode.created_by == admin_id
    )
    return session.scalars(query.limit(1)).first() is not None
