"""The audit chain in the database: the chain lock, appends, checkpoints, reads and filters.

Entries are only ever inserted; nothing here updates or deletes one. Flushes at most.
"""

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, insert, select, text
from sqlalchemy.orm import Session

from linkage.audit import (
    ENTRY_FIELDS,
    GENESIS_HASH,
    OPTIONAL_ENTRY_FIELDS,
    entry_hash,
    format_time,
)
from service.models import AuditCheckpoint, AuditEntry
from service.request_ids import is_request_id

_COLUMNS = (*ENTRY_FIELDS, *OPTIONAL_ENTRY_FIELDS, "entry_hash")
_ENTRIES = AuditEntry.metadata.tables[AuditEntry.__tablename__]
# pg_advisory_xact_lock(class, object): the class is ours ("fl" + "au"), the object the schema,
# so hubs sharing one PostgreSQL database in different schemas do not wait for each other.
_LOCK_CLASS = 0x666C6175


@dataclass(frozen=True, slots=True)
class EntryDraft:
    """What the hub records about one request; the chain adds sequence and hashes."""

    at: datetime
    request_id: str
    principal_id: uuid.UUID | None
    agency_id: uuid.UUID | None
    role: str | None
    action: str
    method: str
    project_id: uuid.UUID | None
    resource: str | None
    outcome: int
    records: int | None
    token_id: uuid.UUID | None = None  # the bearer token that acted, by id

    def __post_init__(self) -> None:
        # The request id may come from the client (service.request_ids): only its strict
        # format enters the chain, whoever builds the entry.
        if not is_request_id(self.request_id):
            raise ValueError("an audit entry's request id must match the request id format")


@dataclass(frozen=True, slots=True)
class EntryFilter:
    """Which entries an auditor asks for; None matches everything."""

    project_id: uuid.UUID | None = None
    principal_id: uuid.UUID | None = None
    agency_id: uuid.UUID | None = None
    action: str | None = None
    outcome: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def lock_chain(session: Session) -> None:
    """Hold the chain lock until this transaction ends: one appender at a time links to the head.

    PostgreSQL: a transaction-level advisory lock, shared by every hub process.
    SQLite: BEGIN IMMEDIATE takes the database write lock now rather than at the first
    insert, so two processes cannot both read the same head. (Within one process the
    audit writer's lock already serialises appenders.)
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        lock = text("SELECT pg_advisory_xact_lock(:lock_class, hashtext(current_schema()))")
        connection.execute(lock, {"lock_class": _LOCK_CLASS})
    elif connection.dialect.name == "sqlite":
        driver_connection: Any = connection.connection.driver_connection
        if not driver_connection.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def chain_head(session: Session) -> tuple[int, str]:
    """The last entry's sequence and hash; (0, the genesis hash) for an empty chain."""
    # Core on the session's connection: this runs once per append transaction, on the hot path.
    query = select(_ENTRIES.c.sequence, _ENTRIES.c.entry_hash).order_by(_ENTRIES.c.sequence.desc())
    row = session.connection().execute(query.limit(1)).first()
    return (row[0], row[1]) if row is not None else (0, GENESIS_HASH)


def append_entries(session: Session, drafts: Sequence[EntryDraft]) -> list[dict[str, Any]]:
    """Link drafts to the chain head in order and insert them. Call under `lock_chain`.

    Returns:
        The inserted rows as column values (sequence and entry_hash included).
    """
    sequence, previous = chain_head(session)
    rows = []
    for draft in drafts:
        sequence += 1
        row = _draft_fields(draft) | {"sequence": sequence, "previous_hash": previous}
        row["entry_hash"] = previous = entry_hash(_record(row))
        rows.append(row)
    if rows:  # Core executemany: far cheaper than the unit of work, and nothing to track
        session.connection().execute(insert(_ENTRIES), rows)
    return rows


def entry_record(entry: AuditEntry) -> dict[str, Any]:
    """An entry as the chain format hashes and exports it (linkage.audit)."""
    return _record({name: getattr(entry, name) for name in _COLUMNS})


def checkpoint_record(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    """A checkpoint as the chain format exports it."""
    return {
        "sequence": checkpoint.sequence,
        "entry_hash": checkpoint.entry_hash,
        "key_id": checkpoint.key_id,
        "signed_at": format_time(checkpoint.signed_at),
        "signature": checkpoint.signature,
    }


def add_checkpoint(
    session: Session,
    *,
    sequence: int,
    entry_hash: str,
    key_id: str,
    signature: str,
    signed_at: datetime,
) -> AuditCheckpoint:
    """Store a signed checkpoint over the entry at `sequence`, whose hash is `entry_hash`."""
    checkpoint = AuditCheckpoint(
        sequence=sequence,
        entry_hash=entry_hash,
        key_id=key_id,
        signature=signature,
        signed_at=signed_at,
    )
    session.add(checkpoint)
    session.flush()
    return checkpoint


def find_entry(session: Session, sequence: int) -> AuditEntry | None:
    return session.get(AuditEntry, sequence)


def find_checkpoint(session: Session, sequence: int) -> AuditCheckpoint | None:
    return session.get(AuditCheckpoint, sequence)


def list_entries(
    session: Session, where: EntryFilter, *, after: int, limit: int
) -> Sequence[AuditEntry]:
    """One page of matching entries in chain order, after sequence `after` (keyset)."""
    query = select(AuditEntry).where(AuditEntry.sequence > after, *_conditions(where))
    return session.scalars(query.order_by(AuditEntry.sequence).limit(limit)).all()


def list_entries_newest_first(
    session: Session, where: EntryFilter, *, before: int | None, limit: int
) -> Sequence[AuditEntry]:
    """One page of matching entries, newest first, before sequence `before` (None: the head)."""
    query = select(AuditEntry).where(*_conditions(where))
    if before is not None:
        query = query.where(AuditEntry.sequence < before)
    return session.scalars(query.order_by(AuditEntry.sequence.desc()).limit(limit)).all()


def count_entries(session: Session, where: EntryFilter) -> int:
    """How many entries match."""
    query = select(func.count()).select_from(AuditEntry).where(*_conditions(where))
    return int(session.scalar(query) or 0)


def recorded_actions(session: Session) -> list[str]:
    """Every action the chain holds, in order (the choices of a filter by action)."""
    return list(session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))


def last_checkpoint(session: Session) -> AuditCheckpoint | None:
    """The newest signed checkpoint, if any."""
    query = select(AuditCheckpoint).order_by(AuditCheckpoint.sequence.desc()).limit(1)
    return session.scalars(query).first()


def iter_entry_pages(
    session: Session, *, first: int, last: int, page_size: int = 2000
) -> Iterator[Sequence[AuditEntry]]:
    """Entries `first`..`last` in chain order, a page at a time, so large logs stream."""
    after = first - 1
    while after < last:
        query = select(AuditEntry).where(AuditEntry.sequence > after, AuditEntry.sequence <= last)
        rows = session.scalars(query.order_by(AuditEntry.sequence).limit(page_size)).all()
        if not rows:
            return
        yield rows
        after = rows[-1].sequence
        session.expunge_all()  # keep memory flat across a long export


def list_checkpoints(session: Session, *, first: int, last: int) -> Sequence[AuditCheckpoint]:
    """Checkpoints at sequences `first`..`last`, in order."""
    query = select(AuditCheckpoint).where(
        AuditCheckpoint.sequence >= first, AuditCheckpoint.sequence <= last
    )
    return session.scalars(query.order_by(AuditCheckpoint.sequence)).all()


def _conditions(where: EntryFilter) -> list[ColumnElement[bool]]:
    equal: list[tuple[Any, object]] = [
        (AuditEntry.project_id, where.project_id),
        (AuditEntry.principal_id, where.principal_id),
        (AuditEntry.agency_id, where.agency_id),
        (AuditEntry.action, where.action),
        (AuditEntry.outcome, where.outcome),
    ]
    conditions = [column == value for column, value in equal if value is not None]
    if where.since is not None:
        conditions.append(AuditEntry.at >= where.since)
    if where.until is not None:
        conditions.append(AuditEntry.at < where.until)
    return conditions


def _record(row: dict[str, Any]) -> dict[str, Any]:
    record = {name: row[name] for name in _COLUMNS if name in row}
    record["at"] = format_time(row["at"])
    for name in ("principal_id", "agency_id", "project_id", "token_id"):
        record[name] = _text(row.get(name))
    return record


def _draft_fields(draft: EntryDraft) -> dict[str, Any]:
    return {field.name: getattr(draft, field.name) for field in fields(draft)}


def _text(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)
