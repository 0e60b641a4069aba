"""Matching runs: analysts start them; the project's data roles follow them."""

import uuid

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session

from service.deps import PrincipalDep, SessionDep, SettingsDep
from service.epochs import check_one_epoch
from service.errors import Conflict, NotFound, RunQueueFull, problem_responses
from service.run_access import AnalystProjectDep, RunReaderProjectDep, own_agency
from service.run_views import run_public
from service.schemas import RunCreate, RunList, RunPublic
from service.store import runs as store
from service.store.keys import key_epochs

router = APIRouter(prefix="/projects/{project_id}/runs", tags=["runs"])
RUN_QUEUE_RETRY_S = 60


@router.post("", status_code=202, responses=problem_responses(401, 403, 404, 409, 410, 422, 429))
def start_run(
    body: RunCreate,
    project: AnalystProjectDep,
    principal: PrincipalDep,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
) -> RunPublic:
    """Queue a matching run over the project's current uploads."""
    uploads = store.upload_labels(session, project.id)
    agencies = {upload.agency_id for upload in uploads}
    if len(agencies) < project.min_agencies:
        raise Conflict(
            f"uploads of {len(agencies)} agencies; this project needs {project.min_agencies}"
        )
    check_one_epoch(uploads, project, key_epochs(session, project.id))
    _check_queue(session, project.id, settings.max_active_runs_per_project)
    run = store.add_run(
        session,
        project_id=project.id,
        started_by=principal.principal_id,
        threshold=body.threshold if body.threshold is not None else project.threshold,
        min_agencies=project.min_agencies,
        upload_ids=[upload.upload_id for upload in uploads],
        upload_digests={str(upload.upload_id): upload.digest for upload in uploads},
    )
    session.commit()
    request.app.state.run_workers.wake()
    return run_public(run, project, own_agency(principal))


def _check_queue(session: Session, project_id: uuid.UUID, most: int) -> None:
    # Every run reads all of the project's batches: a cap keeps one project (or one
    # analyst's script) from queueing work that starves the hub's other projects.
    if store.count_active_runs(session, project_id) >= most:
        raise RunQueueFull(
            f"the project has {most} runs queued or running; start another when one is done",
            retry_after_s=RUN_QUEUE_RETRY_S,
        )


@router.get("", responses=problem_responses(401, 403, 404, 410, 422))
def list_runs(
    project: RunReaderProjectDep, principal: PrincipalDep, session: SessionDep
) -> RunList:
    """List the project's runs, newest first."""
    runs = store.list_runs(session, project.id)
    return RunList(items=[run_public(run, project, own_agency(principal)) for run in runs])


@router.get("/{run_id}", responses=problem_responses(401, 403, 404, 410, 422))
def get_run(
    run_id: uuid.UUID, project: RunReaderProjectDep, principal: PrincipalDep, session: SessionDep
) -> RunPublic:
    """Read a run: status, stage, progress and, once done, its counts."""
    run = store.find_run(session, project.id, run_id)
    if run is None:
        raise NotFound("run")
    return run_public(run, project, own_agency(principal))
