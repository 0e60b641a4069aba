"""`fieldlink admin ...`: an administrator registers agencies, principals and projects.

Projects' settings (threshold, k, expiry, disclosure approval, probing controls) can be
changed later (`set-project`); runs already made keep the threshold and k they were made with.

Administrators hold no data rights: these commands never see records, hits or the log.
They never hold another principal's token either: a new principal gets a one-time
enrolment code, written to a file with owner-only permissions (never to the terminal), for
the administrator to deliver out of band; the principal redeems it with `fieldlink enrol`,
and a second person activates it (`fieldlink activate`, service.activation).
Team members an administrator adds are pending until a second person confirms them
(`linkage.cli.admin_access`).
"""

import argparse
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeAlias

from linkage.cli.admin_access import register_access, write_code
from linkage.cli.admin_lists import register_lists
from linkage.cli.remote import add_hub_options, connect
from linkage.client import HubClient
from linkage.errors import LinkageError
from linkage.names import agency_name, same_name
from linkage.schema import load_schema

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
ROLES = ("data_officer", "analyst", "auditor", "key_custodian", "administrator")


def register(commands: Commands) -> None:
    """Add the `admin` command group."""
    admin = commands.add_parser("admin", help="register agencies, principals and projects")
    actions = admin.add_subparsers(required=True, metavar="ACTION")
    agency = _add(actions, "add-agency", "register an agency")
    agency.add_argument("name", type=agency_name, help="kept in lower case: names ignore case")
    agency.set_defaults(run=_add_agency)
    principal = _add(
        actions, "add-principal", "register a principal; its enrolment code goes to a file"
    )
    principal.add_argument("--agency", required=True, help="agency name")
    principal.add_argument("--name", required=True)
    principal.add_argument("--role", required=True, choices=ROLES)
    principal.add_argument(
        "--code-out", type=Path, required=True, help="new file, mode 0600; deliver out of band"
    )
    principal.add_argument(
        "--project", action="append", default=[], help="also propose for the team (pending)"
    )
    principal.set_defaults(run=_add_principal)
    project = _add(actions, "add-project", "register a project (Field Lab case)")
    project.add_argument("--name", required=True, help="found later whatever its case")
    project.add_argument("--agency", action="append", required=True, help="repeat per agency")
    project.add_argument("--purpose", required=True)
    project.add_argument("--legal-basis", required=True)
    project.add_argument("--schema", default="person", help="schema file or shipped name")
    project.add_argument("--key-check", required=True, help="from `fieldlink keys check`")
    project.add_argument("--threshold", type=float, help="default: chosen from the data")
    project.add_argument("--min-agencies", type=int, default=2, help="k")
    project.add_argument(
        "--disclosure-approval",
        action="store_true",
        help="release an agency's envelopes only after its data officer approved the hit",
    )
    _probing_options(project, creating=True)
    project.set_defaults(run=_add_project)
    settings = _add(actions, "set-project", "change a project's threshold, k, expiry or approval")
    settings.add_argument("--project", required=True, help="project name or id")
    threshold = settings.add_mutually_exclusive_group()
    threshold.add_argument("--threshold", type=float, help="a fixed Dice/posterior threshold")
    threshold.add_argument(
        "--threshold-from-data", action="store_true", help="choose it from the data again"
    )
    settings.add_argument("--min-agencies", type=int, help="k")
    settings.add_argument(
        "--expires", type=_expiry, help="new expiry: YYYY-MM-DD or an ISO time (UTC if no offset)"
    )
    settings.add_argument(
        "--disclosure-approval",
        choices=["on", "off"],
        help="whether releases wait for the owning agency's approval per hit",
    )
    _probing_options(settings, creating=False)
    settings.set_defaults(run=_set_project)
    epoch = _add(actions, "set-key-check", "move a project to its next secret (new epoch)")
    epoch.add_argument("--project", required=True, help="project name or id")
    epoch.add_argument("--epoch", type=int, required=True, help="the new secret's epoch")
    epoch.add_argument("--key-check", required=True, help="from `fieldlink keys check`")
    epoch.set_defaults(run=_set_key_check)
    register_lists(actions)
    register_access(actions)


def _probing_options(parser: argparse.ArgumentParser, *, creating: bool) -> None:
    # The hub's probing controls at upload; not given: the hub's default (or unchanged).
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument(
        "--upload-budget",
        type=int,
        metavar="RECORDS",
        help="the most records one agency may upload to the project in total (deleted ones count)",
    )
    if not creating:
        budget.add_argument("--no-upload-budget", action="store_true", help="lift the budget")
    parser.add_argument(
        "--max-near-duplicate-share",
        type=float,
        metavar="SHARE",
        help="refuse batches with more records in near-duplicate groups (hub default 0.15)",
    )
    parser.add_argument(
        "--min-fill-share",
        type=float,
        metavar="SHARE",
        help="a record setting fewer of its filter's bits is thin (hub default 0.05)",
    )
    parser.add_argument(
        "--require-salted",
        choices=["on", "off"],
        help="accept salted encodings only (hub default for new projects: on)",
    )


def _probing_changes(args: argparse.Namespace) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if args.upload_budget is not None or getattr(args, "no_upload_budget", False):
        changes["upload_budget_records"] = args.upload_budget  # None: no budget
    if args.max_near_duplicate_share is not None:
        changes["max_near_duplicate_share"] = args.max_near_duplicate_share
    if args.min_fill_share is not None:
        changes["min_fill_share"] = args.min_fill_share
    if args.require_salted is not None:
        changes["require_salted_encodings"] = args.require_salted == "on"
    return changes


def _add(actions: Commands, name: str, help_text: str) -> argparse.ArgumentParser:
    parser = actions.add_parser(name, help=help_text)
    add_hub_options(parser)
    return parser


def _add_agency(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        _refuse_existing([agency.name for agency in hub.agencies()], args.name, "agency")
        agency = hub.create_agency(args.name)
    print(f"agency {agency.name}: {agency.id}")
    return 0


def _add_principal(args: argparse.Namespace) -> int:
    if args.code_out.exists():
        raise LinkageError(f"{args.code_out} exists; codes are never overwritten")
    with connect(args) as hub:
        agency = _agency_id(hub, args.agency)
        created = hub.create_principal(agency, args.name, args.role)
        write_code(args.code_out, created.code)
        for name in args.project:
            hub.add_member(hub.find_project(name).id, created.principal.id)
    teams = f"; proposed for the team of {', '.join(args.project)}" if args.project else ""
    print(
        f"{args.role} {args.name} ({args.agency}): enrolment code in {args.code_out}, valid "
        f"until {created.expires_at:%Y-%m-%d %H:%M} UTC; deliver it out of band{teams}. "
        "Once enrolled, a second person activates it (fieldlink activate)"
    )
    return 0


def _add_project(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        _refuse_existing([project.name for project in hub.projects()], args.name, "project")
        agency_ids = [_agency_id(hub, name) for name in args.agency]
        project = hub.create_project(
            name=args.name,
            purpose=args.purpose,
            legal_basis=args.legal_basis,
            agency_ids=agency_ids,
            schema_fingerprint=load_schema(args.schema).fingerprint(),
            key_check=args.key_check,
            threshold=args.threshold,
            min_agencies=args.min_agencies,
            disclosure_approval=args.disclosure_approval,
            **_probing_changes(args),
        )
    print(f"project {project.name}: {project.id}, expires {project.expires_at:%Y-%m-%d}")
    return 0


def _set_project(args: argparse.Namespace) -> int:
    changes: dict[str, Any] = {}
    if args.threshold is not None or args.threshold_from_data:
        changes["threshold"] = args.threshold  # None: chosen from the data
    if args.min_agencies is not None:
        changes["min_agencies"] = args.min_agencies
    if args.expires is not None:
        changes["expires_at"] = args.expires
    if args.disclosure_approval is not None:
        changes["disclosure_approval"] = args.disclosure_approval == "on"
    changes |= _probing_changes(args)
    if not changes:
        raise LinkageError("name a setting to change (see fieldlink admin set-project --help)")
    with connect(args) as hub:
        project = hub.update_project(hub.find_project(args.project).id, **changes)
    threshold = "from the data" if project.threshold is None else f"{project.threshold:g}"
    approval = "on" if project.disclosure_approval else "off"
    print(
        f"project {project.name}: threshold {threshold}, k {project.min_agencies}, expires "
        f"{project.expires_at:%Y-%m-%d}, disclosure approval {approval} (runs made keep theirs)"
    )
    budget = project.upload_budget_records
    print(
        f"probing controls: upload budget {'none' if budget is None else budget} records per "
        f"agency, near-duplicate share at most {project.max_near_duplicate_share:g}, thin "
        f"below {project.min_fill_share:g}, salted encodings "
        f"{'required' if project.require_salted_encodings else 'not required'}"
    )
    return 0


def _expiry(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError("expected YYYY-MM-DD or an ISO date and time") from err
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _set_key_check(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        project = hub.find_project(args.project)
        updated = hub.rotate_key_check(project.id, epoch=args.epoch, key_check=args.key_check)
    print(
        f"project {updated.name} is at epoch {updated.key_epoch} (key check value "
        f"{updated.key_check}); uploads of earlier epochs stay until their agencies re-encode"
    )
    return 0


def _refuse_existing(names: list[str], name: str, what: str) -> None:
    """Refuse a second name that differs from a registered one only in case."""
    for existing in names:
        if same_name(existing, name):
            raise LinkageError(
                f"{what} {existing!r} is registered already; {what} names ignore case, "
                f"so {name!r} would be the same {what}"
            )


def _agency_id(hub: HubClient, name: str) -> uuid.UUID:
    for agency in hub.agencies():
        if same_name(agency.name, name):
            return agency.id
    raise LinkageError(f"no agency named {name!r} is registered")
