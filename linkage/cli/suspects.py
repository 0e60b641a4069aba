"""`fieldlink suspects ...`: the project's suspect list, kept by its analysts.

`add` shortlists hits of a run (named in the answer); `status`, `note` and `remove` act on
one suspect, named by its id, the first characters `list` prints, or the hit it was
shortlisted from (`--hit N`, of the run `--run` names: the newest succeeded by default).
The hub keeps who changed what in the audit log.
"""

import argparse
from pathlib import Path

from linkage.cli.common import UsageError, by_id
from linkage.cli.excel import add_excel_option, rewrite_for_excel
from linkage.cli.hub_runs import add_run_option, choose_run
from linkage.cli.remote import Commands, add_project_command, connect
from linkage.client import HubClient
from linkage.errors import LinkageError
from linkage.hub_models import Project, Suspect

STATUSES = ("new", "under_review", "confirmed", "dismissed", "handed_over")


# Notes are sealed at rest at the hub, and every analyst and auditor on the team reads them.
NOTE_HELP = "visible to the team: its analysts and its auditors (sealed at rest at the hub)"


def register(commands: Commands) -> None:
    """Add the `suspects` command group."""
    suspects = commands.add_parser("suspects", help="the project's suspect list (analyst)")
    actions = suspects.add_subparsers(required=True, metavar="ACTION")
    show = add_project_command(actions, "list", "print the suspect list")
    show.set_defaults(run=_list)
    add = add_project_command(actions, "add", "shortlist hits of a run (default: the newest)")
    add_run_option(add)
    add.add_argument("--hit", type=int, action="append", default=[], help="hit number (repeat)")
    add.add_argument("--spanning", type=int, help="every hit spanning at least this many agencies")
    add.add_argument("--status", default="new", choices=STATUSES)
    add.add_argument("--note", default="", help=NOTE_HELP)
    add.set_defaults(run=_add)
    status = _one_suspect(actions, "status", "set a suspect's status")
    status.add_argument("status", choices=STATUSES)
    status.set_defaults(run=_set_status)
    note = _one_suspect(actions, "note", "replace a suspect's note")
    note.add_argument("note", help=f'the new note ("" clears it); {NOTE_HELP}')
    note.set_defaults(run=_set_note)
    remove = _one_suspect(actions, "remove", "take a suspect off the list")
    remove.set_defaults(run=_remove)
    export = add_project_command(actions, "export", "write the suspect list to a file")
    export.add_argument("--out", type=Path, required=True)
    export.add_argument("--format", choices=["csv", "json"], default="csv")
    add_excel_option(export)
    export.set_defaults(run=_export)


def _one_suspect(actions: Commands, name: str, help_text: str) -> argparse.ArgumentParser:
    parser = add_project_command(actions, name, help_text)
    parser.add_argument(
        "suspect", nargs="?", help="suspect id or its first characters (or name it by --hit)"
    )
    parser.add_argument("--hit", type=int, help="the suspect shortlisted from this hit")
    add_run_option(parser)
    return parser


def suspect_line(suspect: Suspect) -> str:
    """One suspect: short id, status, the run and hit it came from, agencies, note."""
    source = ""
    if suspect.run_id is not None and suspect.hit_number is not None:
        source = f"run {str(suspect.run_id)[:8]} hit {suspect.hit_number:<5} "
    agencies = ", ".join(suspect.agencies)
    return f"{str(suspect.id)[:8]}  {suspect.status:<12} {source}{agencies}  {suspect.note}"


def _list(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        project = hub.find_project(args.project)
        suspects = hub.suspects(project.id)
    for suspect in suspects:
        print(suspect_line(suspect))
    print(f"{len(suspects)} on the suspect list of {project.name}")
    return 0


def _add(args: argparse.Namespace) -> int:
    if not args.hit and args.spanning is None:
        raise UsageError("name hits with --hit N or --spanning K")
    with connect(args) as hub:
        project = hub.find_project(args.project)
        run = choose_run(hub, project, args.run_spec)
        hits = list(hub.hits(project.id, run.id, page=1000))
        unknown = sorted(set(args.hit) - {hit.number for hit in hits})
        if unknown:
            listed = ", ".join(str(number) for number in unknown)
            raise LinkageError(f"run {run.id} has no hit {listed}: nothing was shortlisted")
        chosen = [
            hit
            for hit in hits
            if hit.number in args.hit
            or (args.spanning is not None and len(hit.agencies) >= args.spanning)
        ]
        if not chosen:
            raise LinkageError(f"no hit of run {run.id} spans {args.spanning} agencies")
        listed_already = {suspect.hit_id for suspect in hub.suspects(project.id)}
        new = [hit for hit in chosen if hit.id not in listed_already]
        if not new:
            raise LinkageError(
                f"the {len(chosen)} hits of run {run.id} are on the list already: nothing added"
            )
        for hit in new:
            hub.add_suspect(project.id, hit.id, status=args.status, note=args.note)
    skipped = len(chosen) - len(new)
    there = f" ({skipped} were on the list already)" if skipped else ""
    print(f"shortlisted {len(new)} hits of run {run.id}{there}")
    return 0


def _set_status(args: argparse.Namespace) -> int:
    return _change(args, status=args.status)


def _set_note(args: argparse.Namespace) -> int:
    return _change(args, note=args.note)


def _change(args: argparse.Namespace, **fields: str) -> int:
    with connect(args) as hub:
        project = hub.find_project(args.project)
        suspect = _find(hub, project, args)
        changed = hub.update_suspect(project.id, suspect.id, **fields)
    print(f"changed: {suspect_line(changed)}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        project = hub.find_project(args.project)
        suspect = _find(hub, project, args)
        hub.delete_suspect(project.id, suspect.id)
    print(f"removed from the suspect list of {project.name}: {suspect_line(suspect)}")
    return 0


def _find(hub: HubClient, project: Project, args: argparse.Namespace) -> Suspect:
    if (args.suspect is None) == (args.hit is None):
        raise UsageError("name the suspect by its id or by --hit N, one of the two")
    where = f" on the suspect list of {project.name}"
    suspects = hub.suspects(project.id)
    if args.suspect is not None:
        return by_id(suspects, args.suspect, "suspect", lambda item: str(item.id), where)
    run = choose_run(hub, project, args.run_spec)
    for suspect in suspects:
        if suspect.run_id == run.id and suspect.hit_number == args.hit:
            return suspect
    raise LinkageError(f"hit {args.hit} of run {run.id} is not{where}")


def _export(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        project = hub.find_project(args.project)
        hub.export_suspects(project.id, args.out, fmt="csv" if args.excel else args.format)
    if args.excel:
        rewrite_for_excel(args.out)
    print(f"wrote the suspect list of {project.name} to {args.out}")
    return 0
