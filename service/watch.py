"""The standing watch: a project re-runs by itself when a batch is added or replaced.

An analyst of the team turns it on or off (`PUT /v1/projects/{id}/watch`, `fieldlink
project watch on`). While it is on, every batch the hub accepts into the project - a new
upload, or a replacement with other content - queues a run over the project's uploads,
as if an analyst had started it at that moment and through the same checks
(`service.run_start`: uploads of k agencies, one key epoch, at most the project's cap of
runs queued or running). The same file uploaded again is no change and queues nothing;
neither does a deletion (fewer records, nothing new to find: an analyst starts that run).

Each automatic run has an audit entry of its own, committed before the run is stored:
action `runs-start_run_on_watch`, the uploading data officer and token as the actor, the
upload request's id, and as resource the run with the upload that queued it
(`/v1/projects/P/runs/R?upload=U`); outcome 202, or the status the checks answered (409,
429) when no run was queued. The upload's answer says what the watch did
(`UploadPublic.watch`); once the run succeeded, it says what changed since the previous
one (`service.run_changes`).
"""

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from service.audit_writer import AuditWriter
from service.auth import Principal
from service.errors import Conflict, RateLimited
from service.models import Project, utcnow
from service.run_start import queue_run, startable_uploads
from service.schemas import WatchOutcome
from service.store.audit import EntryDraft

ACTION = "runs-start_run_on_watch"
_APPEND_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Trigger:
    """An upload the hub has just committed to a watched project, and who made it."""

    project: Project
    upload_id: uuid.UUID
    officer: Principal
    request_id: str  # the upload request's: ties the run's audit entry to the upload's


def after_upload(
    session: Session, trigger: Trigger, *, most_active: int, writer: AuditWriter
) -> WatchOutcome:
    """Queue the watch's run for this upload (committed), or say why none was queued.

    The caller wakes the run workers when a run was queued.
    """
    project = trigger.project
    try:
        uploads = startable_uploads(session, project, most_active=most_active)
    except (Conflict, RateLimited) as refused:
        session.commit()  # nothing written: ends the read before the audit writer's turn
        _audit(writer, trigger, run_id=None, outcome=refused.status)
        return WatchOutcome(run_id=None, reason=refused.detail or refused.title)
    session.commit()
    run_id = uuid.uuid4()
    # The entry first, and no transaction of this session open meanwhile: the audit
    # writer's must not wait for it (SQLite has one writer at a time).
    _audit(writer, trigger, run_id=run_id, outcome=202)
    queue_run(
        session,
        project,
        uploads,
        started_by=trigger.officer.principal_id,
        threshold=project.threshold,
        run_id=run_id,
        trigger_upload_id=trigger.upload_id,
    )
    session.commit()
    return WatchOutcome(run_id=run_id)


def _audit(
    writer: AuditWriter, trigger: Trigger, *, run_id: uuid.UUID | None, outcome: int
) -> None:
    officer, project = trigger.officer, trigger.project
    run = f"/{run_id}" if run_id is not None else ""
    entry = EntryDraft(
        at=utcnow(),
        request_id=trigger.request_id,
        principal_id=officer.principal_id,
        agency_id=officer.agency_id,
        role=officer.role.value,
        action=ACTION,
        method="POST",
        project_id=project.id,
        resource=f"/v1/projects/{project.id}/runs{run}?upload={trigger.upload_id}",
        outcome=outcome,
        records=None,
        token_id=officer.token_id,
    )
    writer.append(entry).result(timeout=_APPEND_SECONDS)
