"""The analyst's pages: a project's overview, its runs, hits, a link explained, suspects, quality.

Every page admits analysts on the project's team only, with the API's rule
(`service.run_access.ANALYSTS` through `service.web.access.page_project`): another role
gets 403, a project that is not the analyst's 404, an expired one 410. What changes data
(starting a run, the suspect list) calls the API's own route functions, so the checks,
the stored result and the audit entry's subject are those of the API call.

Opening sealed identities stays on the analyst's machine: the pages show the `fieldlink`
command; the team's private key never enters the browser or the hub.
"""

import math
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Form, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from service.deps import SessionDep, SettingsDep
from service.errors import Conflict, NotFound
from service.models import Project, Run, RunStatus, SuspectStatus, utcnow
from service.routes.runs import start_run
from service.routes.suspects import create_suspect, delete_suspect, export_suspects, update_suspect
from service.routes.suspects import list_suspects as api_list_suspects
from service.run_access import ANALYSTS
from service.run_views import run_public
from service.schemas import INT32_MAX, RunCreate, SuspectCreate, SuspectUpdate
from service.store import runs as runs_store
from service.store import uploads as uploads_store
from service.store.keys import key_epochs
from service.web import analyst_data as data
from service.web import charts
from service.web.access import page_project
from service.web.areas import Area, page_router
from service.web.i18n import language_of, translator
from service.web.rendering import render
from service.web.sessions import Browser, BrowserDep

router = page_router("analyst")
AREA = Area(
    "analyst",
    router,
    project_pages=dict.fromkeys(ANALYSTS, "/app/analyst/projects/{project_id}"),
)
ProjectDep = Annotated[Project, Depends(page_project(*ANALYSTS))]
_BASE = "/app/analyst/projects/{project_id}"
_NOTE_CHARS = 4000  # as the API's SuspectCreate


def _base(project: Project) -> str:
    return _BASE.format(project_id=project.id)


def _run(session: Session, project: Project, run_id: uuid.UUID) -> Run:
    run = runs_store.find_run(session, project.id, run_id)
    if run is None:
        raise NotFound("run")
    return run


def _finished(session: Session, project: Project, run_id: uuid.UUID) -> Run:
    run = _run(session, project, run_id)
    if run.status is not RunStatus.SUCCEEDED:
        raise Conflict(f"the run is {run.status.value}; hits exist once it has succeeded")
    return run


def _page(request: Request, browser: Browser, template: str, **context: Any) -> Response:
    return render(request, f"analyst/{template}", context, browser=browser)


# Overview and runs -----------------------------------------------------------------------


@router.get("/projects/{project_id}")
def project_page(
    request: Request, project: ProjectDep, browser: BrowserDep, session: SessionDep
) -> Response:
    """The project at a glance: agencies, their uploads, the key epoch, expiry, runs."""
    uploads = uploads_store.list_uploads(session, project_id=project.id, agency_id=None)
    epochs = {check: epoch for epoch, check in key_epochs(session, project.id).items()}
    runs = runs_store.list_runs(session, project.id)
    names = data.principal_names(
        session, [u.uploaded_by for u, _ in uploads] + [r.started_by for r in runs]
    )
    by_agency: dict[str, list[Any]] = {agency.name: [] for agency in project.agencies}
    for upload, agency in uploads:
        by_agency.setdefault(agency, []).append(upload)
    return _page(
        request,
        browser,
        "project.html",
        project=project,
        base=_base(project),
        uploads=by_agency,
        epochs=epochs,
        names=names,
        runs=[(run, run_public(run, project, None)) for run in runs],
        days_left=_days_left(project.expires_at),
    )


def _days_left(expires_at: datetime) -> int:
    return max(0, math.ceil((expires_at - utcnow()).total_seconds() / 86400))


@router.post("/projects/{project_id}/runs")
def start_run_page(
    request: Request,
    project: ProjectDep,
    browser: BrowserDep,
    session: SessionDep,
    settings: SettingsDep,
    threshold: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Start a run (the API's POST .../runs), then watch it."""
    try:
        body = RunCreate(threshold=float(threshold) if threshold.strip() else None)
    except (ValueError, ValidationError) as err:  # the API's bounds: above 0, at most 1
        raise RequestValidationError(
            [{"loc": ("body", "threshold"), "msg": "a number above 0, at most 1", "type": "value"}]
        ) from err
    run = start_run(body, project, browser.principal, session, settings, request)
    return RedirectResponse(f"{_base(project)}/runs/{run.id}", status_code=303)


@router.get("/projects/{project_id}/runs/{run_id}")
def run_page(
    request: Request,
    project: ProjectDep,
    browser: BrowserDep,
    session: SessionDep,
    run_id: uuid.UUID,
) -> Response:
    """A run's stages while it works (the page follows it), its counts once done."""
    run = _run(session, project, run_id)
    public = run_public(run, project, None)
    succeeded = run.status is RunStatus.SUCCEEDED
    previous = runs_store.previous_succeeded(session, run) if succeeded else None
    changes = None
    if previous is not None:
        found = data.hit_changes(session, previous.id, run.id)
        changes = {kind: len(getattr(found, kind)) for kind in (*data.CHANGES, "gone")}
    return _page(
        request,
        browser,
        "run.html",
        project=project,
        base=_base(project),
        run=public,
        stages=_stages(public.stage, public.status.value),
        previous=previous,
        changes=changes,
    )


_STAGES = ("queued", "starting", "comparing", "choosing threshold", "grouping", "matched", "done")


def _stages(stage: str, status: str) -> list[tuple[str, str]]:
    """The run's stages as (name, state): done, current or todo."""
    if status == "succeeded":
        return [(name, "done") for name in _STAGES]
    current = next((i for i, name in enumerate(_STAGES) if stage.startswith(name)), 1)
    return [
        (name, "done" if i < current else "current" if i == current else "todo")
        for i, name in enumerate(_STAGES)
    ]


@router.get("/projects/{project_id}/runs/{run_id}/status")
def run_status(
    request: Request,
    project: ProjectDep,
    browser: BrowserDep,
    session: SessionDep,
    run_id: uuid.UUID,
) -> Response:
    """The run's stage and progress, for the run page to follow (polled every 2 s)."""
    public = run_public(_run(session, project, run_id), project, None)
    return _page(
        request,
        browser,
        "run_status.html",
        run=public,
        stages=_stages(public.stage, public.status.value),
    )


# Hits ------------------------------------------------------------------------------------


@router.get("/projects/{project_id}/runs/{run_id}/hits")
def hits_page(
    request: Request,
    project: ProjectDep,
    browser: BrowserDep,
    session: SessionDep,
    run_id: uuid.UUID,
    agency: Annotated[list[uuid.UUID], Query()] = [],  # noqa: B006 - FastAPI's list default
    min_agencies: Annotated[int, Query(ge=0, le=100)] = 0,
    min_score: Annotated[str, Query(max_length=20)] = "",  # a form's empty field: no filter
    agreed: Annotated[list[str], Query(max_length=80)] = [],  # noqa: B006
    change: Annotated[str, Query(pattern="^(|new|grown|changed|unchanged)$")] = "",
    sort: Annotated[str, Query(pattern="^(number|score|agencies)$")] = "number",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    size: Annotated[int, Query(ge=10, le=200)] = data.PAGE_SIZE,
) -> Response:
    """The run's hits: filtered, sorted, a page at a time, compared with the previous run."""
    run = _finished(session, project, run_id)
    wanted = data.HitFilter(
        agencies=tuple(a for a in agency if a in set(project.agency_ids)),
        min_agencies=min_agencies,
        min_score=_score(min_score),
        agreed=tuple(agreed),
        change=change,
        sort=sort,
    )
    found = data.find_hits(session, run.id, wanted)
    previous = runs_store.previous_succeeded(session, run)
    kinds: dict[int, str] = {}
    gone: dict[int, Any] = {}
    if previous is not None:
        changes = data.hit_changes(session, previous.id, run.id)
        kinds = data.change_of(changes)
        gone = data.gone_hits(session, previous.id, changes.gone[: data.PAGE_SIZE])
        gone_count = len(changes.gone)
    else:
        gone_count = 0
    if change:
        found = [hit for hit in found if kinds.get(hit.number) == change]
    pages = max(1, math.ceil(len(found) / size))
    page = min(page, pages)
    shown = found[(page - 1) * size : page * size]
    views = data.hit_views(session, run.id, [hit.number for hit in shown])
    request.state.audit_records = len(shown)
    query = _query(request)
    comparisons = data.comparisons_of(run.report or {}) or _agreed_names(found)
    return _page(
        request,
        browser,
        "hits.html",
        project=project,
        base=_base(project),
        run=run,
        hits=[(hit, views[hit.number], kinds.get(hit.number)) for hit in shown],
        total=len(found),
        page=page,
        pages=pages,
        link=lambda number: f"?{urlencode({**query, 'page': number}, doseq=True)}",
        wanted=wanted,
        chosen_agencies={str(a) for a in wanted.agencies},
        agency_options=[(str(a.id), a.name) for a in project.agencies],
        count_options=[(n, str(n)) for n in range(2, len(project.agencies) + 1)],
        comparisons=comparisons,
        comparison_options=[(name, name) for name in comparisons],
        previous=previous,
        gone=gone,
        gone_count=gone_count,
    )


def _score(text: str) -> float:
    """A score filter from a form field: empty for none, else a number from 0 to 1."""
    try:
        value = float(text) if text.strip() else 0.0
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise RequestValidationError(
            [{"loc": ("query", "min_score"), "msg": "a number from 0 to 1", "type": "value"}]
        )
    return value


def _query(request: Request) -> dict[str, list[str]]:
    query: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        if key != "page":
            query.setdefault(key, []).append(value)
    return query


def _agreed_names(hits: list[data.HitSummary]) -> list[str]:
    return sorted({name for hit in hits for name in hit.agreed})


@router.get("/projects/{project_id}/runs/{run_id}/hits/{number}")
def hit_page(
    request: Request,
    project: ProjectDep,
    browser: BrowserDep,
    session: SessionDep,
    run_id: uuid.UUID,
    number: Annotated[int, Path(ge=1, le=INT32_MAX)],
    link: Annotated[int, Query(ge=0, le=100_000)] = -1,
) -> Response:
    """One hit: its members, its links, and why the chosen link was made (a waterfall)."""
    run = _finished(session, project, run_id)
    hit = data.stored_hit(session, run.id, number)
    if hit is None:
        raise NotFound("hit")
    view = data.hit_views(session, run.id, [number])[number]
    report = run.report or {}
    chosen = link if 0 <= link < len(hit.links) else _best_link(hit.links)
    stored = hit.links[chosen]
    agreed = data.agreed_on_link(stored, hit.agreed_fields)
    explanation = (
        len(stored) > 4 and data.explain_levels(report, float(stored[2]), str(stored[4]))
    ) or data.explain(report, float(stored[2]), agreed)
    request.state.audit_records = 1
    suspects = api_list_suspects(project, session, request)  # the API's view of the list
    listed = next((s for s in suspects.items if s.hit_id == hit.id), None)
    t = translator(language_of(request))
    chart = _waterfall(explanation, t) if explanation else None
    return _page(
        request,
        browser,
        "hit.html",
        project=project,
        base=_base(project),
        run=run,
        hit=hit,
        view=view,
        links=[
            (index, stored_link, data.agreed_on_link(stored_link, hit.agreed_fields))
            for index, stored_link in enumerate(hit.links)
        ],
        chosen=chosen,
        explanation=explanation,
        chart=chart,
        fields=report.get("scoring") == "fields",
        listed=listed,
        statuses=[status.value for status in SuspectStatus],
        logit=data.logit2,
    )


def _best_link(links: list[list[Any]]) -> int:
    return max(range(len(links)), key=lambda index: (float(links[index][2]), -index))


def _waterfall(explanation: data.Explanation, t: Callable[..., str]) -> Any:
    steps = [
        charts.Bar(
            step.comparison,
            step.weight or 0.0,
            t("analyst.hit.level." + step.level)
            if explanation.exact
            else t("analyst.hit.level_agree"),
        )
        for step in explanation.steps
    ]
    if explanation.exact:
        steps.append(charts.Bar(t("analyst.hit.chance"), explanation.remainder, ""))
    elif explanation.not_agreed:
        steps.append(charts.Bar(t("analyst.hit.other_comparisons"), explanation.remainder, ""))
    return charts.waterfall(
        "waterfall",
        charts.Bar(t("analyst.hit.prior"), explanation.prior_weight),
        steps,
        t("analyst.hit.total"),
        title=t("analyst.hit.waterfall_title"),
        description=t(
            "analyst.hit.waterfall_desc",
            prior=f"{explanation.prior_weight:+.1f}",
            total=f"{explanation.total:+.1f}",
        ),
    )


# Suspects --------------------------------------------------------------------------------


@router.post("/projects/{project_id}/suspects")
def shortlist(
    request: Request,
    project: ProjectDep,
    browser: BrowserDep,
    session: SessionDep,
    hit_id: Annotated[uuid.UUID, Form()],
    status: Annotated[SuspectStatus, Form()] = SuspectStatus.NEW,
    note: Annotated[str, Form(max_length=_NOTE_CHARS)] = "",
) -> Response:
    """Put a hit on the suspect list (the API's POST .../suspects)."""
    body = SuspectCreate(hit_id=hit_id, status=status, note=note)
    create_suspect(body, project, browser.principal, session, request)
    return RedirectResponse(f"{_base(project)}/suspects", status_code=303)


@router.get("/projects/{project_id}/suspects")
def suspects_page(
    request: Request, project: ProjectDep, browser: BrowserDep, session: SessionDep
) -> Response:
    """The suspect list with status and notes, its export, and how to open identities."""
    suspects = api_list_suspects(project, session, request)  # sets the audit's record count
    return _page(
        request,
        browser,
        "suspects.html",
        project=project,
        base=_base(project),
        suspects=suspects.items,
        statuses=[status.value for status in SuspectStatus],
        hit_numbers=sorted({s.hit_number for s in suspects.items}),
        runs={s.run_id for s in suspects.items},
    )


@router.post("/projects/{project_id}/suspects/{suspect_id}")
def change_suspect(
    request: Request,
    project: ProjectDep,
    browser: BrowserDep,
    session: SessionDep,
    suspect_id: uuid.UUID,
    status: Annotated[SuspectStatus, Form()],
    note: Annotated[str, Form(max_length=_NOTE_CHARS)] = "",
) -> Response:
    """Change a suspect's status and note (the API's PATCH .../suspects/{id})."""
    update_suspect(suspect_id, SuspectUpdate(status=status, note=note), project, session, request)
    return RedirectResponse(f"{_base(project)}/suspects#suspect-{suspect_id}", status_code=303)


@router.post("/projects/{project_id}/suspects/{suspect_id}/remove")
def remove_suspect(
    request: Request,
    project: ProjectDep,
    browser: BrowserDep,
    session: SessionDep,
    suspect_id: uuid.UUID,
) -> Response:
    """Take a hit off the suspect list (the API's DELETE .../suspects/{id})."""
    delete_suspect(suspect_id, project, session, request)
    return RedirectResponse(f"{_base(project)}/suspects", status_code=303)


@router.get("/projects/{project_id}/suspects/export.csv")
def export_suspects_page(
    request: Request, project: ProjectDep, browser: BrowserDep, session: SessionDep
) -> Response:
    """The suspect list as CSV for the RIEC case file (the API's export, as it is)."""
    return export_suspects(project, session, request, file_format="csv")


# Quality ---------------------------------------------------------------------------------


@router.get("/projects/{project_id}/runs/{run_id}/quality")
def quality_page(
    request: Request,
    project: ProjectDep,
    browser: BrowserDep,
    session: SessionDep,
    run_id: uuid.UUID,
    family: Annotated[str, Query(max_length=80)] = "",
) -> Response:
    """Learned weights, the score histogram, precision and recall per threshold, overlap."""
    run = _finished(session, project, run_id)
    report = run.report or {}
    fields = report.get("scoring") == "fields"
    threshold = float(report.get("threshold", run.threshold or 0.0))
    compared = data.candidate_histogram(report)  # every compared pair, in newer runs
    stored_cuts = data.report_cuts(report)
    # Older runs kept neither: read every stored link's score instead (a whole run's links).
    scores = data.link_scores(session, run.id) if compared is None or stored_cuts is None else []
    counts, edges = compared or data.score_histogram(scores, fields=fields, threshold=threshold)
    related = data.class_table(report)  # salted runs: weights against the related class
    table = related or data.weight_table(report)
    families = sorted(
        {row[0] for levels in table.values() for rows in levels.values() for row in rows}
    )
    family = family if family in families else (families[0] if families else "")
    t = translator(language_of(request))
    agency_ids = [str(agency.id) for agency in project.agencies]
    names = {str(agency.id): agency.name for agency in project.agencies}
    shared = data.overlap(session, run.id, agency_ids)
    return _page(
        request,
        browser,
        "quality.html",
        project=project,
        base=_base(project),
        run=run,
        public=run_public(run, project, None),
        report=report,
        fields=fields,
        threshold=threshold,
        table=table,
        families=families,
        family=family,
        weights_chart=_weights_chart(table, family, t, related=bool(related)) if table else None,
        related=bool(related),
        histogram=charts.histogram(
            "scores",
            counts,
            edges,
            title=t("analyst.quality.histogram_title"),
            description=t(
                "analyst.quality.compared_desc" if compared else "analyst.quality.histogram_desc",
                links=len(scores),
                pairs=sum(counts),
            ),
            marker=data.logit2(threshold) if fields else threshold,
            marker_label=t("analyst.quality.threshold_marker", threshold=f"{threshold:.3f}"),
            axis_label=t("analyst.quality.axis_bits" if fields else "analyst.quality.axis_dice"),
            digits=0 if fields else 2,
        ),
        links=len(scores),
        compared=compared is not None,
        compared_pairs=sum(counts) if compared else 0,
        from_stored_links=stored_cuts is None,
        cuts=stored_cuts
        if stored_cuts is not None
        else data.cuts(scores, threshold=threshold, recall=report.get("estimated_recall"))
        if fields
        else [],
        overlap=shared,
        names=names,
        combinations=[
            (" + ".join(names.get(a, a) for a in found), count)
            for found, count in shared.combinations
        ],
        logit_of=data.logit2,
    )


def _weights_chart(
    table: dict[str, dict[str, list[tuple[str, float, float, float]]]],
    family: str,
    t: Callable[..., str],
    *,
    related: bool,
) -> Any:
    other = "r" if related else "u"
    items = [
        charts.Bar(f"{comparison} · {level}", row[3], f"m {row[1]:.3f} · {other} {row[2]:.4f}")
        for comparison, levels in table.items()
        for level, rows in levels.items()
        for row in rows
        if row[0] == family
    ]
    return charts.bars(
        "weights",
        items,
        title=t("analyst.quality.weights_title"),
        description=t("analyst.quality.weights_desc"),
        label_width=260,
    )
