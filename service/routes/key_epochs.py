"""Key epochs: an administrator moves a project to its next secret's key check value.

Rotation does not stop work: uploads made under an earlier epoch's secret stay and are
still accepted, so agencies re-encode at their own pace; a run refuses to mix epochs
(`mixed-key-epochs`) and names the agencies still to re-encode.
"""

from fastapi import APIRouter

from service.deps import AdminProjectDep, SessionDep
from service.errors import Conflict, problem_responses
from service.schemas import KeyCheckUpdate, ProjectPublic
from service.store import keys as key_store

router = APIRouter(prefix="/projects/{project_id}/key-check", tags=["keys"])


@router.put("", responses=problem_responses(401, 403, 404, 409, 410, 422))
def rotate_key_check(
    body: KeyCheckUpdate, project: AdminProjectDep, session: SessionDep
) -> ProjectPublic:
    """Make a new secret's key check value the project's current one, as a later epoch."""
    epochs = key_store.key_epochs(session, project.id)
    if body.epoch <= project.key_epoch:
        raise Conflict(f"the project is at epoch {project.key_epoch}; name a later epoch")
    if body.key_check in epochs.values():
        raise Conflict("this key check value belongs to an earlier epoch; rotate to a new secret")
    key_store.add_epoch(session, project, epoch=body.epoch, key_check=body.key_check)
    session.commit()
    return ProjectPublic.model_validate(project)
