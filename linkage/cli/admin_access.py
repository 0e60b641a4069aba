"""`fieldlink admin ...` access actions: enrolment codes, disabling, team changes, the purge.

Administrators never hold another principal's token: they hand out one-time enrolment
codes (written to a file with owner-only permissions, to deliver out of band), which the
principal redeems itself (`fieldlink enrol`) and a second person activates (`fieldlink
activate`). A member an administrator adds to a team is pending until a data officer of one
of the project's agencies confirms it (`fieldlink team confirm`), never one the same
administrator registered. Disabling a principal or removing a member takes effect with its
next request.
"""

import argparse
import os
import uuid
from pathlib import Path
from typing import TypeAlias

from linkage.cli.remote import add_hub_options, connect
from linkage.client import HubClient
from linkage.errors import LinkageError
from linkage.hub_models import PrincipalInfo

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def register_access(actions: Commands) -> None:
    """Add the enrolment, disabling, team and purge actions to the `admin` group."""
    code = _add(actions, "enrolment-code", "a new enrolment code for a principal (lost token)")
    code.add_argument("--principal", required=True, help="name or id")
    code.add_argument("--code-out", type=Path, required=True, help="new file, mode 0600")
    code.set_defaults(run=_enrolment_code)
    disable = _add(actions, "disable-principal", "disable a principal: its tokens stop working")
    disable.add_argument("--principal", required=True, help="name or id")
    disable.set_defaults(run=_disable)
    for name, help_text, run in (
        ("add-member", "propose a principal for a team (a data officer confirms)", _add_member),
        ("remove-member", "take a principal off a team, at once", _remove_member),
    ):
        member = _add(actions, name, help_text)
        member.add_argument("--project", required=True, help="project name or id")
        member.add_argument("--principal", required=True, help="name or id")
        member.set_defaults(run=run)
    purge = _add(actions, "purge", "delete an expired project's data; save the signed receipt")
    purge.add_argument("--project", required=True, help="project name or id")
    purge.add_argument("--receipt-out", type=Path, required=True, help="JSON file to write")
    purge.set_defaults(run=_purge)


def write_code(path: Path, code: str) -> None:
    """Write an enrolment code to a new owner-only file (never to the terminal)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as err:
        raise LinkageError(f"{path} exists; codes are never overwritten") from err
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(code + "\n")


def find_principal(principals: list[PrincipalInfo], spec: str) -> PrincipalInfo:
    """The one principal named `spec` (any case), or whose id starts with it (4+ characters)."""
    wanted = spec.casefold()
    found = [
        item
        for item in principals
        if item.name.casefold() == wanted or (len(wanted) >= 4 and str(item.id).startswith(wanted))
    ]
    if len(found) != 1:
        raise LinkageError(
            f"no principal {spec!r}" if not found else f"{spec!r} names several principals"
        )
    return found[0]


def _add(actions: Commands, name: str, help_text: str) -> argparse.ArgumentParser:
    parser = actions.add_parser(name, help=help_text)
    add_hub_options(parser)
    return parser


def _principal_id(hub: HubClient, spec: str) -> uuid.UUID:
    return find_principal(hub.principals(), spec).id


def _enrolment_code(args: argparse.Namespace) -> int:
    if args.code_out.exists():
        raise LinkageError(f"{args.code_out} exists; codes are never overwritten")
    with connect(args) as hub:
        created = hub.create_enrolment_code(_principal_id(hub, args.principal))
    write_code(args.code_out, created.code)
    print(
        f"enrolment code in {args.code_out}, valid until {created.expires_at:%Y-%m-%d %H:%M} "
        "UTC; deliver it out of band. The principal's earlier tokens no longer work, and it "
        "is pending until a second person activates its new enrolment (fieldlink activate)."
    )
    return 0


def _disable(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        principal = hub.disable_principal(_principal_id(hub, args.principal))
    print(f"{principal.name} is disabled: its tokens and enrolment codes no longer work")
    return 0


def _add_member(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        project = hub.find_project(args.project)
        member = hub.add_member(project.id, _principal_id(hub, args.principal))
    print(
        f"{member.name} proposed for the team of {project.name}: {member.status} until a data "
        "officer of one of its agencies confirms (fieldlink team confirm)"
    )
    return 0


def _remove_member(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        project = hub.find_project(args.project)
        principal = find_principal(hub.principals(), args.principal)
        hub.remove_member(project.id, principal.id)
    print(f"{principal.name} is off the team of {project.name}")
    return 0


def _purge(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        project = hub.find_project(args.project)
        receipt = hub.purge_project(project.id, args.receipt_out)
    counts = ", ".join(f"{count} {kind}" for kind, count in sorted(receipt["counts"].items()))
    print(f"purged project {project.name}: {counts}")
    print(f"signed receipt in {args.receipt_out}; check it: fieldlink audit verify-receipt FILE")
    return 0
