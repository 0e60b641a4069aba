"""Suspects as analysts see them, and the suspect list's exports (JSON and CSV).

Exports are written a page of suspects at a time (`store.suspects.suspect_pages`), so a
long list is never held whole; the text is the same as one document written at once.
"""

import csv
import io
import json
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime

from service.hit_views import safe_cell
from service.schemas import HitMemberPublic, SuspectPublic
from service.store.hits import MemberRow
from service.store.suspects import SuspectRow

SUSPECTS_FORMAT = "fieldlink-suspects/1"
CSV_COLUMNS = ("suspect", "status", "note", "run", "hit", "agencies", "agency", "reference")


def suspect_views(
    rows: Sequence[SuspectRow],
    members: Mapping[uuid.UUID, list[MemberRow]],
    notes: Mapping[uuid.UUID, str],
) -> list[SuspectPublic]:
    """Suspects with their hits' members, by hit id (the team sees every member in full).

    `notes` holds each suspect's note, opened (service.notes), by suspect id.
    """
    return [
        _suspect_public(row, members.get(row.suspect.hit_id, []), notes[row.suspect.id])
        for row in rows
    ]


def _suspect_public(row: SuspectRow, members: list[MemberRow], note: str) -> SuspectPublic:
    suspect = row.suspect
    return SuspectPublic(
        id=suspect.id,
        hit_id=suspect.hit_id,
        run_id=row.run_id,
        hit_number=row.hit_number,
        agencies=sorted({member.agency for member in members}),
        members=[
            HitMemberPublic(agency=member.agency, reference=member.reference or "")
            for member in members
        ],
        status=suspect.status,
        note=note,
        created_by=suspect.created_by,
        created_at=suspect.created_at,
        updated_at=suspect.updated_at,
    )


def json_chunks(
    pages: Iterable[Sequence[SuspectPublic]], *, project_id: str, now: datetime
) -> Iterator[str]:
    """The suspect list as one fieldlink-suspects/1 JSON document, a page at a time.

    The text is `json.dumps(document, indent=2)` and a newline, with the document
    {"format", "project_id", "exported_at", "suspects": [...]}: each suspect is dumped
    alone and indented to its place in the list (JSON strings hold no raw line breaks).
    """
    head = {"format": SUSPECTS_FORMAT, "project_id": project_id, "exported_at": now.isoformat()}
    yield json.dumps(head, indent=2)[: -len("\n}")] + ',\n  "suspects": ['
    written = False  # any suspect yet: the list's brackets are "[]" when empty
    for page in pages:
        pieces = []
        for suspect in page:
            dumped = json.dumps(suspect.model_dump(mode="json"), indent=2)
            pieces.append(("," if written else "") + "\n    " + dumped.replace("\n", "\n    "))
            written = True
        yield "".join(pieces)
    yield ("\n  ]" if written else "]") + "\n}\n"


def csv_chunks(pages: Iterable[Sequence[SuspectPublic]]) -> Iterator[str]:
    """The suspect list as CSV, one row per member of each suspect's hit, a page at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for page in pages:
        for suspect in page:
            agencies = ";".join(suspect.agencies)
            note = safe_cell(suspect.note)
            hit = (suspect.run_id, suspect.hit_number, agencies)
            writer.writerows(
                (
                    suspect.id,
                    suspect.status.value,
                    note,
                    *hit,
                    member.agency,
                    safe_cell(member.reference),
                )
                for member in suspect.members
            )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
