"""Hits of a run and their members: bulk storage and keyset reads. Flushes, never commits.

Reads return plain rows, not ORM objects: a page of hits is two queries (the hits, then
their members) whatever its size, and nothing accumulates in the session's identity map
while a large run is exported.
"""

import json
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Text,
    Uuid,
    bindparam,
    case,
    cast,
    delete,
    insert,
    null,
    select,
)
from sqlalchemy.orm import Session

from linkage.hits import Group, Member
from service.db import Base
from service.models import Agency, Hit, HitMember, HitView, Run, RunStatus

INSERT_ROWS = 20_000  # hits per INSERT batch when a run stores its result
# Reads go through the tables, not the ORM classes: a page is read on every click, and the
# ORM layer (and converting ids nobody needs) cost more than the queries themselves.
_HITS, _MEMBERS, _AGENCIES = Hit.__table__, HitMember.__table__, Agency.__table__
_VIEWS = HitView.__table__


@dataclass(frozen=True, slots=True)
class HitRow:
    """A hit as stored: links are [left, right, score(, agreed mask)] by member position."""

    id: uuid.UUID
    number: int
    best_score: float
    links: list[list[Any]]
    agreed_fields: list[str] | None


@dataclass(frozen=True, slots=True, repr=False)
class MemberRow:
    """A member of hit `number`; `reference` is None where the caller may not see it."""

    number: int
    position: int
    agency: str  # the agency's name
    reference: str | None

    def __repr__(self) -> str:  # never a reference in a log line or a traceback
        return f"MemberRow(number={self.number}, position={self.position})"


@dataclass(frozen=True, slots=True, repr=False)
class HitRows:
    """A run's groups as rows to insert, hit ids assigned: built before any lock is taken."""

    hits: list[dict[str, Any]]
    members: list[dict[str, Any]]


def hit_rows(run_id: uuid.UUID, groups: Sequence[Group], *, first: int = 1) -> HitRows:
    """A run's groups as hits numbered from `first` (1..n for a whole run) and their members.

    Each group's members carry the agency id (as a string) as their agency label.
    """
    rows = HitRows(hits=[], members=[])
    for number, group in enumerate(groups, first):
        hit_id = uuid.uuid4()
        rows.hits.append(
            {
                "id": hit_id,
                "run_id": run_id,
                "number": number,
                "agency_count": len(group.agencies),
                "best_score": max((link.score for link in group.links), default=0.0),
                "links": _links(group),
                # Comparisons that agreed (field scoring); None for runs scored on the CLK.
                "agreed_fields": list(group.agreed_fields) or None,
            }
        )
        rows.members.extend(
            {
                "hit_id": hit_id,
                "position": position,
                "run_id": run_id,
                "agency_id": uuid.UUID(member.agency),
                "reference": member.reference,
            }
            for position, member in enumerate(group.members)
        )
    return rows


def _links(group: Group) -> list[list[Any]]:
    """[left, right, score] per link; field scoring adds the agreed mask and the levels.

    The levels are `Link.levels`: the family that scored the link and each comparison's
    level. Bit i of the mask stands for `group.agreed_fields[i]`: a data officer's view shows
    only the comparisons that agreed on links touching an own record (`service.hit_views`).
    """
    if not group.agreed_fields and not any(link.levels for link in group.links):
        return [[link.left, link.right, link.score] for link in group.links]
    bit = {name: 1 << index for index, name in enumerate(group.agreed_fields)}
    return [
        [link.left, link.right, link.score, sum(bit[name] for name in set(link.agreed))]
        + ([link.levels] if link.levels else [])
        for link in group.links
    ]


def row_pages(
    rows: HitRows, agency_names: Mapping[str, str], *, page: int = 1000
) -> Iterator[tuple[list[HitRow], list[MemberRow]]]:
    """The rows as `iter_hits` would read them back once stored, page by page."""
    numbers = {hit["id"]: hit["number"] for hit in rows.hits}
    members = iter(rows.members)  # in hit order, as hit_rows made them
    member = next(members, None)
    for start in range(0, len(rows.hits), page):
        hits = [_hit_row(hit) for hit in rows.hits[start : start + page]]
        shown: list[MemberRow] = []
        while member is not None and (number := numbers[member["hit_id"]]) <= hits[-1].number:
            name = agency_names[str(member["agency_id"])]
            shown.append(MemberRow(number, member["position"], name, member["reference"]))
            member = next(members, None)
        yield hits, shown


def _hit_row(hit: dict[str, Any]) -> HitRow:
    return HitRow(hit["id"], hit["number"], hit["best_score"], hit["links"], hit["agreed_fields"])


def clear_hits(session: Session, run_id: uuid.UUID) -> None:
    """Remove a run's hits and views, such as an earlier attempt of it left half stored."""
    session.execute(delete(HitView).where(HitView.run_id == run_id))
    session.execute(delete(HitMember).where(HitMember.run_id == run_id))
    session.execute(delete(Hit).where(Hit.run_id == run_id))


RowBatch = tuple[type[Base], list[dict[str, Any]]]


def row_batches(
    run_id: uuid.UUID, rows: HitRows, views: Iterable[tuple[str, int, str]]
) -> Iterator[RowBatch]:
    """A run's hits, members and rendered views, INSERT_ROWS rows at a time, in that order.

    Views are rendered as they are taken, so they are never all in memory at once.
    """
    view_rows = ({"run_id": run_id, "audience": a, "number": n, "body": b} for a, n, b in views)
    for table, source in ((Hit, rows.hits), (HitMember, rows.members), (HitView, view_rows)):
        chunks = iter(source)
        while chunk := list(islice(chunks, INSERT_ROWS)):
            yield table, chunk


def insert_rows(session: Session, batch: RowBatch) -> None:
    """Bulk INSERT of one batch of `row_batches`."""
    table, rows = batch
    session.execute(insert(table), rows)


def view_page(
    session: Session, run_id: uuid.UUID, *, audience: str, after: int, limit: int
) -> list[tuple[int, str]]:
    """(number, HitPublic JSON) of the audience's hits numbered above `after`, in order."""
    values = {"run_id": run_id, "audience": audience, "after": after, "limit": limit}
    return [(number, body) for number, body in session.execute(_VIEW_PAGE, values)]


def hit_records(session: Session, run_id: uuid.UUID) -> dict[int, frozenset[Member]]:
    """Each hit of the run by number, as the records it holds (agency id, reference)."""
    query = (
        select(_HITS.c.number, _MEMBERS.c.agency_id, _MEMBERS.c.reference)
        .join(_HITS, _HITS.c.id == _MEMBERS.c.hit_id)
        .where(_MEMBERS.c.run_id == run_id)
    )
    records: dict[int, set[Member]] = {}
    for number, agency_id, reference in session.execute(query):
        records.setdefault(number, set()).add(Member(str(agency_id), reference))
    return {number: frozenset(members) for number, members in records.items()}


def agency_names(session: Session) -> dict[str, str]:
    """Agency id (as text) -> name."""
    query = select(_AGENCIES.c.id, _AGENCIES.c.name)
    return {str(agency): name for agency, name in session.execute(query)}


def hits_page(
    session: Session,
    run_id: uuid.UUID,
    *,
    after: int,
    limit: int,
    agency_id: uuid.UUID | None = None,
) -> list[HitRow]:
    """Hits numbered above `after`, in number order.

    With `agency_id`, only the hits holding a record of that agency (data officer view).
    """
    values = {"run_id": run_id, "after": after, "limit": limit, "agency_id": agency_id}
    rows = session.execute(_PAGE[agency_id is not None], values).all()
    if not rows:
        return []
    ids, numbers, scores, links, fields = zip(*rows, strict=True)
    # One JSON decode per column for the whole page rather than one per hit.
    decoded_links = json.loads("[" + ",".join(links) + "]")
    decoded_fields = json.loads("[" + ",".join(field or "null" for field in fields) + "]")
    return list(map(HitRow, ids, numbers, scores, decoded_links, decoded_fields))


def page_members(
    session: Session,
    run_id: uuid.UUID,
    *,
    after: int,
    last: int,
    agency_id: uuid.UUID | None = None,
) -> list[MemberRow]:
    """Members of the hits numbered after..last that `hits_page` returns, by number and position.

    With `agency_id`, other agencies' references stay in the database: the column comes
    back as NULL for them.
    """
    values = {"run_id": run_id, "after": after, "last": last, "agency_id": agency_id}
    rows = session.execute(_MEMBERS_PAGE[agency_id is not None], values).all()
    return [MemberRow(*row) for row in rows]


def members_by_hit(
    session: Session, hit_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[MemberRow]]:
    """Every member of these hits (of any runs), by hit id: the analyst's view."""
    query = (
        select(
            _HITS.c.id, _HITS.c.number, _MEMBERS.c.position, _AGENCIES.c.name, _MEMBERS.c.reference
        )
        .join(_MEMBERS, _MEMBERS.c.hit_id == _HITS.c.id)
        .join(_AGENCIES, _AGENCIES.c.id == _MEMBERS.c.agency_id)
        .where(_HITS.c.id.in_(hit_ids))
        .order_by(_HITS.c.id, _MEMBERS.c.position)
    )
    members: dict[uuid.UUID, list[MemberRow]] = {hit_id: [] for hit_id in hit_ids}
    for hit_id, *member in session.execute(query):
        members[hit_id].append(MemberRow(*member))
    return members


def iter_hits(
    session: Session, run_id: uuid.UUID, *, agency_id: uuid.UUID | None, page: int = 1000
) -> Iterator[tuple[list[HitRow], list[MemberRow]]]:
    """Every hit of a run visible in a view, page by page, with its members."""
    after = 0
    while hits := hits_page(session, run_id, after=after, limit=page, agency_id=agency_id):
        last = hits[-1].number
        yield hits, page_members(session, run_id, after=after, last=last, agency_id=agency_id)
        after = last


def _page_statements(own: bool) -> tuple[Select[Any], Select[Any]]:
    """The hits of a page and their members, built once: a page is read on every click."""
    run, after = bindparam("run_id", type_=Uuid), bindparam("after", type_=Integer)
    hits = (
        select(
            _HITS.c.id,
            _HITS.c.number,
            _HITS.c.best_score,
            cast(_HITS.c.links, Text).label("links"),  # decoded a page at a time, see hits_page
            cast(_HITS.c.agreed_fields, Text).label("agreed_fields"),
        )
        .where(_HITS.c.run_id == run, _HITS.c.number > after)
        .order_by(_HITS.c.number)
        .limit(bindparam("limit", type_=Integer))
    )
    reference: ColumnElement[str | None] = _MEMBERS.c.reference
    if own:
        agency = bindparam("agency_id", type_=Uuid)
        # Walks hits in number order and probes ix_hit_members_run_agency per hit, so a page
        # costs about `limit` probes when the agency is in a fair share of the hits.
        holder = _MEMBERS.alias("holder")
        holding = (
            select(holder.c.hit_id)
            .where(holder.c.run_id == run, holder.c.agency_id == agency)
            .where(holder.c.hit_id == _HITS.c.id)
            .correlate(_HITS)
            .exists()
        )
        hits = hits.where(holding)
        reference = case((_MEMBERS.c.agency_id == agency, _MEMBERS.c.reference), else_=null())
    members = (
        select(_HITS.c.number, _MEMBERS.c.position, _AGENCIES.c.name, reference)
        .join(_MEMBERS, _MEMBERS.c.hit_id == _HITS.c.id)
        .join(_AGENCIES, _AGENCIES.c.id == _MEMBERS.c.agency_id)
        .where(_HITS.c.run_id == run, _HITS.c.number > after)
        .where(_HITS.c.number <= bindparam("last", type_=Integer))
        .order_by(_HITS.c.number, _MEMBERS.c.position)
    )
    if own:
        members = members.where(holding)
    return hits, members


_VIEW_PAGE = (
    select(_VIEWS.c.number, _VIEWS.c.body)
    .where(
        _VIEWS.c.run_id == bindparam("run_id", type_=Uuid),
        _VIEWS.c.audience == bindparam("audience"),
        _VIEWS.c.number > bindparam("after", type_=Integer),
    )
    .order_by(_VIEWS.c.number)
    .limit(bindparam("limit", type_=Integer))
)
_EVERY, _OWN = _page_statements(own=False), _page_statements(own=True)
_PAGE = {False: _EVERY[0], True: _OWN[0]}  # keyed by "limited to one agency"
_MEMBERS_PAGE = {False: _EVERY[1], True: _OWN[1]}


def find_project_hit(session: Session, project_id: uuid.UUID, hit_id: uuid.UUID) -> Hit | None:
    """A hit of a succeeded run of this project."""
    query = (
        select(Hit)
        .join(Run, Run.id == Hit.run_id)
        .where(Hit.id == hit_id, Run.project_id == project_id, Run.status == RunStatus.SUCCEEDED)
    )
    return session.scalars(query).one_or_none()
