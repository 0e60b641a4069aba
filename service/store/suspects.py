"""The project's suspect list: hits an analyst shortlisted. Flushes, never commits."""

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from service.models import Hit, Suspect, SuspectStatus


@dataclass(frozen=True, slots=True)
class SuspectRow:
    """A suspect with where its hit comes from."""

    suspect: Suspect
    run_id: uuid.UUID
    hit_number: int


def add_suspect(
    session: Session,
    *,
    project_id: uuid.UUID,
    hit_id: uuid.UUID,
    status: SuspectStatus,
    note: str,
    created_by: uuid.UUID,
    now: datetime,
) -> Suspect:
    suspect = Suspect(
        project_id=project_id,
        hit_id=hit_id,
        status=status,
        note=note,
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    session.add(suspect)
    session.flush()
    return suspect


def find_suspect(session: Session, project_id: uuid.UUID, suspect_id: uuid.UUID) -> Suspect | None:
    """The suspect, if it is on this project's list."""
    suspect = session.get(Suspect, suspect_id)
    return suspect if suspect is not None and suspect.project_id == project_id else None


def is_listed(session: Session, project_id: uuid.UUID, hit_id: uuid.UUID) -> bool:
    """Whether the hit is on the project's list already."""
    query = select(Suspect.id).where(Suspect.project_id == project_id, Suspect.hit_id == hit_id)
    return session.scalars(query).first() is not None


def list_suspects(
    session: Session, project_id: uuid.UUID, *, suspect_id: uuid.UUID | None = None
) -> list[SuspectRow]:
    """The project's suspects in the order they were listed (or the one with `suspect_id`)."""
    query = (
        select(Suspect, Hit.run_id, Hit.number)
        .join(Hit, Hit.id == Suspect.hit_id)
        .where(Suspect.project_id == project_id)
        .order_by(Suspect.created_at, Suspect.id)
    )
    if suspect_id is not None:
        query = query.where(Suspect.id == suspect_id)
    return [SuspectRow(*row) for row in session.execute(query)]


def suspect_pages(
    session: Session, project_id: uuid.UUID, *, page: int = 500
) -> Iterator[list[SuspectRow]]:
    """The project's suspects in list order, `page` at a time (keyset pages: an export).

    Each page's suspects leave the session once the next page is asked for, so a long
    list never gathers in its identity map.
    """
    query = (
        select(Suspect, Hit.run_id, Hit.number)
        .join(Hit, Hit.id == Suspect.hit_id)
        .where(Suspect.project_id == project_id)
        .order_by(Suspect.created_at, Suspect.id)
        .limit(page)
    )
    after = query
    while rows := [SuspectRow(*row) for row in session.execute(after)]:
        yield rows
        last = rows[-1].suspect
        after = query.where(tuple_(Suspect.created_at, Suspect.id) > (last.created_at, last.id))
        for row in rows:
            session.expunge(row.suspect)


def count_suspects(session: Session, project_id: uuid.UUID) -> int:
    """How many suspects the project's list holds."""
    query = select(func.count()).select_from(Suspect).where(Suspect.project_id == project_id)
    return session.scalar(query) or 0


def update_suspect(
    session: Session,
    suspect: Suspect,
    *,
    status: SuspectStatus | None,
    note: str | None,
    now: datetime,
) -> Suspect:
    if status is not None:
        suspect.status = status
    if note is not None:
        suspect.note = note
    suspect.updated_at = now
    session.flush()
    return suspect


def delete_suspect(session: Session, suspect: Suspect) -> None:
    session.delete(suspect)
    session.flush()


def hit_ids(rows: Sequence[SuspectRow]) -> list[uuid.UUID]:
    """The hits behind these suspects."""
    return [row.suspect.hit_id for row in rows]
