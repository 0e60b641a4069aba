"""The project's suspect list: analysts shortlist hits, keep a status and a note, export.

The team's auditors read the list too. Notes are sealed at rest (service.notes) and
visible to the team: its analysts and its auditors.
"""

import uuid
from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.audit import note_subject
from service.deps import PrincipalDep, SessionDep
from service.errors import Conflict, NotFound, problem_responses
from service.hub_keys import Keyring
from service.models import Hit, Project, Suspect, utcnow
from service.notes import seal_note, suspect_note
from service.run_access import AnalystProjectDep, SuspectReaderProjectDep
from service.schemas import SuspectCreate, SuspectList, SuspectPublic, SuspectUpdate
from service.store import hits as hits_store
from service.store import suspects as store
from service.store.suspects import SuspectRow
from service.suspect_views import csv_chunks, json_chunks, suspect_views

router = APIRouter(prefix="/projects/{project_id}/suspects", tags=["suspects"])

EXPORT_PAGE = 500  # suspects read, opened and written at a time by an export

_EXPORT_RESPONSES = problem_responses(401, 403, 404, 410, 422) | {
    200: {
        "description": "The suspect list as fieldlink-suspects/1 JSON, or CSV",
        "content": {"application/json": {}, "text/csv": {}},
    }
}


def _views(
    request: Request, session: Session, project: Project, suspect_id: uuid.UUID | None = None
) -> list[SuspectPublic]:
    rows = store.list_suspects(session, project.id, suspect_id=suspect_id)
    return _public(request, session, rows)


def _public(request: Request, session: Session, rows: list[SuspectRow]) -> list[SuspectPublic]:
    members = hits_store.members_by_hit(session, store.hit_ids(rows))
    keyring = _keyring(request)
    notes = {row.suspect.id: suspect_note(row.suspect, keyring) for row in rows}
    return suspect_views(rows, members, notes)


def _view_pages(
    request: Request, session: Session, project: Project
) -> Iterator[list[SuspectPublic]]:
    """The suspect list as views, a page at a time: an export never holds the whole list."""
    for rows in store.suspect_pages(session, project.id, page=EXPORT_PAGE):
        yield _public(request, session, rows)


def _keyring(request: Request) -> Keyring:
    keyring: Keyring = request.app.state.hub_keys.storage
    return keyring


def _sealed(request: Request, note: str, project: Project, hit_id: uuid.UUID) -> str:
    return seal_note(note, keyring=_keyring(request), project_id=project.id, hit_id=hit_id)


@router.post("", status_code=201, responses=problem_responses(401, 403, 404, 409, 410, 422))
def create_suspect(
    body: SuspectCreate,
    project: AnalystProjectDep,
    principal: PrincipalDep,
    session: SessionDep,
    request: Request,
) -> SuspectPublic:
    """Shortlist a hit of one of the project's finished runs."""
    hit = hits_store.find_project_hit(session, project.id, body.hit_id)
    if hit is None:
        raise NotFound("hit")
    note_subject(request, run_id=hit.run_id, hits=[hit.number])
    if store.is_listed(session, project.id, body.hit_id):
        raise Conflict("this hit is on the suspect list already")
    suspect = store.add_suspect(
        session,
        project_id=project.id,
        hit_id=body.hit_id,
        status=body.status,
        note=_sealed(request, body.note, project, body.hit_id),
        created_by=principal.principal_id,
        now=utcnow(),
    )
    try:
        session.commit()
    except IntegrityError as err:  # listed by a concurrent request in the meantime
        raise Conflict("this hit is on the suspect list already") from err
    return _views(request, session, project, suspect.id)[0]


@router.get("", responses=problem_responses(401, 403, 404, 410, 422))
def list_suspects(
    project: SuspectReaderProjectDep, session: SessionDep, request: Request
) -> SuspectList:
    """The project's suspect list, in the order it was drawn up (analysts, auditors)."""
    items = _views(request, session, project)
    request.state.audit_records = len(items)
    return SuspectList(items=items)


@router.get("/export", response_class=Response, responses=_EXPORT_RESPONSES)
def export_suspects(
    project: SuspectReaderProjectDep,
    session: SessionDep,
    request: Request,
    file_format: Annotated[Literal["json", "csv"], Query(alias="format")] = "csv",
) -> Response:
    """The suspect list as CSV or fieldlink-suspects/1 JSON, for the RIEC case procedure."""
    request.state.audit_records = store.count_suspects(session, project.id)
    disposition = {
        "Content-Disposition": f'attachment; filename="suspects-{project.id}.{file_format}"'
    }
    pages = _view_pages(request, session, project)  # streamed: a page of suspects at a time
    if file_format == "json":
        body = json_chunks(pages, project_id=str(project.id), now=utcnow())
        media_type = "application/json"
    else:
        body = csv_chunks(pages)
        media_type = "text/csv; charset=utf-8"
    return StreamingResponse(
        (chunk.encode() for chunk in body), media_type=media_type, headers=disposition
    )


@router.patch("/{suspect_id}", responses=problem_responses(401, 403, 404, 410, 422))
def update_suspect(
    suspect_id: uuid.UUID,
    body: SuspectUpdate,
    project: AnalystProjectDep,
    session: SessionDep,
    request: Request,
) -> SuspectPublic:
    """Change a suspect's status and/or note."""
    suspect = _find(request, session, project, suspect_id)
    note = None if body.note is None else _sealed(request, body.note, project, suspect.hit_id)
    store.update_suspect(session, suspect, status=body.status, note=note, now=utcnow())
    session.commit()
    return _views(request, session, project, suspect.id)[0]


@router.delete(
    "/{suspect_id}", status_code=204, responses=problem_responses(401, 403, 404, 410, 422)
)
def delete_suspect(
    suspect_id: uuid.UUID, project: AnalystProjectDep, session: SessionDep, request: Request
) -> None:
    """Take a hit off the suspect list."""
    suspect = _find(request, session, project, suspect_id)
    store.delete_suspect(session, suspect)
    session.commit()


def _find(request: Request, session: Session, project: Project, suspect_id: uuid.UUID) -> Suspect:
    """The project's suspect; its audit entry names the run and hit it was shortlisted from."""
    suspect = store.find_suspect(session, project.id, suspect_id)
    if suspect is None:
        raise NotFound("suspect")
    hit = session.get(Hit, suspect.hit_id)
    if hit is not None:
        note_subject(request, run_id=hit.run_id, hits=[hit.number])
    return suspect
