"""Suspects as analysts see them, and the suspect list's exports (JSON and CSV)."""

import csv
import io
import json
import uuid
from collections.abc import Mapping, Sequence
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


def json_document(suspects: Sequence[SuspectPublic], *, project_id: str, now: datetime) -> str:
    """The suspect list as one fieldlink-suspects/1 JSON document."""
    document = {
        "format": SUSPECTS_FORMAT,
        "project_id": project_id,
        "exported_at": now.isoformat(),
        "suspects": [suspect.model_dump(mode="json") for suspect in suspects],
    }
    return json.dumps(document, indent=2) + "\n"


def csv_document(suspects: Sequence[SuspectPublic]) -> str:
    """The suspect list as CSV, one row per member of each suspect's hit."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for suspect in suspects:
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
    return buffer.getvalue()
