"""The project's suspect list: analysts shortlist hits, keep a status and a note, export."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.deps import PrincipalDep, SessionDep
from service.errors import Conflict, NotFound, problem_responses
from service.models import Project, utcnow
from service.run_access import AnalystProjectDep
from service.schemas import SuspectCreate, SuspectList, SuspectPublic, SuspectUpdate
from service.store import hits as hits_store
from service.store import suspects as store
from service.suspect_views import csv_document, json_document, suspect_views

router = APIRouter(prefix="/projects/{project_id}/suspects", tags=["suspects"])

_EXPORT_RESPONSES = problem_responses(401, 403, 404, 422) | {
    200: {
        "description": "The suspect list as fieldlink-suspects/1 JSON, or CSV",
        "content": {"application/json": {}, "text/csv": {}},
    }
}


def _views(
    session: Session, project: Project, suspect_id: uuid.UUID | None = None
) -> list[SuspectPublic]:
    rows = store.list_suspects(session, project.id, suspect_id=suspect_id)
    members = hits_store.members_by_hit(session, store.hit_ids(rows))
    return suspect_views(rows, members)


@router.post("", status_code=201, responses=problem_responses(401, 403, 404, 409, 422))
def create_suspect(
    body: SuspectCreate, project: AnalystProjectDep, principal: PrincipalDep, session: SessionDep
) -> SuspectPublic:
    """Shortlist a hit of one of the project's finished runs."""
    if hits_store.find_project_hit(session, project.id, body.hit_id) is None:
        raise NotFound("hit")
    if store.is_listed(session, project.id, body.hit_id):
        raise Conflict("this hit is on the suspect list already")
    suspect = store.add_suspect(
        session,
        project_id=project.id,
        hit_id=body.hit_id,
        status=body.status,
        note=body.note,
        created_by=principal.principal_id,
        now=utcnow(),
    )
    try:
        session.commit()
    except IntegrityError as err:  # listed by a concurrent request in the meantime
        raise Conflict("this hit is on the suspect list already") from err
    return _views(session, project, suspect.id)[0]


@router.get("", responses=problem_responses(401, 403, 404, 422))
def list_suspects(project: AnalystProjectDep, session: SessionDep, request: Request) -> SuspectList:
    """The project's suspect list, in the order it was drawn up."""
    items = _views(session, project)
    request.state.audit_records = len(items)
    return SuspectList(items=items)


@router.get("/export", response_class=Response, responses=_EXPORT_RESPONSES)
def export_suspects(
    project: AnalystProjectDep,
    session: SessionDep,
    request: Request,
    file_format: Annotated[Literal["json", "csv"], Query(alias="format")] = "csv",
) -> Response:
    """The suspect list as CSV or fieldlink-suspects/1 JSON, for the RIEC case procedure."""
    items = _views(session, project)
    request.state.audit_records = len(items)
    disposition = {
        "Content-Disposition": f'attachment; filename="suspects-{project.id}.{file_format}"'
    }
    if file_format == "json":
        content = json_document(items, project_id=str(project.id), now=utcnow())
        return Response(content, media_type="application/json", headers=disposition)
    return Response(csv_document(items), media_type="text/csv; charset=utf-8", headers=disposition)


@router.patch("/{suspect_id}", responses=problem_responses(401, 403, 404, 422))
def update_suspect(
    suspect_id: uuid.UUID, body: SuspectUpdate, project: AnalystProjectDep, session: SessionDep
) -> SuspectPublic:
    """Change a suspect's status and/or note."""
    suspect = store.find_suspect(session, project.id, suspect_id)
    if suspect is None:
        raise NotFound("suspect")
    store.update_suspect(session, suspect, status=body.status, note=body.note, now=utcnow())
    session.commit()
    return _views(session, project, suspect.id)[0]


@router.delete("/{suspect_id}", status_code=204, responses=problem_responses(401, 403, 404, 422))
def delete_suspect(suspect_id: uuid.UUID, project: AnalystProjectDep, session: SessionDep) -> None:
    """Take a hit off the suspect list."""
    suspect = store.find_suspect(session, project.id, suspect_id)
    if suspect is None:
        raise NotFound("suspect")
    store.delete_suspect(session, suspect)
    session.commit()
