"""A project's standing watch: analysts of the team turn it on and off (service.watch)."""

from fastapi import APIRouter

from service.deps import SessionDep
from service.errors import problem_responses
from service.run_access import AnalystProjectDep
from service.schemas import ProjectPublic, WatchUpdate

router = APIRouter(prefix="/projects/{project_id}", tags=["projects"])


@router.put("/watch", responses=problem_responses(401, 403, 404, 410, 422))
def set_watch(body: WatchUpdate, project: AnalystProjectDep, session: SessionDep) -> ProjectPublic:
    """Turn the standing watch on or off: while on, each batch added or replaced queues a run."""
    project.watch = body.on
    session.commit()
    return ProjectPublic.model_validate(project)
