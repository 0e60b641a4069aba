"""A data officer's pages: the own agency's batches and their upload, own hits, approvals.

Every page admits data officers only, for projects their agency takes part in: the API's
rule (`page_project(Role.DATA_OFFICER)`, which is `deps.get_accessible_project`): another
role gets 403, another project 404, an expired one 410. Each page reads and acts through
the API's own route functions (uploads, runs, hits, approvals, team confirmations), so a
page shows exactly what the API answers this officer and refuses what it refuses: another
agency's batch is "not found", as absent as one that never existed.

Encoding stays on the agency's machine: the page shows the `fieldlink encode` and
`fieldlink upload` commands, and takes a finished batch file. That form is read as it
streams in (service.web.streamed_form): its CSRF token first, then the file's bytes go
straight into the API's upload path (spooled sealed, size-limited, checked), never into a
plain temporary file.
"""

import json
import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.auth import Role
from service.deps import SessionDep
from service.errors import HubError, NotFound, PayloadTooLarge
from service.models import Principal, Project, RunStatus
from service.routes.disclosure import approve_disclosure, list_approvals
from service.routes.hits import list_hits
from service.routes.members import confirm_member, list_members
from service.routes.runs import list_runs
from service.routes.uploads import BATCH_MEDIA_TYPE, get_upload, list_uploads, upload_batch
from service.schemas import INT32_MAX, MemberPublic, RunPublic
from service.store import members as members_store
from service.store.keys import key_epochs
from service.web.access import page_project
from service.web.areas import Area, page_router
from service.web.rendering import render
from service.web.sessions import PAGES_PREFIX, Browser, BrowserDep
from service.web.streamed_form import StreamedForm, as_body

router = page_router("officer")
# The one form carrying a file: its CSRF token is checked by StreamedForm as the body
# arrives (csrf_guard would first write the whole file to a temporary file, in plain).
upload_router = APIRouter(
    prefix=f"{PAGES_PREFIX}/officer", tags=["web-officer"], include_in_schema=False
)
ProjectDep = Annotated[Project, Depends(page_project(Role.DATA_OFFICER))]
_BASE = "/app/officer/projects/{project_id}"
_FILE_FIELD = "batch"
_FORM_OVERHEAD = 64 * 1024  # multipart boundaries, headers and the CSRF field
_HITS_PAGE = 50
_STORED = ("new", "again")


def _base(project: Project) -> str:
    return _BASE.format(project_id=project.id)


def _page(request: Request, browser: Browser, template: str, **context: Any) -> Response:
    return render(request, f"officer/{template}", context, browser=browser)


# Batches ---------------------------------------------------------------------------------


@router.get("/projects/{project_id}")
def batches_page(
    request: Request, project: ProjectDep, browser: BrowserDep, session: SessionDep
) -> Response:
    """The own agency's batches in the project, the upload form and the commands."""
    return _batches(request, project, browser, session)


def _batches(
    request: Request,
    project: Project,
    browser: Browser,
    session: Session,
    *,
    refused: HubError | None = None,
) -> Response:
    uploads = list_uploads(
        caller=browser.principal, project=project, session=session
    ).items  # the API's own listing
    response = _page(
        request,
        browser,
        "batches.html",
        project=project,
        base=_base(project),
        tab="batches",
        uploads=uploads,
        epochs=_epochs(session, project),
        names=_principal_names(session, [upload.uploaded_by for upload in uploads]),
        takes_part=browser.principal.agency_id in project.agency_ids,
        refused=refused,
        max_mib=request.app.state.settings.max_upload_bytes / 2**20,
    )
    if refused is not None:
        response.status_code = refused.status
    return response


@router.get("/projects/{project_id}/batches/{upload_id}")
def batch_page(
    request: Request,
    project: ProjectDep,
    browser: BrowserDep,
    session: SessionDep,
    upload_id: uuid.UUID,
    stored: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    """One own batch: what the hub recorded and checked (another agency's: not found)."""
    upload = get_upload(
        upload_id=upload_id, caller=browser.principal, project=project, session=session
    )  # 404 as the API
    return _page(
        request,
        browser,
        "batch.html",
        project=project,
        base=_base(project),
        tab="batches",
        upload=upload,
        epochs=_epochs(session, project),
        names=_principal_names(session, [upload.uploaded_by]),
        stored=stored if stored in _STORED else "",
    )


@upload_router.post("/projects/{project_id}/batches")
async def upload_page(
    request: Request, project: ProjectDep, browser: BrowserDep, session: SessionDep
) -> Response:
    """Take a batch file from the form, through the API's upload path; refusals re-show the form.

    The declared size is checked before a byte is read, the CSRF token before a byte of
    the file; the file then streams into the API's upload (`routes.uploads.upload_batch`).
    """
    limit: int = request.app.state.settings.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + _FORM_OVERHEAD:
        raise PayloadTooLarge(f"the body exceeds the hub's limit of {limit} bytes")
    form = StreamedForm(request)
    await form.check_csrf()
    try:
        _, chunks = await form.file(_FILE_FIELD)
        body = as_body(request, chunks, BATCH_MEDIA_TYPE)
        answer = Response(status_code=201)  # the route sets 200 for a file stored already
        public = await upload_batch(
            request=body,
            response=answer,
            officer=browser.principal,
            project=project,
            session=session,
        )
    except HubError as refused:
        session.rollback()
        return _batches(request, project, browser, session, refused=refused)
    stored = "again" if answer.status_code == 200 else "new"
    target = f"{_base(project)}/batches/{public.id}?stored={stored}"
    return RedirectResponse(target, status_code=303)


def _epochs(session: Session, project: Project) -> dict[str, int]:
    """Key check value -> epoch, for the project's epochs."""
    return {check: epoch for epoch, check in key_epochs(session, project.id).items()}


def _principal_names(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    query = select(Principal.id, Principal.name).where(Principal.id.in_(set(ids)))
    return {row[0]: row[1] for row in session.execute(query)}


# Hits ------------------------------------------------------------------------------------


@router.get("/projects/{project_id}/hits")
def hits_page(
    request: Request,
    project: ProjectDep,
    browser: BrowserDep,
    session: SessionDep,
    run: Annotated[uuid.UUID | None, Query()] = None,
    after: Annotated[int, Query(ge=0, le=INT32_MAX)] = 0,
) -> Response:
    """The hits holding the own agency's records in one run, as the API shows them."""
    runs = _finished_runs(browser, project, session)
    chosen = _chosen(runs, run)
    hits: list[dict[str, Any]] = []
    next_after = None
    if chosen is not None:
        # The API's own page (it closes the session: read everything else before).
        answer = list_hits(
            project_id=project.id,
            run_id=chosen.id,
            principal=browser.principal,
            session=session,
            request=request,
            limit=_HITS_PAGE,
            after=after,
        )
        found = json.loads(bytes(answer.body))
        hits, next_after = found["items"], found["next_after"]
    return _page(
        request,
        browser,
        "hits.html",
        project=project,
        base=_base(project),
        tab="hits",
        runs=runs,
        run=chosen,
        hits=hits,
        after=after,
        next_after=next_after,
    )


def _finished_runs(browser: Browser, project: Project, session: Session) -> list[RunPublic]:
    """The project's succeeded runs, newest first, counted as the API counts them for officers."""
    every = list_runs(project=project, principal=browser.principal, session=session).items
    return [run for run in every if run.status is RunStatus.SUCCEEDED]


def _chosen(runs: list[RunPublic], wanted: uuid.UUID | None) -> RunPublic | None:
    if wanted is None:
        return runs[0] if runs else None
    found = next((run for run in runs if run.id == wanted), None)
    if found is None:
        raise NotFound("run")  # absent, not the project's, or not finished: as the API's hits
    return found


# Approvals -------------------------------------------------------------------------------


@router.get("/projects/{project_id}/approvals")
def approvals_page(
    request: Request,
    project: ProjectDep,
    browser: BrowserDep,
    session: SessionDep,
    run: Annotated[uuid.UUID | None, Query()] = None,
    after: Annotated[int, Query(ge=0, le=INT32_MAX)] = 0,
) -> Response:
    """What waits for this officer: disclosure approvals of own hits, team confirmations."""
    members = list_members(project=project, session=session).items
    confirmable = _confirmable(session, project, browser, members)
    runs = _finished_runs(browser, project, session)
    chosen = _chosen(runs, run)
    approvals = None
    if chosen is not None:
        approvals = list_approvals(  # the API's own list (it closes the session: last)
            run_id=chosen.id,
            project=project,
            principal=browser.principal,
            session=session,
            pending=True,
            after=after,
            limit=_HITS_PAGE,
        )
    return _page(
        request,
        browser,
        "approvals.html",
        project=project,
        base=_base(project),
        tab="approvals",
        members=[member for member in members if member.status == "pending"],
        confirmable=confirmable,
        runs=runs,
        run=chosen,
        approvals=approvals,
        after=after,
    )


def _confirmable(
    session: Session, project: Project, browser: Browser, members: list[MemberPublic]
) -> set[uuid.UUID]:
    """The pending members this officer may confirm (the API decides again on the click)."""
    found = set()
    for member in members:
        if member.status != "pending":
            continue
        membership = members_store.find(session, project.id, member.id)
        if membership is not None and members_store.may_confirm(
            session, project, membership, browser.principal
        ):
            found.add(member.id)
    return found


@router.post("/projects/{project_id}/runs/{run_id}/hits/{number}/approve")
def approve_page(
    project: ProjectDep,
    browser: BrowserDep,
    session: SessionDep,
    run_id: uuid.UUID,
    number: Annotated[int, Path(ge=1, le=INT32_MAX)],
) -> Response:
    """Approve releasing the own agency's envelopes of one hit (the API's approval)."""
    approve_disclosure(
        run_id=run_id,
        number=number,
        officer=browser.principal,
        project=project,
        session=session,
        response=Response(),
    )
    target = f"{_base(project)}/approvals?run={run_id}#approved-{number}"
    return RedirectResponse(target, status_code=303)


@router.post("/projects/{project_id}/members/{principal_id}/confirm")
def confirm_page(
    project: ProjectDep, browser: BrowserDep, session: SessionDep, principal_id: uuid.UUID
) -> Response:
    """Confirm a proposed team member: the second person of dual control (the API's rule)."""
    confirm_member(
        principal_id=principal_id,
        project_id=project.id,
        caller=browser.principal,
        session=session,
    )
    return RedirectResponse(f"{_base(project)}/approvals#team", status_code=303)


# The area: the pages' router and the streamed upload's, side by side (neither prefixes
# the other's dependencies), with the project page every officer's project links to.
_routers = APIRouter()
_routers.include_router(router)
_routers.include_router(upload_router)
AREA = Area(
    "officer",
    _routers,
    project_pages={Role.DATA_OFFICER: _BASE},
)
