"""Group commit for the audit chain: one thread appends whatever is queued in one transaction.

A request hands its entry to the writer and waits until the entry is committed, so nothing
is answered without a durable entry. Under load many requests wait on one commit instead
of queueing for the chain lock one transaction each; alone, a request costs one commit.
"""

import fcntl
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from linkage.audit import sign_checkpoint
from service.hub_keys import HubKeys
from service.models import AuditCheckpoint, utcnow
from service.store import audit as store
from service.store.audit import EntryDraft

logger = logging.getLogger(__name__)

# Several apps in one process (tests, or a hub with two engines) append one at a time; the
# database lock (store.lock_chain) does the same across processes.
_PROCESS_LOCK = threading.Lock()
_MAX_BATCH = 500  # entries per transaction


class WriterClosed(RuntimeError):
    """The audit writer was shut down; nothing more can be appended."""


@dataclass(frozen=True, slots=True)
class _Append:
    draft: EntryDraft
    done: "Future[int]" = field(default_factory=Future)


@dataclass(frozen=True, slots=True)
class _SignHead:
    upto: int | None
    done: "Future[dict[str, Any] | None]" = field(default_factory=Future)


_Job = _Append | _SignHead


class AuditWriter:
    """Appends entries and signs checkpoints on its own thread, in submission order."""

    def __init__(
        self, sessions: Callable[[], Session], keys: HubKeys, *, checkpoint_every: int
    ) -> None:
        self._sessions = sessions
        self._keys = keys
        self._every = max(1, checkpoint_every)
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._closed = False
        self._connection: Connection | None = None  # reserved; only the writer thread uses it
        self._file_lock: _FileLock | None = None

    def start(self) -> None:
        """Start the writer thread."""
        self._thread.start()

    def close(self) -> None:
        """Write what is queued, then stop the thread and let go of the database."""
        self._closed = True
        self._jobs.put(None)
        self._thread.join()
        self._fail_leftovers()  # appended while closing, behind the stop sign
        self._release()
        if self._file_lock is not None:
            self._file_lock.close()
            self._file_lock = None

    def append(self, draft: EntryDraft) -> "Future[int]":
        """Queue an entry; the future gives its sequence number once it is committed."""
        job = _Append(draft)
        self._submit(job)
        return job.done

    def sign_head(self, upto: int | None = None) -> "Future[dict[str, Any] | None]":
        """Queue a checkpoint over the head (or entry `upto`, if earlier).

        The future gives the checkpoint record (an existing one at that sequence is reused),
        or None while the chain is empty.
        """
        job = _SignHead(upto)
        self._submit(job)
        return job.done

    def _submit(self, job: _Job) -> None:
        if self._closed:
            job.done.set_exception(WriterClosed("the audit writer is closed"))
        else:
            self._jobs.put(job)

    def _run(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            batch, stop = self._drain([first])
            self._commit(batch)
            if stop:
                return

    def _drain(self, batch: list[_Job]) -> tuple[list[_Job], bool]:
        while len(batch) < _MAX_BATCH:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return batch, False
            if job is None:
                return batch, True
            batch.append(job)
        return batch, False

    def _commit(self, batch: list[_Job]) -> None:
        try:
            results = self._write(batch)
        except Exception as err:  # every waiting request must hear of it, whatever it was
            logger.error("audit append failed: %s", type(err).__name__)  # type only: no data
            self._release()  # start over with a fresh connection: this one may be broken
            for job in batch:
                job.done.set_exception(err)
            return
        for job, result in zip(batch, results, strict=True):
            job.done.set_result(result)

    def _write(self, batch: list[_Job]) -> list[Any]:
        drafts = [job.draft for job in batch if isinstance(job, _Append)]
        session = self._open_session()
        with _PROCESS_LOCK, self._held_file_lock(), session:
            store.lock_chain(session)
            rows = iter(store.append_entries(session, drafts))
            results = [self._apply(session, job, rows) for job in batch]
            session.commit()
        return results

    def _open_session(self) -> Session:
        # The writer keeps one connection of its own. Requests hold pooled connections while
        # they wait for their entry; were the writer to queue for the pool behind them, a
        # full pool would never drain.
        if self._connection is not None:
            return Session(bind=self._connection, expire_on_commit=False)
        session = self._sessions()
        bind = session.get_bind()
        if not isinstance(bind, Engine):
            return session  # already bound to one connection (a test's transaction)
        session.close()
        self._connection = bind.connect()
        self._file_lock = self._file_lock or _FileLock.beside(bind)
        return Session(bind=self._connection, expire_on_commit=False)

    def _held_file_lock(self) -> AbstractContextManager[None]:
        return self._file_lock.held() if self._file_lock is not None else nullcontext()

    def _release(self) -> None:
        if self._connection is not None:
            with suppress(Exception):  # a broken connection may fail to close; it is gone
                self._connection.close()
            self._connection = None

    def _fail_leftovers(self) -> None:
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job.done.set_exception(WriterClosed("the audit writer is closed"))

    def _apply(self, session: Session, job: _Job, rows: Iterator[dict[str, Any]]) -> Any:
        if isinstance(job, _SignHead):
            return self._sign_head(session, job.upto)
        row = next(rows)
        if row["sequence"] % self._every == 0:
            self._sign(session, row["sequence"], row["entry_hash"])
        return row["sequence"]

    def _sign_head(self, session: Session, upto: int | None) -> dict[str, Any] | None:
        head, _ = store.chain_head(session)
        sequence = head if upto is None else min(upto, head)
        entry = store.find_entry(session, sequence) if sequence > 0 else None
        if entry is None:
            return None
        checkpoint = store.find_checkpoint(session, sequence) or self._sign(
            session, entry.sequence, entry.entry_hash
        )
        return store.checkpoint_record(checkpoint)

    def _sign(self, session: Session, sequence: int, entry_hash: str) -> AuditCheckpoint:
        signature = sign_checkpoint(self._keys.signer(), sequence, entry_hash)
        return store.add_checkpoint(
            session,
            sequence=sequence,
            entry_hash=entry_hash,
            key_id=self._keys.signing.active_id,
            signature=signature,
            signed_at=utcnow(),
        )


class _FileLock:
    """A lock file beside a SQLite database file, taken around each append.

    SQLite's own busy handler polls, backing off to every 100 ms, so a hub process appending
    without pause can starve another one for seconds. A process waiting on flock(2) is
    woken as soon as the lock is released. (PostgreSQL queues advisory lock waiters itself.)
    """

    def __init__(self, path: Path) -> None:
        self._descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    @classmethod
    def beside(cls, engine: Engine) -> "_FileLock | None":
        """The lock for a SQLite file database; None for anything else."""
        database = engine.url.database
        if engine.dialect.name != "sqlite" or database in (None, "", ":memory:"):
            return None
        return cls(Path(f"{database}.audit-lock"))

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the lock (waiting for it) for the duration of the block."""
        fcntl.flock(self._descriptor, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._descriptor, fcntl.LOCK_UN)

    def close(self) -> None:
        """Release the file descriptor."""
        os.close(self._descriptor)
