"""`fieldlink enrol`, `fieldlink activate` and `fieldlink team list|confirm`.

An administrator registers a principal and delivers its one-time enrolment code out of
band; the principal redeems it here, so its token exists only on its own machine. The
token works once a second person activated the principal (`fieldlink activate`): a data
officer or key custodian of its agency, or, for an agency's first officer and for
administrators, an administrator who did not create its code. The principal reads out
its enrolment check to that person, which binds the activation to its own token.

Adding a member to a project's team takes two people as well: an administrator proposes
it, and a data officer of one of the project's agencies confirms it (where those agencies
have no data officer, another administrator), never one the proposer registered.
"""

import argparse
import os
from pathlib import Path
from typing import TypeAlias

from linkage.cli.admin_access import find_principal
from linkage.cli.common import UsageError
from linkage.cli.remote import add_hub_options, connect
from linkage.client import HubClient
from linkage.errors import LinkageError

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def register(commands: Commands) -> None:
    """Add the `enrol`, `activate` and `team` commands."""
    enrol = commands.add_parser("enrol", help="redeem an enrolment code for your own bearer token")
    enrol.add_argument("--code-file", type=Path, required=True, help="the code you were given")
    enrol.add_argument("--token-out", type=Path, required=True, help="new file, mode 0600")
    add_hub_options(enrol)
    enrol.set_defaults(run=_enrol)
    activate = commands.add_parser(
        "activate", help="activate a newly enrolled principal (the second person)"
    )
    which = activate.add_mutually_exclusive_group(required=True)
    which.add_argument("--principal", help="name or id, as `--pending` lists it")
    which.add_argument(
        "--pending", action="store_true", help="list the principals you may activate"
    )
    activate.add_argument("--check", help="the enrolment check the principal read out to you")
    add_hub_options(activate)
    activate.set_defaults(run=_activate)
    team = commands.add_parser(
        "team", help="a project's team: list it, confirm proposed members (data officer)"
    )
    actions = team.add_subparsers(required=True, metavar="ACTION")
    show = actions.add_parser("list", help="the team, pending members included")
    show.add_argument("--project", required=True, help="project name or id")
    add_hub_options(show)
    show.set_defaults(run=_list)
    confirm = actions.add_parser("confirm", help="confirm a proposed member (second person)")
    confirm.add_argument("--project", required=True, help="project name or id")
    confirm.add_argument("--principal", required=True, help="name or id, as `team list` shows")
    add_hub_options(confirm)
    confirm.set_defaults(run=_confirm)


def _enrol(args: argparse.Namespace) -> int:
    if args.token_out.exists():
        raise LinkageError(f"{args.token_out} exists; tokens are never overwritten")
    try:
        code = args.code_file.read_text(encoding="utf-8").strip()
    except OSError as err:
        raise LinkageError(f"cannot read code file {args.code_file}") from err
    insecure = getattr(args, "insecure_http", False)
    with HubClient.connect(args.hub, None, allow_insecure_http=insecure) as hub:  # no token yet
        enrolled = hub.redeem_enrolment_code(code)
    descriptor = os.open(args.token_out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(enrolled.token + "\n")
    print(f"enrolled: your token is in {args.token_out} (mode 0600); the code is spent")
    print(f"enrolment check: {enrolled.enrolment_check}")
    print(
        "your token works once a second person activated you: read the enrolment check out "
        "to a data officer of your agency (an administrator for a first officer or an "
        "administrator), who runs `fieldlink activate`"
    )
    return 0


def _activate(args: argparse.Namespace) -> int:
    if args.pending:
        with connect(args) as hub:
            waiting = hub.pending_principals()
        for item in waiting:
            print(f"{str(item.id)[:8]}  {item.name:<24} {item.role}")
        print(f"{len(waiting)} principals await activation")
        return 0
    if not args.check:
        raise UsageError("--principal needs --check: the enrolment check the principal read out")
    with connect(args) as hub:
        principal = find_principal(hub.pending_principals(), args.principal)
        activated = hub.activate_principal(principal.id, args.check)
    print(f"{activated.role} {activated.name} is active: its token works from now on")
    return 0


def _list(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        project = hub.find_project(args.project)
        members = hub.team(project.id)
    for member in members:
        print(f"{str(member.id)[:8]}  {member.name:<24} {member.role:<14} {member.status}")
    pending = sum(member.status == "pending" for member in members)
    print(f"{len(members)} members of project {project.name}, {pending} pending confirmation")
    return 0


def _confirm(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        project = hub.find_project(args.project)
        member = find_principal(list(hub.team(project.id)), args.principal)
        confirmed = hub.confirm_member(project.id, member.id)
    print(f"{confirmed.name} ({confirmed.role}) is on the team of {project.name}")
    return 0
