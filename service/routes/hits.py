"""A run's hits: pages for analysts (every hit) and data officers (their own), and exports."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from service.deps import PrincipalDep, SessionDep
from service.errors import Conflict, NotFound, problem_responses
from service.hit_views import csv_export, hit_list_json, json_export, own_numbered
from service.models import EVERY_AGENCY, Run, RunStatus
from service.run_access import HitReaderProjectIdDep, own_agency
from service.schemas import INT32_MAX, HitList
from service.store import hits as store
from service.store.runs import find_run

router = APIRouter(prefix="/projects/{project_id}/runs/{run_id}/hits", tags=["hits"])

_EXPORT_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8"}
_EXPORT_RESPONSES = problem_responses(401, 403, 404, 409, 410, 422) | {
    200: {
        "description": "The hits as a fieldlink-hits/1 JSON document, or CSV (one row per member)",
        "content": {"application/json": {}, "text/csv": {}},
    }
}


def _finished_run(session: Session, project_id: uuid.UUID, run_id: uuid.UUID) -> Run:
    run = find_run(session, project_id, run_id)
    if run is None:
        raise NotFound("run")
    if run.status is not RunStatus.SUCCEEDED:
        raise Conflict(f"the run is {run.status.value}; hits exist once it has succeeded")
    return run


@router.get("", response_model=HitList, responses=problem_responses(401, 403, 404, 409, 410, 422))
def list_hits(
    project_id: HitReaderProjectIdDep,
    run_id: uuid.UUID,
    principal: PrincipalDep,
    session: SessionDep,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: Annotated[
        int, Query(ge=0, le=INT32_MAX, description="the last hit number of the page before")
    ] = 0,
) -> Response:
    """One page of the run's hits, in number order."""
    run = _finished_run(session, project_id, run_id)
    agency = own_agency(principal)
    audience = EVERY_AGENCY if agency is None else str(agency)
    rows = store.view_page(session, run.id, audience=audience, after=after, limit=limit + 1)
    page, more = rows[:limit], len(rows) > limit
    # Hand the connection back now, not after the answer is sent (and its audit entry
    # written): under load, a page never holds a pooled connection it no longer needs.
    session.close()
    request.state.audit_records = len(page)
    body = hit_list_json([view for _, view in page], page[-1][0] if more else None)
    return Response(body, media_type="application/json")


@router.get("/export", response_class=StreamingResponse, responses=_EXPORT_RESPONSES)
def export_hits(
    project_id: HitReaderProjectIdDep,
    run_id: uuid.UUID,
    principal: PrincipalDep,
    session: SessionDep,
    request: Request,
    file_format: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> StreamingResponse:
    """All the run's hits the caller may see, as fieldlink-hits/1 JSON or CSV, streamed."""
    run = _finished_run(session, project_id, run_id)
    agency = own_agency(principal)
    by_agency: dict[str, int] = (run.report or {}).get("hits_by_agency", {})
    request.state.audit_records = run.hit_count if agency is None else by_agency.get(str(agency), 0)
    pages = store.iter_hits(session, run.id, agency_id=agency)
    if agency is not None:  # a data officer's own hits, numbered as in the officer's pages
        pages = own_numbered(pages)
    if file_format == "csv":
        body = csv_export(pages)
    else:
        report = run.report or {}
        body = json_export(pages, threshold=report["threshold"], min_agencies=run.min_agencies)
    disposition = f'attachment; filename="hits-{run.id}.{file_format}"'
    return StreamingResponse(
        body, media_type=_EXPORT_TYPES[file_format], headers={"Content-Disposition": disposition}
    )
