"""Request dependencies: session, caller, role checks and project access, as *Dep aliases."""

import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from service import store
from service.auth import Principal, Role, hash_token
from service.config import Settings
from service.errors import (
    AccessDenied,
    NotFound,
    PrincipalNotActivated,
    ProjectExpired,
    RateLimited,
    Unauthenticated,
)
from service.limits import Limits, retry_after
from service.models import Project, utcnow


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """One session per request. Routes commit explicitly; close() rolls back the rest."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]

_bearer = HTTPBearer(auto_error=False)  # we raise our own 401 problem


def get_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller behind a live bearer token; every failure is the same 401.

    A principal pending activation (service.activation) is known, and audited as the
    caller, but refused with its own 403 on every route.
    """
    if credentials is None:
        raise Unauthenticated()
    # Looked up by digest: a timing difference could reveal at most a digest prefix, and
    # finding a token with a chosen digest prefix is preimage work on SHA-256.
    found = store.find_principal_by_token_hash(
        session, hash_token(credentials.credentials), now=utcnow()
    )
    if found is None:
        raise Unauthenticated()
    owner, token_id = found
    principal = Principal(
        principal_id=owner.id, agency_id=owner.agency_id, role=owner.role, token_id=token_id
    )
    request.state.principal = principal  # for the audit entry (service.audit), denied or not
    charge_principal(request, principal)
    if owner.pending_activation:
        raise PrincipalNotActivated(
            "a second person activates this principal after its enrolment "
            "(fieldlink activate); until then its tokens do nothing"
        )
    return principal


def charge_principal(request: Request, principal: Principal) -> None:
    """Count the request against the principal's rate (service.limits); 429 past it."""
    limits: Limits | None = getattr(request.app.state, "limits", None)
    wait_s = limits.principals.take(principal.principal_id) if limits else 0.0
    if wait_s > 0:
        raise RateLimited(
            "too many requests from this principal", retry_after_s=retry_after(wait_s)
        )


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_role(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that admits callers holding one of these roles (403 for the others)."""

    async def check(principal: PrincipalDep) -> Principal:  # async: no thread for a comparison
        if principal.role not in roles:
            raise AccessDenied()
        return principal

    return check


AdminDep = Annotated[Principal, Depends(require_role(Role.ADMINISTRATOR))]
DataOfficerDep = Annotated[Principal, Depends(require_role(Role.DATA_OFFICER))]
AnalystDep = Annotated[Principal, Depends(require_role(Role.ANALYST))]
AuditorDep = Annotated[Principal, Depends(require_role(Role.AUDITOR))]
KeyCustodianDep = Annotated[Principal, Depends(require_role(Role.KEY_CUSTODIAN))]
# The agency and principal directories: administrators keep them, auditors read them to
# tell who is who in the audit log (whose entries name principals and agencies by id).
DirectoryReaderDep = Annotated[Principal, Depends(require_role(Role.ADMINISTRATOR, Role.AUDITOR))]


NO_DATA_RIGHTS = frozenset({Role.ADMINISTRATOR, Role.KEY_CUSTODIAN})


def forbid_administrators(principal: PrincipalDep) -> Principal:
    """Admit every data role; administrators and key custodians hold no data rights (403)."""
    if principal.role in NO_DATA_RIGHTS:
        raise AccessDenied()
    return principal


DataRoleDep = Annotated[Principal, Depends(forbid_administrators)]


def get_accessible_project(
    project_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> Project:
    """A project the caller has data rights in: a member, or its agency's data officer."""
    project = store.find_accessible_project(session, project_id, principal)
    if project is None:
        raise NotFound("project")  # the same answer for "absent" and "not yours"
    if principal.role is not Role.AUDITOR:
        refuse_expired(project.expires_at)  # after expiry: read-only, for auditors only
    return project


def refuse_expired(expires_at: datetime) -> None:
    """ProjectExpired once the project's expiry has passed."""
    if expires_at <= utcnow():
        raise ProjectExpired("the project expired; its data is no longer served or changed")


def get_visible_project(
    project_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> Project:
    """Project metadata: what an administrator manages, or what the caller has access to."""
    if principal.role is not Role.ADMINISTRATOR:
        return get_accessible_project(project_id, session, principal)
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound("project")
    return project


def get_administered_project(
    project_id: uuid.UUID, session: SessionDep, admin: AdminDep
) -> Project:
    """A project an administrator changes; 403 for other roles, 410 once it has expired."""
    project = get_visible_project(project_id, session, admin)
    refuse_expired(project.expires_at)
    return project


ProjectAccessDep = Annotated[Project, Depends(get_accessible_project)]
VisibleProjectDep = Annotated[Project, Depends(get_visible_project)]
AdminProjectDep = Annotated[Project, Depends(get_administered_project)]
