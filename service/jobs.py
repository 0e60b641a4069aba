"""Matching runs in the background: worker threads in the hub, comparisons on Dask if set.

Workers take queued runs from the database, so every hub process may run workers: a
claim is a conditional UPDATE (`store.runs.claim`) that only one process wins. A run
being executed carries a heartbeat; a `running` run whose heartbeat went stale was left
by a process that died, and is requeued (or failed after `MAX_ATTEMPTS` executions) at
start-up and by the workers' periodic sweep, never silently lost.

The hits of a run are written in the same transaction as its final status, after the
ownership check, so a run has either all of its hits or none, and a re-executed run
replaces whatever an earlier attempt may have left.
"""

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from itertools import chain
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy.orm import Session

from linkage.hits import Hits
from linkage.match.engine import Runner, run_here
from linkage.spill import SpillSettings
from service.config import Settings
from service.hit_views import stored_hits
from service.hub_keys import Keyring
from service.matching import RunInputMissing, load_batches, match_run, safe_error
from service.metrics import HubMetrics
from service.models import Run, utcnow
from service.objects import ObjectStore
from service.run_changes import count_changes
from service.run_clock import RunClock
from service.store import hits as hits_store
from service.store import runs as runs_store
from service.tracing import Tracing

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0
STALE_AFTER = timedelta(minutes=2)  # eight missed heartbeats: the process is gone
POLL_SECONDS = 2.0  # how often idle workers look for runs queued by other processes
SWEEP_SECONDS = 30.0  # how often idle workers look for runs of dead processes
PROGRESS_SECONDS = 0.5  # at most this often a progress write, besides stage changes
_MATCHED_SHARE = 0.9  # of a run's progress; storing the hits is the rest

SessionFactory = Callable[[], Session]


@dataclass(frozen=True, slots=True, repr=False)
class JobContext:
    """What executing a run needs from the hub."""

    sessions: SessionFactory
    objects: ObjectStore  # where the sealed uploads are
    keyring: Keyring  # the storage keyring, to open uploads
    dask_scheduler: str = ""  # "": compare in this process
    spill: SpillSettings = field(default_factory=SpillSettings)  # large uploads' words on disk
    metrics: HubMetrics | None = None  # run counts and stage durations (service.run_clock)
    tracing: Tracing = field(default_factory=Tracing)  # spans of runs and stages


def recover(context: JobContext) -> tuple[int, int]:
    """Requeue runs a dead process left running (or fail those out of attempts)."""
    now = utcnow()
    with context.sessions() as session:
        requeued, failed = runs_store.recover_stale(
            session, stale_before=now - STALE_AFTER, now=now
        )
        session.commit()
    if requeued or failed:
        logger.warning("recovered interrupted runs: %d requeued, %d failed", requeued, failed)
    return requeued, failed


def execute_next(context: JobContext) -> bool:
    """Claim the oldest queued run and execute it; False when none is queued."""
    with context.sessions() as session:
        run_id = runs_store.next_queued(session)
        if run_id is None:
            return False
        attempt = runs_store.claim(session, run_id, now=utcnow())
        session.commit()
    if attempt is not None:  # None: another worker claimed it first
        execute(context, run_id, attempt)
    return True


def execute(context: JobContext, run_id: uuid.UUID, attempt: int) -> None:
    """Execute a claimed run and store its outcome; failures end as a failed run."""
    started = time.perf_counter()
    clock = RunClock(run_id, attempt, metrics=context.metrics, tracing=context.tracing)
    try:
        with _heartbeat(context, run_id, attempt), context.tracing.current(clock.span):
            hits, report = _match(context, run_id, attempt, clock)
            stored = _store(context, run_id, attempt, hits, report, clock)
    except Exception as exc:
        # The type only: an exception's message may quote data.
        logger.warning("run %s attempt %d failed: %s", run_id, attempt, type(exc).__name__)
        _fail(context, run_id, attempt, safe_error(exc))
        clock.finish("failed")
        return
    clock.finish("succeeded" if stored else "lost")
    if stored:
        logger.info(
            "run %s done: %d hits in %.1f s",
            run_id,
            len(hits.groups),
            time.perf_counter() - started,
        )


def _match(
    context: JobContext, run_id: uuid.UUID, attempt: int, clock: RunClock
) -> tuple[Hits, dict[str, Any]]:
    reporter = _ProgressWriter(context, run_id, attempt, clock)
    reporter("reading uploads", 0.0)
    with context.sessions() as session:
        run = session.get_one(Run, run_id)
        uploads = runs_store.uploads_of(session, run)
        if set(uploads) != set(run.upload_ids):
            raise RunInputMissing("an upload of this run was deleted before it ran")
        if run.upload_digests is not None and any(
            uploads[upload_id].digest != digest for upload_id, digest in run.upload_digests.items()
        ):
            # The hits must come from the batches recorded: envelopes are released from them.
            raise RunInputMissing("an upload of this run was replaced before it ran")
        ordered = [uploads[upload_id] for upload_id in run.upload_ids]
        threshold, min_agencies = run.threshold, run.min_agencies
    # No database connection is held while the batches are read and matched.
    batches = load_batches(
        ordered, objects=context.objects, keyring=context.keyring, spill=context.spill
    )
    with _runner(context.dask_scheduler) as runner:
        return match_run(
            batches,
            threshold=threshold,
            min_agencies=min_agencies,
            runner=runner,
            progress=lambda stage, done: reporter(stage, done * _MATCHED_SHARE),
        )


def _store(
    context: JobContext,
    run_id: uuid.UUID,
    attempt: int,
    hits: Hits,
    report: dict[str, Any],
    clock: RunClock,
) -> bool:
    _ProgressWriter(context, run_id, attempt, clock)("storing hits", _MATCHED_SHARE)
    with context.sessions() as session:
        names = hits_store.agency_names(session)
    # Hits go in by short transactions, each renewing this attempt's claim first: on
    # SQLite a write transaction locks every other writer (the audit log included), and a
    # result of 1,000,000 hits in one would hold it for minutes. Nobody reads the hits
    # before the last transaction marks the run succeeded; a later attempt clears them.
    # Rows and views are made a slice of hits at a time, as they go in (`stored_hits`).
    writes = chain(
        [partial(hits_store.clear_hits, run_id=run_id)],
        (
            partial(hits_store.insert_rows, batch=batch)
            for batch in stored_hits(run_id, hits.groups, names)
        ),
    )
    for write in writes:
        if not _while_owned(context, run_id, attempt, write):
            return False
    with context.sessions() as session:
        # Counted before the run is marked succeeded, so that it never is without them.
        changes = count_changes(session, session.get_one(Run, run_id))
        owned = runs_store.finish(
            session,
            run_id,
            attempt,
            report=report,
            hit_count=len(hits.groups),
            now=utcnow(),
            changes=changes,
        )
        if not owned:
            return _lost(run_id, attempt)
        session.commit()
    return True


def _while_owned(
    context: JobContext, run_id: uuid.UUID, attempt: int, write: Callable[[Session], None]
) -> bool:
    # The claim is renewed first: it locks the run's row until the commit, so a later
    # attempt cannot take the run over half way through this write.
    with context.sessions() as session:
        if not runs_store.beat(session, run_id, attempt, now=utcnow()):
            return _lost(run_id, attempt)
        write(session)
        session.commit()
    return True


def _lost(run_id: uuid.UUID, attempt: int) -> bool:
    logger.warning("run %s attempt %d lost its claim; result discarded", run_id, attempt)
    return False


def _fail(context: JobContext, run_id: uuid.UUID, attempt: int, error: str) -> None:
    try:
        with context.sessions() as session:
            runs_store.fail(session, run_id, attempt, error=error, now=utcnow())
            session.commit()
    except Exception as exc:  # the database itself is failing; the sweep requeues the run
        logger.error("run %s: cannot record its failure: %s", run_id, type(exc).__name__)


@contextmanager
def _runner(dask_scheduler: str) -> Iterator[Runner]:
    if not dask_scheduler:
        yield run_here
        return
    from dask.distributed import Client  # optional: only deployments with a cluster need it

    from linkage.match.distributed import dask_runner

    connect: Callable[[str], Any] = Client  # Client's constructor is not annotated
    with connect(dask_scheduler) as client:
        yield dask_runner(client)


class _ProgressWriter:
    """Stores a run's stage and progress: on every stage change, else at most twice a second."""

    def __init__(
        self, context: JobContext, run_id: uuid.UUID, attempt: int, clock: RunClock
    ) -> None:
        self.context, self.run_id, self.attempt, self.clock = context, run_id, attempt, clock
        self.stage, self.written = "", 0.0

    def __call__(self, stage: str, progress: float) -> None:
        self.clock.stage(stage)
        now = time.monotonic()
        if stage == self.stage and now - self.written < PROGRESS_SECONDS:
            return
        self.stage, self.written = stage, now
        with self.context.sessions() as session:
            runs_store.record_progress(
                session, self.run_id, self.attempt, stage=stage, progress=progress, now=utcnow()
            )
            session.commit()


@contextmanager
def _heartbeat(context: JobContext, run_id: uuid.UUID, attempt: int) -> Iterator[None]:
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                with context.sessions() as session:
                    runs_store.beat(session, run_id, attempt, now=utcnow())
                    session.commit()
            except Exception as exc:  # a missed beat is retried; staleness takes eight
                logger.warning("run %s heartbeat failed: %s", run_id, type(exc).__name__)

    thread = threading.Thread(target=beat, name=f"heartbeat-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


class RunWorkers:
    """A pool of worker threads executing queued runs until stopped."""

    def __init__(
        self,
        context: JobContext,
        *,
        workers: int,
        inline: bool = False,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.context = context
        self.inline = inline
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._work, name=f"run-worker-{number}", daemon=True)
            for number in range(workers)
        ]

    def start(self) -> None:
        """Start the workers; each first recovers runs a crashed hub left behind.

        Nothing here touches the database, so the hub starts (and reports not ready)
        while its database is away.
        """
        for thread in self._threads:
            thread.start()

    def wake(self) -> None:
        """A run was queued: look now rather than at the next poll (inline: run it now)."""
        if self.inline:
            while execute_next(self.context):
                pass
            return
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop taking runs. A run still executing is left to the heartbeat sweep."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout)

    def _work(self) -> None:
        swept: float | None = None  # the first sweep recovers what a crashed hub left
        while not self._stop.is_set():
            try:
                if swept is None or time.monotonic() - swept > SWEEP_SECONDS:
                    recover(self.context)
                    swept = time.monotonic()
                busy = execute_next(self.context)
            except Exception as exc:  # the database is away: log, wait, try again
                logger.error("run worker: %s", type(exc).__name__)
                busy = False
            if not busy:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()


@contextmanager
def run_workers(app: FastAPI) -> Iterator[RunWorkers]:
    """Run the app's workers (settings.run_workers of them) while the hub serves.

    Routes call `app.state.run_workers.wake()` after queueing a run. With run_workers = 0
    the process neither executes nor recovers runs: another hub process does (or, with
    run_inline, the request that queued the run executes it).
    """
    settings: Settings = app.state.settings
    context = JobContext(
        sessions=app.state.sessions,
        objects=app.state.objects,
        keyring=app.state.hub_keys.storage,
        dask_scheduler=settings.dask_scheduler,
        spill=SpillSettings(
            over_records=settings.spill_over_records,
            folder=Path(settings.spill_dir) if settings.spill_dir else None,
        ),
        metrics=app.state.metrics,
        tracing=app.state.tracing,
    )
    workers = RunWorkers(context, workers=settings.run_workers, inline=settings.run_inline)
    app.state.run_workers = workers
    workers.start()
    try:
        yield workers
    finally:
        workers.stop()
