"""`fieldlink audit log`: read the hub's audit log, filtered, with names beside the ids.

Filters are the hub's (GET /v1/audit/entries): who (`--principal`, by name or id), which
agency and project (by name or id), the action (an operation id such as
`suspects-create_suspect`), the HTTP outcome, and a time range (`--since` inclusive,
`--until` exclusive; a date or an ISO time, UTC when no offset is given). Names come from
the hub's directories, which auditors may read. Each entry prints as one JSON line, or
with `--table` as an aligned row; a filter that keeps no entry exits 1.
"""

import argparse
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from linkage.audit import about
from linkage.cli.common import UsageError
from linkage.client import HubClient
from linkage.errors import HubRequestError, LinkageError
from linkage.hub_models import AuditEntry

NamedT = TypeVar("NamedT")


def add_filters(parser: argparse.ArgumentParser) -> None:
    """The filter and output options of `audit log`."""
    parser.add_argument("--principal", help="who acted: a principal's name or id")
    parser.add_argument("--agency", help="the acting principal's agency: name or id")
    parser.add_argument("--project", help="project name or id")
    parser.add_argument("--action", help="operation id, e.g. suspects-create_suspect")
    parser.add_argument("--outcome", type=int, metavar="STATUS", help="HTTP status, e.g. 403")
    parser.add_argument("--since", type=moment, help="from this time on (YYYY-MM-DD or ISO)")
    parser.add_argument("--until", type=moment, help="before this time (YYYY-MM-DD or ISO)")
    parser.add_argument("--table", action="store_true", help="aligned rows instead of JSON lines")


def moment(text: str) -> datetime:
    """A date or ISO time; UTC when it carries no offset."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError("expected YYYY-MM-DD or an ISO date and time") from err
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


class Directory:
    """Names of principals, agencies and projects by id, as far as the caller may read them."""

    def __init__(self, hub: HubClient) -> None:
        self.principals = {item.id: item.name for item in _readable(hub.principals)}
        self.agencies = {item.id: item.name for item in _readable(hub.agencies)}
        self.projects = {item.id: item.name for item in _readable(hub.projects)}

    def resolve(self, names: dict[uuid.UUID, str], spec: str | None, what: str) -> str | None:
        """The id for a name or id given on the command line (None: no filter)."""
        if spec is None:
            return None
        if _is_uuid(spec):
            return spec
        found = [key for key, name in names.items() if name.casefold() == spec.casefold()]
        if not found:
            raise LinkageError(f"no {what} named {spec!r} is known to you at the hub")
        if len(found) > 1:
            raise UsageError(f"{len(found)} {what}s are named {spec!r}: give the id")
        return str(found[0])

    def name(self, names: dict[uuid.UUID, str], key: uuid.UUID | None) -> str | None:
        """The name for an id; the id itself when the caller may not read it."""
        return None if key is None else names.get(key, str(key))


def filters(directory: Directory, args: argparse.Namespace) -> dict[str, Any]:
    """The hub's query filters for the command line's options."""
    return {
        "principal_id": directory.resolve(directory.principals, args.principal, "principal"),
        "agency_id": directory.resolve(directory.agencies, args.agency, "agency"),
        "project_id": directory.resolve(directory.projects, args.project, "project"),
        "action": args.action,
        "outcome": args.outcome,
        "since": args.since,
        "until": args.until,
    }


def described(entry: AuditEntry, directory: Directory) -> dict[str, Any]:
    """An entry as JSON, with the names of who, which agency and which project beside ids."""
    document = entry.model_dump(mode="json")
    document["principal"] = directory.name(directory.principals, entry.principal_id)
    document["agency"] = directory.name(directory.agencies, entry.agency_id)
    document["project"] = directory.name(directory.projects, entry.project_id)
    document["about"] = about(entry.resource) or None
    return document


def print_entries(entries: Iterable[AuditEntry], directory: Directory, *, table: bool) -> int:
    """Print the entries; returns how many there were."""
    count = 0
    for entry in entries:
        document = described(entry, directory)
        print(_row(document) if table else json.dumps(document, ensure_ascii=False))
        count += 1
    return count


TABLE_HEADER = (
    f"{'#':>7}  {'time (UTC)':<19}  {'principal':<20} {'agency':<12} {'role':<13} "
    f"{'action':<34} {'outcome':>7}  {'project':<12} {'records':>7}  about"
)


def _row(document: dict[str, Any]) -> str:
    at = document["at"][:19].replace("T", " ")
    records = "" if document["records"] is None else str(document["records"])
    return (
        f"{document['sequence']:>7}  {at:<19}  {_cell(document['principal'], 20)} "
        f"{_cell(document['agency'], 12)} {_cell(document['role'], 13)} "
        f"{_cell(document['action'], 34)} {document['outcome']:>7}  "
        f"{_cell(document['project'], 12)} {records:>7}  {document['about'] or ''}"
    )


def _cell(value: str | None, width: int) -> str:
    text = value or "-"
    return (text if len(text) <= width else text[: width - 1] + "~").ljust(width)


def _readable(fetch: Callable[[], Sequence[NamedT]]) -> Sequence[NamedT]:
    try:
        return fetch()
    except HubRequestError as err:
        if err.status in (403, 404):  # an older hub, or a role without the directory
            return []
        raise


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
