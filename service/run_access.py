"""Who may reach runs, hits and the suspect list: project dependencies per policy.

Each dependency checks the caller's role first (403, before any lookup), then access to
the project (404, the same answer as for a missing project):

- starting runs and the suspect list: analysts on the project's team;
- reading the suspect list: those analysts and the auditors on the team;
- reading runs: any data role (analysts and auditors on the team, data officers of a
  participating agency); administrators hold no data rights;
- reading hits: analysts on the team (every hit, in full) and data officers of a
  participating agency (their own agency's hits and references only).
"""

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends

from service import store
from service.auth import Principal, Role
from service.deps import SessionDep, get_accessible_project, refuse_expired, require_role
from service.errors import NotFound
from service.models import Project

Guard = Callable[[Principal], Awaitable[Principal]]


def project_for(guard: Guard) -> Callable[..., Project]:
    """A dependency: the path's project, for callers the guard admits who may access it."""

    def dependency(
        project_id: uuid.UUID,
        session: SessionDep,
        principal: Annotated[Principal, Depends(guard)],
    ) -> Project:
        return get_accessible_project(project_id, session, principal)

    return dependency


def project_id_for(guard: Guard) -> Callable[..., uuid.UUID]:
    """Like `project_for`, but checks access without loading the project: its id only."""

    def dependency(
        project_id: uuid.UUID,
        session: SessionDep,
        principal: Annotated[Principal, Depends(guard)],
    ) -> uuid.UUID:
        expires_at = store.accessible_project_expiry(session, project_id, principal)
        if expires_at is None:
            raise NotFound("project")  # the same answer for "absent" and "not yours"
        if principal.role is not Role.AUDITOR:
            refuse_expired(expires_at)  # the rule of get_accessible_project
        return project_id

    return dependency


def own_agency(principal: Principal) -> uuid.UUID | None:
    """The agency a caller's view is limited to: data officers see their own agency's data."""
    return principal.agency_id if principal.role is Role.DATA_OFFICER else None


# The roles of each policy, named once: the API's dependencies below and the web pages'
# (service.web.access) admit exactly these.
ANALYSTS = (Role.ANALYST,)
SUSPECT_READERS = (Role.ANALYST, Role.AUDITOR)
RUN_READERS = (Role.ANALYST, Role.AUDITOR, Role.DATA_OFFICER)
HIT_READERS = (Role.ANALYST, Role.DATA_OFFICER)

AnalystProjectDep = Annotated[Project, Depends(project_for(require_role(*ANALYSTS)))]
SuspectReaderProjectDep = Annotated[Project, Depends(project_for(require_role(*SUSPECT_READERS)))]
RunReaderProjectDep = Annotated[Project, Depends(project_for(require_role(*RUN_READERS)))]
# Hits are read on every click: their routes need the project's id only.
HitReaderProjectIdDep = Annotated[uuid.UUID, Depends(project_id_for(require_role(*HIT_READERS)))]
