"""An auditor's pages: the access log filtered and paged, its verification, exports, projects.

Every page admits auditors only (403 for the other roles), as the API's audit routes do;
the project page admits the auditors on that project's team (404 otherwise), expired
projects included, as `deps.get_accessible_project` does for auditors. The log reads and
filters as GET /v1/audit/entries (service.web.auditor_data), newest first; the chain is
verified and exported by the API's own route functions (`routes.audit`), so the page says
what `fieldlink audit verify` says and the export is the same signed document.
"""

import uuid
from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from service.auth import Role
from service.deps import SessionDep
from service.models import AuditEntry, Project
from service.routes.audit import export_audit_log, verify_audit_log
from service.routes.suspects import list_suspects
from service.schemas import INT64_MAX
from service.store import audit as audit_store
from service.web import auditor_data as data
from service.web.access import page_project, page_role
from service.web.areas import Area, page_router
from service.web.rendering import render
from service.web.sessions import Browser

router = page_router("auditor")
AREA = Area(
    "auditor",
    router,
    nav={
        Role.AUDITOR: (
            ("auditor.nav.overview", "/app/auditor"),
            ("auditor.nav.log", "/app/auditor/log"),
        )
    },
    project_pages={Role.AUDITOR: "/app/auditor/projects/{project_id}"},
)
AuditorDep = Annotated[Browser, Depends(page_role(Role.AUDITOR))]
ProjectDep = Annotated[Project, Depends(page_project(Role.AUDITOR))]
_FILTER = Annotated[str, Query(max_length=120)]
_RECENT = 20  # entries of each kind on a project's page


def _page(request: Request, browser: Browser, template: str, **context: Any) -> Response:
    return render(request, f"auditor/{template}", context, browser=browser)


@router.get("")
def overview_page(request: Request, browser: AuditorDep, session: SessionDep) -> Response:
    """The chain's head and last signed checkpoint; each project's releases and changes."""
    names = data.directory(session, browser.principal)
    head, _ = audit_store.chain_head(session)
    return _page(
        request,
        browser,
        "overview.html",
        head=head,
        checkpoint=audit_store.last_checkpoint(session),
        projects=names.projects,
        activity=data.activity(session, list(names.projects)),
        kinds=data.KINDS,
    )


def _log_form(
    principal: _FILTER = "",
    agency: _FILTER = "",
    project: _FILTER = "",
    action: _FILTER = "",
    outcome: _FILTER = "",
    since: _FILTER = "",
    until: _FILTER = "",
) -> data.LogForm:
    """The log filters from the query string (the page and its CSV export read the same)."""
    return data.LogForm(principal, agency, project, action, outcome, since, until)


LogFormDep = Annotated[data.LogForm, Depends(_log_form)]


@router.get("/log")
def log_page(
    request: Request,
    browser: AuditorDep,
    session: SessionDep,
    form: LogFormDep,
    before: Annotated[int | None, Query(ge=1, le=INT64_MAX)] = None,
) -> Response:
    """The access log, newest first, filtered like GET /v1/audit/entries, a page at a time."""
    where = form.entry_filter()
    names = data.directory(session, browser.principal)
    found = audit_store.list_entries_newest_first(
        session, where, before=before, limit=data.PAGE_SIZE + 1
    )
    shown, more = found[: data.PAGE_SIZE], len(found) > data.PAGE_SIZE
    request.state.audit_records = len(shown)
    query = form.query()
    return _page(
        request,
        browser,
        "log.html",
        form=form,
        names=names,
        rows=data.rows(shown, names),
        total=audit_store.count_entries(session, where),
        principals_options=_options(
            {
                key: f"{name} ({names.principal_agency.get(key, '')})"
                for key, name in names.principals.items()
            }
        ),
        agency_options=_options(names.agencies),
        project_options=_options(names.projects),
        action_options=[(action, action) for action in audit_store.recorded_actions(session)],
        older=_link(query, before=shown[-1].sequence) if more and shown else None,
        newer=_newer(session, where, query, before, shown),
        csv_link=_link(query, path="/app/auditor/log.csv"),
        filtered=bool(query),
    )


def _options(names: dict[uuid.UUID, str]) -> list[tuple[str, str]]:
    """(id, name) choices for a select, by name."""
    return sorted(((str(key), name) for key, name in names.items()), key=lambda o: o[1].casefold())


def _link(query: dict[str, str], path: str = "/app/auditor/log", **extra: Any) -> str:
    values = {**query, **{key: value for key, value in extra.items() if value is not None}}
    return f"{path}?{urlencode(values)}" if values else path


def _newer(
    session: Session,
    where: audit_store.EntryFilter,
    query: dict[str, str],
    before: int | None,
    shown: Sequence[AuditEntry],
) -> str | None:
    """The link to the page of entries just newer than this one (None on the newest)."""
    if before is None:
        return None
    first = shown[0].sequence if shown else before - 1
    newer = audit_store.list_entries(session, where, after=first, limit=data.PAGE_SIZE + 1)
    if len(newer) <= data.PAGE_SIZE:
        return _link(query)  # the newest page
    return _link(query, before=newer[data.PAGE_SIZE - 1].sequence + 1)


@router.get("/log.csv")
def log_csv(
    request: Request,
    browser: AuditorDep,
    session: SessionDep,
    form: LogFormDep,
) -> StreamingResponse:
    """Every entry the filters keep, in chain order, as CSV with names beside the ids."""
    where = form.entry_filter()
    names = data.directory(session, browser.principal)
    request.state.audit_records = audit_store.count_entries(session, where)
    return StreamingResponse(
        data.csv_lines(_pages(session, where), names),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'},
    )


def _pages(session: Session, where: audit_store.EntryFilter) -> Any:
    after = 0
    while True:
        page = audit_store.list_entries(session, where, after=after, limit=1000)
        if not page:
            return
        yield page
        after = page[-1].sequence
        session.expunge_all()  # keep memory flat over a long log


@router.get("/export.json")
def export_page(request: Request, browser: AuditorDep, session: SessionDep) -> StreamingResponse:
    """The whole chain with its signed checkpoints (the API's export, as a download)."""
    answer = export_audit_log(auditor=browser.principal, session=session, request=request)
    answer.headers["Content-Disposition"] = 'attachment; filename="audit.json"'
    return answer


@router.get("/verify")
def verify_page(request: Request, browser: AuditorDep, session: SessionDep) -> Response:
    """Check the stored chain now (the API's verification) and show the last checkpoint."""
    result = verify_audit_log(auditor=browser.principal, session=session, request=request)
    head, _ = audit_store.chain_head(session)
    return _page(
        request,
        browser,
        "verify.html",
        result=result,
        head=head,
        checkpoint=audit_store.last_checkpoint(session),
        keys=request.app.state.hub_keys.public_keys(),
    )


@router.get("/projects/{project_id}")
def project_page(
    request: Request, project: ProjectDep, browser: AuditorDep, session: SessionDep
) -> Response:
    """A project at a glance: envelope releases, approvals, suspect changes, the suspect list."""
    names = data.directory(session, browser.principal)
    recent = {
        kind: data.rows(data.entries_of_kind(session, project.id, kind, limit=_RECENT), names)
        for kind in data.KINDS
    }
    suspects = list_suspects(
        project=project, session=session, request=request
    ).items  # the API's list, as auditors see it
    statuses: dict[str, int] = {}
    for suspect in suspects:
        statuses[suspect.status.value] = statuses.get(suspect.status.value, 0) + 1
    return _page(
        request,
        browser,
        "project.html",
        project=project,
        activity=data.activity(session, [project.id])[project.id],
        recent=recent,
        kinds=data.KINDS,
        suspects=suspects,
        statuses=statuses,
        log_link=_link({"project": str(project.id)}),
    )
