"""Sealed batch objects no upload references are removed: at start-up and with each purge sweep.

A replace or delete commits its row change first and removes the old sealed object after
(`service.routes.uploads`), so a failed removal never leaves a row without its blob. A
process killed between the two leaves the old object behind, referenced by nothing; the
retention promise (purge and delete really delete) needs it gone. `remove_orphans` lists the
batch objects, then reads which keys the upload rows reference, and deletes the objects
that are unreferenced and older than a grace period.

Why this does not remove a live upload's object, in this process or another one: an upload
seals its object before it commits its row (and a half-written object is a `.partial` file
or an unfinished multipart upload, never listed). Listing comes first, so an upload whose
row commits before the rows are read is seen as referenced; one that has not committed by
then wrote its object moments ago, younger than the grace period (an hour by default,
`Settings.orphan_grace_s`; sealing to commit takes seconds, and an S3 multipart object
carries its upload's start, so a batch sealing for longer than the grace period is the one
case it does not cover). Removal is idempotent, like the route's own. Only counts are
logged and audited: the keys are upload ids, not data.
"""

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, load_only

from service.audit_writer import AuditWriter
from service.batches import blob_key
from service.models import Upload, utcnow
from service.objects import ObjectStore
from service.request_ids import new_request_id
from service.store.audit import EntryDraft

logger = logging.getLogger(__name__)

BATCH_PREFIX = "uploads/"  # where `service.batches.blob_key` puts every sealed batch
ORPHANS_ACTION = "storage-remove_orphans"  # the audit entry's action, with the count removed
_APPEND_SECONDS = 60.0

SessionFactory = Callable[[], Session]


def remove_orphans(
    sessions: SessionFactory, objects: ObjectStore, *, grace: timedelta, now: datetime | None = None
) -> int:
    """Delete the batch objects no upload row references, written more than `grace` ago.

    Returns:
        How many objects were removed.
    """
    cutoff = (now or datetime.now(UTC)) - grace
    listed = objects.stored(BATCH_PREFIX)  # before the rows: see the module docstring
    old = sorted(key for key, written in listed.items() if written < cutoff)
    if not old:
        return 0
    referenced = _referenced_keys(sessions)
    removed = 0
    for key in old:
        if key not in referenced:
            objects.delete(key)
            removed += 1
    return removed


def sweep_orphans(
    sessions: SessionFactory, objects: ObjectStore, writer: AuditWriter, *, grace: timedelta
) -> int:
    """`remove_orphans`, then log and audit how many went (when any did)."""
    removed = remove_orphans(sessions, objects, grace=grace)
    if removed:
        logger.warning("removed %d sealed batch objects no upload referenced", removed)
        writer.append(_entry(removed)).result(timeout=_APPEND_SECONDS)
    return removed


def _referenced_keys(sessions: SessionFactory) -> set[str]:
    with sessions() as session:
        rows = session.scalars(select(Upload).options(load_only(Upload.id, Upload.digest)))
        return {blob_key(upload) for upload in rows}


def _entry(removed: int) -> EntryDraft:
    return EntryDraft(
        at=utcnow(),
        request_id=new_request_id(),
        principal_id=None,
        agency_id=None,
        role="hub",
        action=ORPHANS_ACTION,
        method="SCHEDULE",
        project_id=None,
        resource=None,
        outcome=200,
        records=removed,
    )
