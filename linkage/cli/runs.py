"""`fieldlink runs list|latest|follow|compare`: a project's matching runs (analysts, officers).

`follow` takes up a run started with `fieldlink run --no-wait` (or by a colleague, or by
the project's standing watch) and shows its stages to the end; Ctrl-C stops the
following, never the run. `compare` tells what changed between two runs, by the records
in each hit (`linkage.hits.compare_hits`): new hits, hits gone, hits that grew by
records, and hits otherwise changed. `latest` names the run the hits commands use by
default and what is new in it since the run before (the hub counts it when a run
succeeds); `--changes` lists those hits.
"""

import argparse

from linkage.cli.hub_runs import (
    INTERRUPTED,
    changes_line,
    choose_run,
    follow,
    newest_first,
    run_summary,
    short,
)
from linkage.cli.remote import Commands, add_project_command, connect
from linkage.client import HubClient
from linkage.errors import LinkageError
from linkage.hits import HitChanges, HitRecords, Member, compare_hits
from linkage.hub_models import Hit, Project, Run

_RUN = "a run id or its first characters, `latest` or `previous`"


def register(commands: Commands) -> None:
    """Add the `runs` command group."""
    runs = commands.add_parser("runs", help="list, follow and compare a project's runs")
    actions = runs.add_subparsers(required=True, metavar="ACTION")
    listing = add_project_command(actions, "list", "the project's runs, newest first")
    listing.set_defaults(run=_list)
    latest = add_project_command(
        actions, "latest", "the newest succeeded run and what is new since the one before"
    )
    latest.add_argument("--changes", action="store_true", help="print each new or changed hit")
    latest.set_defaults(run=_latest)
    following = add_project_command(actions, "follow", "follow a run to its end (Ctrl-C: stop)")
    following.add_argument("run_spec", metavar="RUN", nargs="?", help=f"{_RUN} (default: newest)")
    following.add_argument("--timeout", type=float, metavar="SECONDS", help="stop following after")
    following.set_defaults(run=_follow)
    comparing = add_project_command(actions, "compare", "what changed between two runs' hits")
    comparing.add_argument("old", metavar="OLD", help=_RUN)
    comparing.add_argument("new", metavar="NEW", help=_RUN)
    comparing.add_argument("--list", action="store_true", help="print each changed hit")
    comparing.set_defaults(run=_compare)


def run_line(run: Run) -> str:
    """A run on one line: short id, when made, status, stage or hits, threshold.

    A run the standing watch queued says so, and to the team which upload queued it.
    """
    made = f"{run.created_at:%Y-%m-%d %H:%M}" if run.created_at else "?"
    if run.status == "succeeded":
        threshold = f" at {run.threshold:.3f}" if run.threshold is not None else ""
        state = f"{run.hit_count} hits{threshold}"
    elif run.status == "failed":
        state = run.error or "no detail"
    else:
        state = f"{run.stage or 'waiting'} {run.progress:.0%}"
    trigger = ""
    if run.trigger == "watch":
        upload = run.trigger_upload_id
        trigger = f"  (watch: upload {str(upload)[:8]})" if upload else "  (watch)"
    return f"{short(run)}  {made}  {run.status:<9}  {state}{trigger}"


def _list(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        project = hub.find_project(args.project)
        runs = hub.runs(project.id)
    for run in runs:
        print(run_line(run))
    print(f"{len(runs)} runs of project {project.name}")
    return 0


def _latest(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        project = hub.find_project(args.project)
        run = choose_run(hub, project, "latest")
        print(run_line(run))
        since = changes_line(run)
        if since is None:
            # The first succeeded run, one made before the hub counted changes, or a data
            # officer's view (the counts span every agency's hits).
            print("no changes to show: no earlier run counted, or not for your role")
            return 0
        print(since)
        if args.changes and run.changes is not None:
            older = choose_run(hub, project, str(run.changes.since_run_id))
            _print_comparison(hub, project, older, run, listing=True, counts=False)
    return 0


def _follow(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        project = hub.find_project(args.project)
        if args.run_spec is None:  # the newest run, whatever its state
            runs = newest_first(hub.runs(project.id))
            if not runs:
                raise LinkageError(f"project {project.name} has no run")
            run = runs[0]
        else:
            run = choose_run(hub, project, args.run_spec)
        print(f"following run {run.id} ({run.status})")
        finished = run if run.finished else follow(hub, project, run, timeout_s=args.timeout)
    if finished is None:
        return INTERRUPTED
    print(run_summary(finished))
    return 0 if finished.status == "succeeded" else 1


def _compare(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        project = hub.find_project(args.project)
        old, new = (choose_run(hub, project, spec) for spec in (args.old, args.new))
        _print_comparison(hub, project, old, new, listing=args.list, counts=True)
    return 0


def _print_comparison(
    hub: HubClient, project: Project, old: Run, new: Run, *, listing: bool, counts: bool
) -> None:
    old_hits = list(hub.hits(project.id, old.id, page=1000))
    new_hits = list(hub.hits(project.id, new.id, page=1000))
    changes = compare_hits(_records(old_hits), _records(new_hits))
    if counts:
        print(f"run {old.id} ({len(old_hits)} hits) -> run {new.id} ({len(new_hits)} hits)")
        print(_counts(changes))
    if listing:
        _print_changes(changes, {hit.number: hit for hit in new_hits}, old_hits)


def _records(hits: list[Hit]) -> HitRecords:
    return {
        hit.number: frozenset(Member(item.agency, item.reference) for item in hit.members)
        for hit in hits
    }


def _counts(changes: HitChanges) -> str:
    return (
        f"new {len(changes.new)}, gone {len(changes.gone)}, grown {len(changes.grown)}, "
        f"changed {len(changes.changed)}, unchanged {len(changes.unchanged)}"
    )


def _print_changes(changes: HitChanges, new_hits: dict[int, Hit], old_hits: list[Hit]) -> None:
    old_by_number = {hit.number: hit for hit in old_hits}
    for number in changes.new:
        print(f"new      hit {number}: {', '.join(new_hits[number].agencies)}")
    for number, was in changes.grown.items():
        print(f"grown    hit {number}: {', '.join(new_hits[number].agencies)} (was hit {was})")
    for number, before in changes.changed.items():
        were = f"hit{'s' if len(before) > 1 else ''} {', '.join(str(item) for item in before)}"
        print(f"changed  hit {number}: {', '.join(new_hits[number].agencies)} (was {were})")
    for number in changes.gone:
        print(f"gone     hit {number} of the old run: {', '.join(old_by_number[number].agencies)}")
