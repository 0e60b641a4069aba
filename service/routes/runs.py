"""Matching runs: analysts start them; the project's data roles follow them."""

import uuid

from fastapi import APIRouter, Request

from service.deps import PrincipalDep, SessionDep, SettingsDep
from service.errors import NotFound, problem_responses
from service.run_access import AnalystProjectDep, RunReaderProjectDep, own_agency
from service.run_start import queue_run, startable_uploads
from service.run_views import run_public
from service.schemas import RunCreate, RunList, RunPublic
from service.store import runs as store

router = APIRouter(prefix="/projects/{project_id}/runs", tags=["runs"])


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
    uploads = startable_uploads(session, project, most_active=settings.max_active_runs_per_project)
    run = queue_run(
        session,
        project,
        uploads,
        started_by=principal.principal_id,
        threshold=body.threshold if body.threshold is not None else project.threshold,
    )
    session.commit()
    request.app.state.run_workers.wake()
    return run_public(run, project, own_agency(principal))


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
