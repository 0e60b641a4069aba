"""What the auditor's pages read from the audit log: filters, names, activity, CSV rows.

The filters are the API's (`schemas.AuditEntryQuery`, then `store.audit.EntryFilter`, as
GET /v1/audit/entries builds them), taken from a form whose empty fields mean "any" and
whose dates are whole UTC days. Names come from the directories auditors may read
(agencies, principals) and the projects the auditor may see; anything else stays an id.

"At a glance" sorts a project's entries that changed something into envelope releases,
disclosure approvals and suspect-list changes by their resource (the route's path with
ids filled in), so the API's routes and the web pages' count alike.
"""

import csv
import io
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from linkage.audit import about, format_time
from service import store
from service.auth import Principal
from service.errors import InvalidInput
from service.models import AuditEntry
from service.schemas import AuditEntryQuery
from service.store import audit as audit_store

PAGE_SIZE = 50
CSV_COLUMNS = (
    "sequence",
    "at",
    "principal",
    "principal_id",
    "agency",
    "agency_id",
    "role",
    "action",
    "method",
    "project",
    "project_id",
    "resource",
    "about",
    "outcome",
    "records",
    "request_id",
    "token_id",
    "entry_hash",
)
# A spreadsheet runs a cell starting with one of these as a formula (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CHANGES = ("POST", "PUT", "PATCH", "DELETE")
KINDS = ("releases", "approvals", "suspects")


@dataclass(frozen=True, slots=True)
class LogForm:
    """The log page's filters as the form sent them (empty: any)."""

    principal: str = ""
    agency: str = ""
    project: str = ""
    action: str = ""
    outcome: str = ""
    since: str = ""
    until: str = ""

    def query(self) -> dict[str, str]:
        """The filters that are set, for links (paging, CSV) that keep them."""
        values = {item.name: getattr(self, item.name) for item in fields(self)}
        return {name: value for name, value in values.items() if value}

    def entry_filter(self) -> audit_store.EntryFilter:
        """The API's filter for these fields; InvalidInput naming the field that is wrong."""
        try:
            query = AuditEntryQuery(
                principal_id=_id(self.principal, "principal"),
                agency_id=_id(self.agency, "agency"),
                project_id=_id(self.project, "project"),
                action=self.action or None,
                outcome=_number(self.outcome, "outcome"),
                since=_day(self.since, "since"),
                until=_day(self.until, "until", next_day=True),
            )
        except ValidationError as err:
            name = ".".join(str(part) for part in err.errors()[0]["loc"])
            raise InvalidInput(f"the filter {name} is not valid") from None
        return audit_store.EntryFilter(**query.model_dump(exclude={"after", "limit"}))


def _id(text: str, name: str) -> uuid.UUID | None:
    if not text:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        raise InvalidInput(f"the filter {name} is not an id") from None


def _number(text: str, name: str) -> int | None:
    if not text:
        return None
    if not text.isdigit():
        raise InvalidInput(f"the filter {name} is not a number")
    return int(text)


def _day(text: str, name: str, *, next_day: bool = False) -> datetime | None:
    """A date (YYYY-MM-DD) as the start of that UTC day, or of the next one (inclusive end)."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"the filter {name} is not a date (YYYY-MM-DD)") from None
    start = datetime.combine(day, time(), tzinfo=UTC)
    return start + timedelta(days=1) if next_day else start


@dataclass(frozen=True, slots=True)
class Directory:
    """Names by id of the principals, agencies and projects the auditor may read."""

    principals: dict[uuid.UUID, str]
    agencies: dict[uuid.UUID, str]
    projects: dict[uuid.UUID, str]
    principal_agency: dict[uuid.UUID, str] = field(default_factory=dict)

    def name(self, names: dict[uuid.UUID, str], key: uuid.UUID | None) -> str:
        """The name for an id; the id's first 8 digits where it has none to show."""
        if key is None:
            return ""
        return names.get(key) or str(key)[:8]


def directory(session: Session, auditor: Principal) -> Directory:
    """The names an auditor may read: every agency and principal, the visible projects."""
    agencies = {agency.id: agency.name for agency in store.list_agencies(session)}
    principals = store.list_principals(session)
    return Directory(
        principals={p.id: p.name for p in principals},
        agencies=agencies,
        projects={p.id: p.name for p in store.list_visible_projects(session, auditor)},
        principal_agency={p.id: agencies.get(p.agency_id, "") for p in principals},
    )


@dataclass(frozen=True, slots=True)
class Row:
    """One entry as the log table shows it."""

    entry: AuditEntry
    principal: str
    agency: str
    project: str
    about: str


def rows(entries: Iterable[AuditEntry], names: Directory) -> list[Row]:
    """Entries with names beside their ids and what they were about."""
    return [
        Row(
            entry,
            names.name(names.principals, entry.principal_id),
            names.name(names.agencies, entry.agency_id),
            names.name(names.projects, entry.project_id),
            about(entry.resource),
        )
        for entry in entries
    ]


def csv_lines(pages: Iterable[Sequence[AuditEntry]], names: Directory) -> Iterator[str]:
    """The entries as CSV text, a page at a time: header first, names beside ids."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield _drain(buffer)
    for page in pages:
        for row in rows(page, names):
            writer.writerow([_cell(value) for value in _csv_values(row)])
        yield _drain(buffer)


def _csv_values(row: Row) -> list[Any]:
    entry = row.entry
    return [
        entry.sequence,
        format_time(entry.at),
        row.principal,
        entry.principal_id or "",
        row.agency,
        entry.agency_id or "",
        entry.role or "",
        entry.action,
        entry.method,
        row.project,
        entry.project_id or "",
        entry.resource or "",
        row.about,
        entry.outcome,
        "" if entry.records is None else entry.records,
        entry.request_id,
        entry.token_id or "",
        entry.entry_hash,
    ]


def _cell(value: object) -> str:
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


@dataclass(slots=True)
class Activity:
    """A project's entries of one kind: done (2xx/3xx), refused, records, the last time."""

    done: int = 0
    refused: int = 0
    records: int = 0
    last: datetime | None = None


def kind_of(method: str, resource: str | None) -> str | None:
    """Which kind of change an entry is: releases, approvals, suspects; None for others."""
    if method not in _CHANGES or not resource:
        return None
    path = resource.split("?", 1)[0]
    if path.endswith("/envelopes"):
        return "releases"
    if path.endswith(("/approvals", "/approve")):
        return "approvals"
    if "/suspects" in path and not path.endswith("/export"):
        return "suspects"
    return None


def activity(
    session: Session, project_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Activity]]:
    """Per project and kind, what its changing entries did (read from the log)."""
    found: dict[uuid.UUID, dict[str, Activity]] = {
        project: {kind: Activity() for kind in KINDS} for project in project_ids
    }
    if not project_ids:
        return found
    query = select(
        AuditEntry.project_id,
        AuditEntry.method,
        AuditEntry.resource,
        AuditEntry.outcome,
        AuditEntry.records,
        AuditEntry.at,
    ).where(AuditEntry.project_id.in_(project_ids), AuditEntry.method.in_(_CHANGES), _touching())
    for project, method, resource, outcome, records, at in session.execute(query):
        kind = kind_of(method, resource)
        if kind is None or project is None:
            continue
        item = found[project][kind]
        if outcome < 400:
            item.done += 1
            item.records += records or 0
        else:
            item.refused += 1
        item.last = at if item.last is None or at > item.last else item.last
    return found


def entries_of_kind(
    session: Session, project_id: uuid.UUID, kind: str, *, limit: int
) -> list[AuditEntry]:
    """The project's latest entries of one kind, newest first."""
    query = (
        select(AuditEntry)
        .where(
            AuditEntry.project_id == project_id,
            AuditEntry.method.in_(_CHANGES),
            _touching(),
        )
        .order_by(AuditEntry.sequence.desc())
    )
    found: list[AuditEntry] = []
    for entry in session.scalars(query):
        if kind_of(entry.method, entry.resource) == kind:
            found.append(entry)
            if len(found) == limit:
                break
    return found


def _touching() -> Any:
    return or_(
        AuditEntry.resource.like("%/envelopes%"),
        AuditEntry.resource.like("%/approv%"),
        AuditEntry.resource.like("%/suspects%"),
    )
