"""A run as a caller may see it: counts by agency name; data officers see their own only."""

import uuid
from typing import Any

from service.models import Project, Run, RunStatus
from service.schemas import RunChanges, RunPublic


def run_public(run: Run, project: Project, own_agency: uuid.UUID | None) -> RunPublic:
    """The API view of a run.

    Args:
        run: The run.
        project: Its project, whose agencies name the report's agency ids.
        own_agency: For a data officer, the own agency: records and hit count are then
            the own agency's only (others' counts are as private as their uploads), and
            neither the upload that queued the run nor the changes since the previous run
            (counted over every agency's hits) are shown.
    """
    report: dict[str, Any] = run.report or {}
    names = {str(agency.id): agency.name for agency in project.agencies}
    records: dict[str, int] = report.get("records", {})
    by_agency: dict[str, int] = report.get("hits_by_agency", {})
    hit_count = run.hit_count
    team = own_agency is None
    if own_agency is not None:
        records = {key: count for key, count in records.items() if key == str(own_agency)}
        if run.status is RunStatus.SUCCEEDED:
            hit_count = by_agency.get(str(own_agency), 0)
    return RunPublic(
        id=run.id,
        project_id=run.project_id,
        status=run.status,
        stage=run.stage,
        progress=run.progress,
        attempts=run.attempts,
        threshold=report.get("threshold", run.threshold),
        min_agencies=run.min_agencies,
        records={names.get(key, key): count for key, count in records.items()},
        hit_count=hit_count,
        estimated_precision=report.get("estimated_precision"),
        estimated_recall=report.get("estimated_recall"),
        recall_basis=report.get("recall_basis"),
        recall_interval=_interval(report.get("recall_interval")),
        error=run.error,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        trigger="watch" if run.trigger_upload_id is not None else "analyst",
        trigger_upload_id=run.trigger_upload_id if team else None,
        changes=RunChanges.model_validate(run.changes) if team and run.changes else None,
    )


def _interval(value: object) -> tuple[float, float] | None:
    """The stored [low, high] of a run's recall estimate, if it has one."""
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return float(value[0]), float(value[1])
    return None
