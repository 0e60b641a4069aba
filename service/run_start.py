"""Queueing a matching run: the checks every new run passes, whoever asks for it.

An analyst starts a run (`POST .../runs`); the standing watch queues one when a batch is
added or replaced (`service.watch`). Both go through here, so an automatic run obeys the
same rules as an analyst's: uploads of at least k agencies, one key epoch, and at most
`max_active_runs_per_project` runs queued or running (`service.limits` has the request
limits; this cap keeps one project from starving the others).
"""

import uuid

from sqlalchemy.orm import Session

from service.epochs import check_one_epoch
from service.errors import Conflict, RunQueueFull
from service.models import Project, Run
from service.store import runs as store
from service.store.keys import key_epochs
from service.store.runs import UploadLabel

RUN_QUEUE_RETRY_S = 60


def startable_uploads(session: Session, project: Project, *, most_active: int) -> list[UploadLabel]:
    """The uploads a new run of the project would match, once every check passed.

    Raises:
        Conflict: Uploads of fewer than k agencies, or of several key epochs.
        RunQueueFull: The project has `most_active` runs queued or running.
    """
    uploads = store.upload_labels(session, project.id)
    agencies = {upload.agency_id for upload in uploads}
    if len(agencies) < project.min_agencies:
        raise Conflict(
            f"uploads of {len(agencies)} agencies; this project needs {project.min_agencies}"
        )
    check_one_epoch(uploads, project, key_epochs(session, project.id))
    if store.count_active_runs(session, project.id) >= most_active:
        raise RunQueueFull(
            f"the project has {most_active} runs queued or running; start another when one is done",
            retry_after_s=RUN_QUEUE_RETRY_S,
        )
    return uploads


def queue_run(
    session: Session,
    project: Project,
    uploads: list[UploadLabel],
    *,
    started_by: uuid.UUID,
    threshold: float | None,
    run_id: uuid.UUID | None = None,
    trigger_upload_id: uuid.UUID | None = None,
) -> Run:
    """Add the run over these uploads, queued (flushed; the caller commits and wakes workers)."""
    return store.add_run(
        session,
        project_id=project.id,
        started_by=started_by,
        threshold=threshold,
        min_agencies=project.min_agencies,
        upload_ids=[upload.upload_id for upload in uploads],
        upload_digests={str(upload.upload_id): upload.digest for upload in uploads},
        run_id=run_id,
        trigger_upload_id=trigger_upload_id,
    )
