"""An administrator's pages: agencies, principals and their tokens, projects and their teams.

Every page admits administrators only (403 for the other roles), as the API's directory
and project routes do; projects are read as GET /v1/projects/{id} shows them to an
administrator (metadata, every project: `access.visible_project`). What a form changes goes
through the API's own route functions (`routes.agencies`, `routes.principals`,
`routes.members`), so their rules hold here too: an administrator cannot disable itself, a
proposed team member grants nothing until a second person confirms it, a revoked token's
browser sessions end at their next request (service.web.sessions).

Administrators never hold another principal's token, and issuing enrolment codes and the
second person's activation (service.activation) are the command line's: the pages say
which command to run.
"""

import uuid
from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Form, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service import store
from service.auth import Role
from service.deps import SessionDep, get_administered_project
from service.errors import InvalidInput, NotFound
from service.models import ApiToken, Principal, Project, ProjectMember, utcnow
from service.names import MAX_NAME_CHARS
from service.routes.agencies import create_agency
from service.routes.members import add_member, list_members, remove_member
from service.routes.principals import disable_principal, revoke_token
from service.schemas import AgencyCreate, MemberCreate
from service.store.uploads import agency_name
from service.web.access import page_role, visible_project
from service.web.areas import Area, page_router
from service.web.rendering import render
from service.web.sessions import Browser

router = page_router("admin")
AREA = Area(
    "admin",
    router,
    nav={
        Role.ADMINISTRATOR: (
            ("admin.nav.people", "/app/admin"),
            ("admin.nav.projects", "/app/admin/projects"),
        )
    },
    project_pages={Role.ADMINISTRATOR: "/app/admin/projects/{project_id}"},
)
AdminDep = Annotated[Browser, Depends(page_role(Role.ADMINISTRATOR))]
ModelT = TypeVar("ModelT", bound=BaseModel)
_NO_DATA_RIGHTS = (Role.ADMINISTRATOR, Role.KEY_CUSTODIAN)


def _page(request: Request, browser: Browser, template: str, **context: Any) -> Response:
    return render(request, f"admin/{template}", context, browser=browser)


def _valid(model: type[ModelT], **values: Any) -> ModelT:
    """The API's request model for a form's values; 422 naming the field that is wrong."""
    try:
        return model(**values)
    except ValidationError as err:
        first = err.errors()[0]
        name = ".".join(str(part) for part in first["loc"])
        raise InvalidInput(f"{name}: {first['msg']}") from None


# Agencies and principals -----------------------------------------------------------------


@router.get("")
def people_page(request: Request, browser: AdminDep, session: SessionDep) -> Response:
    """Every agency and principal: role, state (active, awaiting activation, disabled)."""
    agencies = store.list_agencies(session)
    principals = store.list_principals(session)
    return _page(
        request,
        browser,
        "people.html",
        agencies=agencies,
        agency_names={agency.id: agency.name for agency in agencies},
        counts=_principals_per_agency(principals),
        principals=principals,
        max_name=MAX_NAME_CHARS,
    )


def _principals_per_agency(principals: Sequence[Principal]) -> dict[uuid.UUID, int]:
    counts: dict[uuid.UUID, int] = {}
    for principal in principals:
        counts[principal.agency_id] = counts.get(principal.agency_id, 0) + 1
    return counts


@router.post("/agencies")
def add_agency_page(
    browser: AdminDep,
    session: SessionDep,
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Register an agency (the API's POST /v1/agencies)."""
    agency = create_agency(
        body=_valid(AgencyCreate, name=name), admin=browser.principal, session=session
    )
    return RedirectResponse(f"/app/admin#agency-{agency.id}", status_code=303)


@router.get("/principals/{principal_id}")
def principal_page(
    request: Request, browser: AdminDep, session: SessionDep, principal_id: uuid.UUID
) -> Response:
    """One principal: its state, its tokens (revoke), disabling, and the commands for the rest."""
    principal = _principal(session, principal_id)
    return _page(
        request,
        browser,
        "principal.html",
        principal=principal,
        agency=agency_name(session, principal.agency_id),
        tokens=_tokens(session, principal.id),
        now=utcnow(),
        names=_names(session, [principal.activated_by]),
        is_self=principal.id == browser.principal.principal_id,
        projects=_memberships(session, principal.id),
    )


def _principal(session: Session, principal_id: uuid.UUID) -> Principal:
    principal = session.get(Principal, principal_id)
    if principal is None:
        raise NotFound("principal")
    return principal


def _tokens(session: Session, principal_id: uuid.UUID) -> Sequence[ApiToken]:
    """The principal's tokens, newest first: metadata only (the hub holds digests, never tokens)."""
    query = select(ApiToken).where(ApiToken.principal_id == principal_id)
    return session.scalars(query.order_by(ApiToken.created_at.desc(), ApiToken.id)).all()


def _memberships(session: Session, principal_id: uuid.UUID) -> list[tuple[Project, bool]]:
    """The projects whose team the principal is on (or proposed for): (project, confirmed)."""
    query = (
        select(Project, ProjectMember.confirmed_at)
        .join(ProjectMember, ProjectMember.project_id == Project.id)
        .where(ProjectMember.principal_id == principal_id)
        .order_by(Project.name)
    )
    return [(project, confirmed is not None) for project, confirmed in session.execute(query)]


def _names(session: Session, ids: Sequence[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {key for key in ids if key is not None}
    if not wanted:
        return {}
    query = select(Principal.id, Principal.name).where(Principal.id.in_(wanted))
    return {row[0]: row[1] for row in session.execute(query)}


@router.post("/principals/{principal_id}/tokens/{token_id}/revoke")
def revoke_token_page(
    browser: AdminDep, session: SessionDep, principal_id: uuid.UUID, token_id: uuid.UUID
) -> Response:
    """Revoke one token (the API's revoke): it stops working at once, browsers signed in too."""
    revoke_token(
        principal_id=principal_id, token_id=token_id, admin=browser.principal, session=session
    )
    return RedirectResponse(
        f"/app/admin/principals/{principal_id}#token-{token_id}", status_code=303
    )


@router.post("/principals/{principal_id}/disable")
def disable_page(browser: AdminDep, session: SessionDep, principal_id: uuid.UUID) -> Response:
    """Disable a principal (the API's disable): every token and code stops working at once."""
    disable_principal(principal_id=principal_id, admin=browser.principal, session=session)
    return RedirectResponse(f"/app/admin/principals/{principal_id}", status_code=303)


# Projects and teams ----------------------------------------------------------------------


@router.get("/projects")
def projects_page(request: Request, browser: AdminDep, session: SessionDep) -> Response:
    """Every project: agencies, expiry, release rule, team size."""
    projects = store.list_visible_projects(session, browser.principal)
    return _page(
        request,
        browser,
        "projects.html",
        projects=projects,
        teams=_team_sizes(session, [project.id for project in projects]),
        now=utcnow(),
    )


def _team_sizes(
    session: Session, project_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, int]]:
    """Per project: (confirmed members, pending members)."""
    found = dict.fromkeys(project_ids, (0, 0))
    confirmed = func.count(ProjectMember.confirmed_at)
    query = (
        select(ProjectMember.project_id, confirmed, func.count())
        .where(ProjectMember.project_id.in_(project_ids))
        .group_by(ProjectMember.project_id)
    )
    for project, done, every in session.execute(query):
        found[project] = (int(done), int(every) - int(done))
    return found


@router.get("/projects/{project_id}")
def project_page(
    request: Request,
    browser: AdminDep,
    project: Annotated[Project, Depends(visible_project)],
    session: SessionDep,
) -> Response:
    """A project's settings and team (pending and confirmed), proposing and removing members."""
    members = list_members(project=project, session=session).items  # the API's own list
    on_team = {member.id for member in members}
    candidates = [
        principal
        for principal in store.list_principals(session)
        if principal.id not in on_team
        and principal.role not in _NO_DATA_RIGHTS
        and principal.disabled_at is None
    ]
    agencies = {agency.id: agency.name for agency in store.list_agencies(session)}
    ids = [member.added_by for member in members] + [member.confirmed_by for member in members]
    return _page(
        request,
        browser,
        "project.html",
        project=project,
        members=members,
        agencies=agencies,
        names=_names(session, ids),
        candidates=[(str(p.id), f"{p.name} ({agencies.get(p.agency_id, '')})") for p in candidates],
        expired=project.expires_at <= utcnow(),
    )


@router.post("/projects/{project_id}/members")
def propose_member_page(
    browser: AdminDep,
    project: Annotated[Project, Depends(visible_project)],
    session: SessionDep,
    principal_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Propose a principal for the team (the API's add): pending until a second person confirms."""
    body = _valid(MemberCreate, principal_id=principal_id)
    administered = get_administered_project(project.id, session, browser.principal)
    add_member(body=body, project=administered, admin=browser.principal, session=session)
    return RedirectResponse(f"/app/admin/projects/{project.id}#team", status_code=303)


@router.post("/projects/{project_id}/members/{principal_id}/remove")
def remove_member_page(
    browser: AdminDep,
    project: Annotated[Project, Depends(visible_project)],
    session: SessionDep,
    principal_id: uuid.UUID,
) -> Response:
    """Take a principal off the team (the API's remove): effective at its next request."""
    remove_member(
        principal_id=principal_id,
        project_id=project.id,
        admin=browser.principal,
        session=session,
    )
    return RedirectResponse(f"/app/admin/projects/{project.id}#team", status_code=303)
