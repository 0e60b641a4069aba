"""Hits as a caller may see them, and their exports (fieldlink-hits/1 JSON and CSV).

An analyst sees every member of a hit. A data officer sees the own agency's members
only: positions are renumbered within what is shown, links are kept only between shown
members, and the other agencies appear by name in `agencies`, never with a reference.
A data officer sees only what the own records contributed, too: the best score and the
agreed comparisons of the links that touch an own record (not those between two other
agencies' records), and the own hits numbered 1..n in run order, so that the numbers
leave no gaps that would tell how many hits the run found in all.
"""

import csv
import io
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from pydantic_core import to_json

from linkage.hits import HITS_FORMAT, Group
from service.models import EVERY_AGENCY
from service.store import hits as hits_store
from service.store.hits import HitRow, MemberRow, RowBatch

CSV_COLUMNS = ("hit", "agencies", "agency", "reference", "best_score", "agreed_fields")
_SCORE_DIGITS = 4  # as linkage.hits writes them
# Spreadsheets run a cell starting with one of these as a formula; references come from
# other agencies, so an export must not carry one that executes (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def hit_view(
    hit: HitRow, members: Sequence[MemberRow], *, number: int | None = None
) -> dict[str, Any]:
    """One hit as JSON-ready data in the HitPublic shape.

    Only the members the caller may see are listed; links join shown members, by their
    positions in that list. Where some members are not shown (a data officer's view), the
    best score and agreed comparisons are those of the links touching a shown member,
    and `number` (the hit's number among the officer's own) replaces the run's number.
    """
    shown = [member for member in members if member.reference is not None]
    slot: Sequence[int] | dict[int, int]
    if len(shown) == len(members):  # every member shown: positions stay as stored
        slot = range(len(members))
        best, agreed = hit.best_score, hit.agreed_fields
    else:
        slot = {member.position: index for index, member in enumerate(shown)}
        best, agreed = _contributed(hit, slot)
    links = [
        {
            "left": slot[int(link[0])],
            "right": slot[int(link[1])],
            "score": round(link[2], _SCORE_DIGITS),
        }
        for link in hit.links
        if int(link[0]) in slot and int(link[1]) in slot
    ]
    return {
        "id": hit.id,
        "number": hit.number if number is None else number,
        "agencies": sorted({member.agency for member in members}),
        "members": [{"agency": m.agency, "reference": m.reference} for m in shown],
        "links": links,
        "best_score": round(best, _SCORE_DIGITS),
        "agreed_fields": agreed,
    }


def _contributed(hit: HitRow, shown: Mapping[int, int]) -> tuple[float, list[str] | None]:
    """The best score and the agreed comparisons of the links touching a shown member.

    A stored link is [left, right, score] or, for field-scored hits, [left, right, score,
    mask]: bit i of mask set when `agreed_fields[i]` agreed on that link.
    """
    touching = [link for link in hit.links if int(link[0]) in shown or int(link[1]) in shown]
    best = max((float(link[2]) for link in touching), default=0.0)
    if hit.agreed_fields is None:
        return best, None
    mask = 0
    for link in touching:
        mask |= int(link[3]) if len(link) > 3 else 0
    return best, [name for bit, name in enumerate(hit.agreed_fields) if mask >> bit & 1]


def hit_views(hits: Sequence[HitRow], members: Iterable[MemberRow]) -> list[dict[str, Any]]:
    """Views of a page of hits, given their members in number and position order."""
    by_number = _by_number(hits, members)
    return [hit_view(hit, by_number[hit.number]) for hit in hits]


def _by_number(hits: Sequence[HitRow], members: Iterable[MemberRow]) -> dict[int, list[MemberRow]]:
    by_number: dict[int, list[MemberRow]] = {hit.number: [] for hit in hits}
    for member in members:
        by_number[member.number].append(member)
    return by_number


def stored_hits(
    run_id: uuid.UUID, groups: Sequence[Group], agency_names: Mapping[str, str]
) -> Iterator[RowBatch]:
    """A run's hits as the run stores them: INSERT batches of hits, members and views.

    The groups become rows a slice (`store.hits.INSERT_ROWS` hits) at a time, and a
    slice's views are rendered as its rows go in, so the rows and views of one slice are
    in memory at once, never a whole run's (1,000,000 hits have about 3.5 million views).
    Each slice's hits come before their members and views.
    """
    counts: dict[str, int] = {}  # carried from slice to slice: officers' dense numbers
    size = hits_store.INSERT_ROWS
    for start in range(0, len(groups), size):
        rows = hits_store.hit_rows(run_id, groups[start : start + size], first=start + 1)
        pages = hits_store.row_pages(rows, agency_names)
        views = rendered_views(pages, agency_names, counts=counts)
        yield from hits_store.row_batches(run_id, rows, views)


def rendered_views(
    pages: Iterable[tuple[Sequence[HitRow], Sequence[MemberRow]]],
    agency_names: Mapping[str, str],
    *,
    counts: dict[str, int] | None = None,
) -> Iterator[tuple[str, int, str]]:
    """Every view of a run's hits, rendered for storage: (audience, hit number, JSON).

    Each hit has the analysts' view (audience EVERY_AGENCY, under the run's hit number)
    and one view for each agency holding a member, addressed by the agency's id
    (`agency_names` maps ids to the names members carry), in which only its own members
    appear, under the hit's number among that agency's own hits. `counts` holds each
    agency's own hits before these pages (by name), and is updated: for a run's hits
    rendered in slices.
    """
    agency_ids = {name: agency for agency, name in agency_names.items()}
    counts = {} if counts is None else counts  # own hits so far, by agency name
    for hits, members in pages:
        by_number = _by_number(hits, members)
        for hit in hits:
            shown = by_number[hit.number]
            yield EVERY_AGENCY, hit.number, to_json(hit_view(hit, shown)).decode()
            for agency in sorted({member.agency for member in shown}):
                counts[agency] = number = counts.get(agency, 0) + 1
                own = [_only(member, agency) for member in shown]
                view = hit_view(hit, own, number=number)
                yield agency_ids[agency], number, to_json(view).decode()


def _only(member: MemberRow, agency: str) -> MemberRow:
    if member.agency == agency:
        return member
    return MemberRow(member.number, member.position, member.agency, None)


def own_numbered(
    pages: Iterable[tuple[Sequence[HitRow], Sequence[MemberRow]]],
) -> Iterator[tuple[list[HitRow], list[MemberRow]]]:
    """Pages of one agency's hits (in run order), renumbered 1..n as its officers see them."""
    count = 0
    for hits, members in pages:
        numbers: dict[int, int] = {}
        for hit in hits:
            count += 1
            numbers[hit.number] = count
        yield (
            [replace(hit, number=numbers[hit.number]) for hit in hits],
            [replace(member, number=numbers[member.number]) for member in members],
        )


def hit_list_json(views: Sequence[str], next_after: int | None) -> bytes:
    """A HitList body from stored views, joined as they are: nothing decoded or re-encoded.

    Pages are the hub's hottest path; the stored views have the HitPublic shape already
    (tests validate pages against HitList).
    """
    tail = "null" if next_after is None else str(next_after)
    return f'{{"items":[{",".join(views)}],"next_after":{tail}}}'.encode()


def json_export(
    pages: Iterable[tuple[Sequence[HitRow], Sequence[MemberRow]]],
    *,
    threshold: float,
    min_agencies: int,
) -> Iterator[bytes]:
    """A fieldlink-hits/1 document, a page of groups at a time (for linkage.hits.read_hits).

    One piece per page, not per group: each piece is a hop to a worker thread and a write
    to the socket.
    """
    head = {"format": HITS_FORMAT, "threshold": threshold, "min_agencies": min_agencies}
    yield to_json(head)[:-1] + b',"groups":['
    separator = b""
    for hits, members in pages:
        groups = [
            {"group": view["number"], "agencies": view["agencies"]}
            | {"members": view["members"], "links": view["links"]}
            | {"best_score": view["best_score"], "agreed_fields": view["agreed_fields"] or []}
            for view in hit_views(hits, members)
        ]
        yield separator + to_json(groups)[1:-1]
        separator = b","
    yield b"]}\n"


def csv_export(pages: Iterable[tuple[Sequence[HitRow], Sequence[MemberRow]]]) -> Iterator[bytes]:
    """One CSV row per member the caller may see, with the comparisons that agreed.

    Columns: hit, agencies, agency, reference, best score, and the agreed comparison
    names joined by ';' (empty for runs scored on the record-level filter alone).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for hits, members in pages:
        for view in hit_views(hits, members):
            number, score, agencies = view["number"], view["best_score"], ";".join(view["agencies"])
            agreed = ";".join(view["agreed_fields"] or ())
            writer.writerows(
                (number, agencies, member["agency"], safe_cell(member["reference"]), score, agreed)
                for member in view["members"]
            )
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue().encode()


def safe_cell(value: str) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value
