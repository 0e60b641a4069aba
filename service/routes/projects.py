"""Matching projects: administrators register and adjust them; teams and agencies read them.

Their teams are in `service.routes.members`; their purge after expiry in `service.routes.retention`.
"""

from fastapi import APIRouter
from sqlalchemy.orm import Session

from service import store
from service.deps import AdminDep, AdminProjectDep, PrincipalDep, SessionDep, VisibleProjectDep
from service.errors import Conflict, InvalidInput, problem_responses
from service.models import PROJECT_LIFETIME, Agency, utcnow
from service.schemas import ProjectCreate, ProjectList, ProjectPublic, ProjectUpdate

router = APIRouter(prefix="/projects", tags=["projects"])


def _participants(session: Session, body: ProjectCreate) -> list[Agency]:
    agencies = list(store.find_agencies(session, body.agency_ids))
    if len(agencies) != len(body.agency_ids):
        raise InvalidInput("an agency in agency_ids does not exist")
    return agencies


@router.post("", status_code=201, responses=problem_responses(401, 403, 409, 422))
def create_project(body: ProjectCreate, admin: AdminDep, session: SessionDep) -> ProjectPublic:
    """Register a project with its participating agencies, linkage schema and release rule."""
    now = utcnow()
    if body.expires_at is not None and body.expires_at <= now:
        raise InvalidInput("expires_at is not in the future")
    if store.find_project_by_name(session, body.name) is not None:
        raise Conflict("a project with this name exists")
    project = store.add_project(
        session,
        agencies=_participants(session, body),
        expires_at=body.expires_at or now + PROJECT_LIFETIME,
        **body.model_dump(exclude={"agency_ids", "expires_at"}),
    )
    session.commit()
    return ProjectPublic.model_validate(project)


@router.get("", responses=problem_responses(401))
def list_projects(principal: PrincipalDep, session: SessionDep) -> ProjectList:
    """List the projects visible to the caller."""
    projects = store.list_visible_projects(session, principal)
    return ProjectList(items=[ProjectPublic.model_validate(item) for item in projects])


@router.get("/{project_id}", responses=problem_responses(401, 404, 410, 422))
def get_project(project: VisibleProjectDep) -> ProjectPublic:
    """Read one project."""
    return ProjectPublic.model_validate(project)


@router.patch("/{project_id}", responses=problem_responses(401, 403, 404, 410, 422))
def update_project(
    body: ProjectUpdate, project: AdminProjectDep, session: SessionDep
) -> ProjectPublic:
    """Change a project's threshold, k, expiry, disclosure approval or probing controls.

    Runs already made keep their threshold and k; releases follow the approval rule in
    force when they are asked for; uploads already stored stay when the controls tighten.
    """
    changes = body.changes()
    if "expires_at" in changes and changes["expires_at"] <= utcnow():
        raise InvalidInput("expires_at is not in the future")
    if changes.get("min_agencies", 0) > len(project.agencies):
        raise InvalidInput("min_agencies exceeds the number of participating agencies")
    for name, value in changes.items():
        setattr(project, name, value)
    session.commit()
    return ProjectPublic.model_validate(project)
