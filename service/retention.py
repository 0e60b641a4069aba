"""The retention purge end to end: by an administrator, or on the hub's own schedule.

`purge_project` is the one way a project is purged (service.purge says what goes): under
the purge lock, the project is checked again (a purge another process finished answers
its receipt), the counts are logged in the audit log, one entry per kind (`purge-<kind>`),
before anything is deleted; then the data goes and the signed receipt is stored, in one
commit. The lock is held by one purge at a time across hub processes: a process lock, a
PostgreSQL advisory lock held by the purge's transaction, and on SQLite a lock file beside
the database (not the audit writer's: the purge waits for its own entries).

`purge_schedule` runs in every hub process (settings `purge_interval_s`, 0: off): at
start-up and then every interval it purges each project whose expiry passed more than
`purge_grace_days` ago, with the same entries and receipt as `fieldlink admin purge`; the
entries name the hub itself (role "hub", no principal, no token) and the action
`retention-purge_project`, as an administrator's request would.
"""

import fcntl
import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.orm import Session

from service import orphans, purge
from service.audit_writer import AuditWriter
from service.auth import Principal
from service.config import Settings
from service.hub_keys import HubKeys
from service.models import Project, utcnow
from service.objects import ObjectStore
from service.request_ids import new_request_id
from service.store import retention as store
from service.store.audit import EntryDraft

logger = logging.getLogger(__name__)

PURGE_ACTION = "retention-purge_project"  # the operation id of POST .../purge
SCHEDULE_ROLE = "hub"  # the audit entries' role when the hub purges on its schedule
_APPEND_SECONDS = 60.0
# pg_advisory_xact_lock(class, object): "fl" + "pu", and the schema, as the audit chain's.
_LOCK_CLASS = 0x666C7075
_PROCESS_LOCK = threading.Lock()

SessionFactory = Callable[[], Session]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who purges, as the audit entries name it: an administrator's request, or the hub."""

    request_id: str
    method: str
    principal_id: uuid.UUID | None = None
    agency_id: uuid.UUID | None = None
    role: str = SCHEDULE_ROLE
    token_id: uuid.UUID | None = None

    @classmethod
    def caller(cls, principal: Principal, request_id: str) -> "Actor":
        """An administrator purging through the API, with the token that acted."""
        return cls(
            request_id=request_id,
            method="POST",
            principal_id=principal.principal_id,
            agency_id=principal.agency_id,
            role=principal.role.value,
            token_id=principal.token_id,
        )

    @classmethod
    def schedule(cls) -> "Actor":
        """The hub itself, purging on its schedule."""
        return cls(request_id=new_request_id(), method="SCHEDULE")


@dataclass(frozen=True, slots=True, repr=False)
class PurgeContext:
    """What a purge needs from the hub."""

    writer: AuditWriter
    keys: HubKeys
    objects: ObjectStore

    @classmethod
    def of(cls, app: FastAPI) -> "PurgeContext":
        """The running hub's audit writer, keys and blob store."""
        return cls(
            writer=app.state.audit_writer, keys=app.state.hub_keys, objects=app.state.objects
        )


@dataclass(frozen=True, slots=True)
class Purged:
    """A purge's signed receipt, and whether this call did it (False: done before)."""

    receipt: dict[str, object]
    now: bool
    records: int  # the items deleted, all kinds together


def purge_project(
    session: Session, project: Project, *, context: PurgeContext, actor: Actor
) -> Purged:
    """Purge an expired project (the caller checked the expiry) and answer its receipt.

    Commits. A project purged already, by another call or process, answers its receipt.
    """
    with _purge_lock(session):
        session.refresh(project)  # a purge that held the lock before us may have finished
        stored = store.find_receipt(session, project.id)
        if stored is not None:
            return Purged(json.loads(stored.document), now=False, records=0)
        now = utcnow()
        planned = purge.plan(
            session, project, objects=context.objects, keyring=context.keys.storage
        )
        sequences = _log_counts(context.writer, actor, project, planned.counts)
        purge.execute(session, project, planned, objects=context.objects, now=now)
        document = purge.receipt(
            project, planned.counts, audit_sequences=sequences, keys=context.keys, now=now
        )
        store.add_receipt(session, project.id, document=purge.as_text(document), now=now)
        session.commit()
    return Purged(document, now=True, records=sum(planned.counts.values()))


def sweep(sessions: SessionFactory, context: PurgeContext, *, grace: timedelta) -> int:
    """Purge every project whose expiry passed more than `grace` ago; how many were purged.

    A project that fails is logged (by the error's type) and tried again next time.
    """
    with sessions() as session:
        due = store.due_for_purge(session, expired_before=utcnow() - grace)
    purged = 0
    for project_id in due:
        try:
            purged += _purge_one(sessions, context, project_id)
        except Exception as exc:  # one project's failure must not stop the others
            logger.error("scheduled purge of project %s failed: %s", project_id, type(exc).__name__)
    return purged


def _purge_one(sessions: SessionFactory, context: PurgeContext, project_id: uuid.UUID) -> int:
    actor = Actor.schedule()
    with sessions() as session:
        project = session.get(Project, project_id)
        if project is None:
            return 0
        done = purge_project(session, project, context=context, actor=actor)
    if not done.now:
        return 0
    # The entry an administrator's request gets from the audit middleware, after the purge.
    _append(context.writer, _draft(actor, project_id, PURGE_ACTION, done.records))
    logger.info("project %s purged on schedule: %d items deleted", project_id, done.records)
    return 1


class PurgeSchedule:
    """A thread that sweeps at start and then every interval, until stopped."""

    def __init__(self, sweep_once: Callable[[], int], *, interval_s: float) -> None:
        self.sweep_once = sweep_once
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="purge-schedule", daemon=True)

    def start(self) -> None:
        """Start sweeping (the first sweep runs at once, in the thread)."""
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the sweep under way, if any."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sweep_once()
            except Exception as exc:  # the database is away: log, wait, try again
                logger.error("purge schedule: %s", type(exc).__name__)
            self._stop.wait(self.interval_s)


@contextmanager
def purge_schedule(app: FastAPI) -> Iterator[PurgeSchedule | None]:
    """Run the hub's purge schedule while it serves (settings.purge_interval_s; 0: none).

    Each sweep then removes sealed batch objects no upload references (service.orphans).

    Needs the audit writer running: enter it inside `service.audit.audit_writer`.
    """
    settings: Settings = app.state.settings
    if settings.purge_interval_s <= 0:
        yield None
        return
    context = PurgeContext.of(app)
    grace = timedelta(days=settings.purge_grace_days)
    orphan_grace = timedelta(seconds=settings.orphan_grace_s)

    def sweep_once() -> int:
        purged = sweep(app.state.sessions, context, grace=grace)
        orphans.sweep_orphans(
            app.state.sessions, context.objects, context.writer, grace=orphan_grace
        )
        return purged

    schedule = PurgeSchedule(sweep_once, interval_s=settings.purge_interval_s)
    schedule.start()
    try:
        yield schedule
    finally:
        schedule.stop()


def _log_counts(
    writer: AuditWriter, actor: Actor, project: Project, counts: dict[str, int]
) -> list[int]:
    # One chain entry per kind of data, committed before anything is deleted.
    futures = [
        writer.append(_draft(actor, project.id, f"purge-{kind}", count))
        for kind, count in sorted(counts.items())
    ]
    return [future.result(timeout=_APPEND_SECONDS) for future in futures]


def _append(writer: AuditWriter, draft: EntryDraft) -> int:
    return writer.append(draft).result(timeout=_APPEND_SECONDS)


def _draft(actor: Actor, project_id: uuid.UUID, action: str, records: int) -> EntryDraft:
    return EntryDraft(
        at=utcnow(),
        request_id=actor.request_id,
        principal_id=actor.principal_id,
        agency_id=actor.agency_id,
        role=actor.role,
        action=action,
        method=actor.method,
        project_id=project_id,
        resource=f"/v1/projects/{project_id}/purge",
        outcome=200,
        records=records,
        token_id=actor.token_id,
    )


@contextmanager
def _purge_lock(session: Session) -> Iterator[None]:
    # One purge at a time: in this process, across PostgreSQL clients (held until the
    # purge's transaction ends), and across processes sharing a SQLite file.
    with _PROCESS_LOCK, _sqlite_file_lock(session):
        connection = session.connection()
        if connection.dialect.name == "postgresql":
            lock = text("SELECT pg_advisory_xact_lock(:lock_class, hashtext(current_schema()))")
            connection.execute(lock, {"lock_class": _LOCK_CLASS})
        yield


@contextmanager
def _sqlite_file_lock(session: Session) -> Iterator[None]:
    engine = session.get_bind().engine
    database = engine.url.database
    if engine.dialect.name != "sqlite" or database in (None, "", ":memory:"):
        yield
        return
    descriptor = os.open(Path(f"{database}.purge-lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock
