"""Database reads and writes for the hub. Flushes at most; the calling route commits.

Core resources (agencies, principals, projects) live here; the others have a module each:
`store.uploads`, `store.runs`, `store.audit`, `store.members` (dual-control membership),
`store.enrolment` (enrolment codes, disabling principals).
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from service import auth
from service.auth import Role
from service.models import (
    Agency,
    ApiToken,
    Principal,
    Project,
    ProjectAgency,
    ProjectKeyEpoch,
    ProjectMember,
)


def add_agency(session: Session, *, name: str) -> Agency:
    agency = Agency(name=name)
    session.add(agency)
    session.flush()
    return agency


def find_agency_by_name(session: Session, name: str) -> Agency | None:
    return session.scalars(select(Agency).where(Agency.name == name)).one_or_none()


def list_agencies(session: Session) -> Sequence[Agency]:
    return session.scalars(select(Agency).order_by(Agency.name)).all()


def add_principal(
    session: Session, *, agency_id: uuid.UUID, name: str, role: Role, active: bool = True
) -> Principal:
    """Add a principal: active (set-up and tests), or pending activation (the API's).

    The API registers principals pending: a second person activates each one after it
    enrolled (service.activation).
    """
    principal = Principal(
        agency_id=agency_id,
        name=name,
        role=role,
        activated_at=datetime.now(UTC) if active else None,
    )
    session.add(principal)
    session.flush()
    return principal


def list_principals(session: Session) -> Sequence[Principal]:
    return session.scalars(select(Principal).order_by(Principal.name, Principal.id)).all()


def add_token(
    session: Session,
    *,
    principal_id: uuid.UUID,
    token_hash: str,
    now: datetime,
    lifetime: timedelta = auth.TOKEN_LIFETIME,
) -> ApiToken:
    token = ApiToken(
        principal_id=principal_id, token_hash=token_hash, created_at=now, expires_at=now + lifetime
    )
    session.add(token)
    session.flush()
    return token


def find_token(
    session: Session, *, principal_id: uuid.UUID, token_id: uuid.UUID
) -> ApiToken | None:
    token = session.get(ApiToken, token_id)
    return token if token is not None and token.principal_id == principal_id else None


def find_principal_by_token_hash(
    session: Session, token_hash: str, *, now: datetime
) -> tuple[Principal, uuid.UUID] | None:
    """The enabled principal owning a live (unrevoked, unexpired) token, and the token's id.

    The principal may still be pending activation (`Principal.pending_activation`): the
    caller refuses it with its own answer (service.deps).
    """
    query = (
        select(Principal, ApiToken.id)
        .join(ApiToken, ApiToken.principal_id == Principal.id)
        .where(
            ApiToken.token_hash == token_hash,
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now,
            Principal.disabled_at.is_(None),
        )
    )
    row = session.execute(query).one_or_none()
    return None if row is None else (row[0], row[1])


def add_project(
    session: Session,
    *,
    name: str,
    purpose: str,
    legal_basis: str,
    agencies: Sequence[Agency],
    schema_fingerprint: str,
    key_check: str,
    threshold: float | None,
    min_agencies: int,
    expires_at: datetime,
    disclosure_approval: bool = False,
    upload_budget_records: int | None = None,
    max_near_duplicate_share: float = 0.15,
    min_fill_share: float = 0.05,
    require_salted_encodings: bool = True,
) -> Project:
    project = Project(
        name=name,
        purpose=purpose,
        legal_basis=legal_basis,
        schema_fingerprint=schema_fingerprint,
        key_check=key_check,
        threshold=threshold,
        min_agencies=min_agencies,
        expires_at=expires_at,
        key_epoch=1,
        disclosure_approval=disclosure_approval,
        upload_budget_records=upload_budget_records,
        max_near_duplicate_share=max_near_duplicate_share,
        min_fill_share=min_fill_share,
        require_salted_encodings=require_salted_encodings,
    )
    project.agencies = list(agencies)
    session.add(project)
    session.flush()
    session.add(ProjectKeyEpoch(project_id=project.id, epoch=1, key_check=key_check))
    session.flush()
    return project


def find_project_by_name(session: Session, name: str) -> Project | None:
    return session.scalars(select(Project).where(Project.name == name)).one_or_none()


def find_agencies(session: Session, agency_ids: Sequence[uuid.UUID]) -> Sequence[Agency]:
    return session.scalars(select(Agency).where(Agency.id.in_(agency_ids))).all()


def find_accessible_project(
    session: Session, project_id: uuid.UUID, caller: auth.Principal
) -> Project | None:
    """The project, if the caller has data rights in it: member, or its agency's data officer."""
    query = select(Project).where(Project.id == project_id, _access_rule(caller))
    return session.scalars(query).one_or_none()


def accessible_project_expiry(
    session: Session, project_id: uuid.UUID, caller: auth.Principal
) -> datetime | None:
    """The project's expiry if the caller has data rights in it (None: no access).

    The rule of `find_accessible_project`, for hot read paths that need only the id.
    """
    query = select(Project.expires_at).where(Project.id == project_id, _access_rule(caller))
    return session.scalars(query).first()


def list_visible_projects(session: Session, caller: auth.Principal) -> Sequence[Project]:
    """Every project for an administrator (metadata only); otherwise the accessible ones."""
    query = select(Project).order_by(Project.created_at, Project.id)
    if caller.role is not Role.ADMINISTRATOR:
        query = query.where(_access_rule(caller))
    return session.scalars(query).all()


def _access_rule(caller: auth.Principal) -> ColumnElement[bool]:
    # A membership counts once a second person confirmed it (store.members).
    member = select(ProjectMember.project_id).where(
        ProjectMember.principal_id == caller.principal_id,
        ProjectMember.confirmed_at.is_not(None),
    )
    if caller.role not in (Role.DATA_OFFICER, Role.KEY_CUSTODIAN):
        return Project.id.in_(member)
    participating = select(ProjectAgency.project_id).where(
        ProjectAgency.agency_id == caller.agency_id
    )
    return or_(Project.id.in_(member), Project.id.in_(participating))


def add_member(
    session: Session,
    *,
    project_id: uuid.UUID,
    principal_id: uuid.UUID,
    added_by: uuid.UUID | None = None,
    confirmed_by: uuid.UUID | None = None,
    now: datetime | None = None,
) -> ProjectMember:
    """Add a membership that is confirmed already (set-up and tests).

    The API proposes members and has a second person confirm them: `store.members`.
    """
    moment = now or datetime.now(UTC)
    member = ProjectMember(
        project_id=project_id,
        principal_id=principal_id,
        added_by=added_by,
        added_at=moment,
        confirmed_by=confirmed_by,
        confirmed_at=moment,
    )
    session.add(member)
    session.flush()
    return member
