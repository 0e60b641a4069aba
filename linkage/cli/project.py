"""`fieldlink project watch [on|off]`: a project's standing watch (analysts of the team).

While the watch is on, every batch the hub accepts into the project (a new upload, or a
replacement with other content) queues a matching run by itself, under the same checks as
`fieldlink run`; the upload's answer names the run. `fieldlink runs latest` then says what
is new since the run before. The audit log records each such run, with the upload that
queued it.
"""

import argparse

from linkage.cli.remote import Commands, add_project_command, connect


def register(commands: Commands) -> None:
    """Add the `project` command group."""
    project = commands.add_parser(
        "project", help="a project's standing watch: re-run on each new batch (analyst)"
    )
    actions = project.add_subparsers(required=True, metavar="ACTION")
    watch = add_project_command(
        actions, "watch", "turn the standing watch on or off (without ON/OFF: show it)"
    )
    watch.add_argument(
        "state", metavar="ON|OFF", nargs="?", choices=("on", "off"), help="on or off"
    )
    watch.set_defaults(run=_watch)


def _watch(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        project = hub.find_project(args.project)
        if args.state is not None:
            project = hub.set_watch(project.id, on=args.state == "on")
    if project.watch:
        print(
            f"standing watch on for project {project.name}: "
            "each batch added or replaced queues a run"
        )
    else:
        print(f"standing watch off for project {project.name}: runs start when an analyst asks")
    return 0
