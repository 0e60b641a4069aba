"""Talking to a hub: its address and token for every hub command; `upload` and `run`.

The hub is named by --hub or FIELDLINK_HUB_URL. The bearer token comes from
FIELDLINK_TOKEN or from a file named by --token-file / FIELDLINK_TOKEN_FILE, never from the
command line (it would end up in shell history and process lists).
"""

import argparse
import os
import sys
from pathlib import Path
from typing import TypeAlias

from tqdm import tqdm

from linkage.cli.hub_runs import INTERRUPTED, follow, run_summary
from linkage.client import HubClient
from linkage.errors import LinkageError
from linkage.hub_models import WatchOutcome

DEFAULT_HUB = "http://127.0.0.1:8000"
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def register(commands: Commands) -> None:
    """Add the `upload` and `run` commands."""
    upload = add_project_command(
        commands, "upload", "upload batch files to a hub project (data officer)"
    )
    upload.add_argument("batches", type=Path, nargs="+", help="batch files made by `encode`")
    upload.set_defaults(run=_upload)
    run = add_project_command(
        commands, "run", "start a matching run on the hub and follow it (analyst)"
    )
    run.add_argument("--threshold", type=float, help="override the project's threshold")
    run.add_argument(
        "--no-wait",
        action="store_true",
        help="start the run and return (`fieldlink runs follow` takes it up again)",
    )
    run.add_argument("--timeout", type=float, metavar="SECONDS", help="stop following after")
    run.set_defaults(run=_run)


def add_project_command(commands: Commands, name: str, help_text: str) -> argparse.ArgumentParser:
    """A command (or action) on one project at the hub: --project and the hub options."""
    parser = commands.add_parser(name, help=help_text)
    parser.add_argument("--project", required=True, help="project name or id")
    add_hub_options(parser)
    return parser


def add_hub_options(parser: argparse.ArgumentParser) -> None:
    """--hub and --token-file, shared by every command that calls a hub."""
    parser.add_argument(
        "--hub",
        default=os.environ.get("FIELDLINK_HUB_URL", DEFAULT_HUB),
        help=f"the hub's address (default: $FIELDLINK_HUB_URL, else {DEFAULT_HUB})",
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        default=os.environ.get("FIELDLINK_TOKEN_FILE"),
        help="file holding your bearer token (default: $FIELDLINK_TOKEN_FILE; "
        "$FIELDLINK_TOKEN holds the token itself)",
    )
    parser.add_argument(
        "--insecure-http",
        action="store_true",
        default=os.environ.get("FIELDLINK_INSECURE_HTTP", "") not in ("", "0"),
        help="allow plain http:// to a hub on another machine: your token crosses the "
        "network in clear (default: refused; $FIELDLINK_INSECURE_HTTP=1 allows it)",
    )


def connect(args: argparse.Namespace, *, token_needed: bool = True) -> HubClient:
    """A client for --hub with the caller's token (none for public answers, if none is set)."""
    token = os.environ.get("FIELDLINK_TOKEN")
    if args.token_file is not None:
        try:
            token = Path(args.token_file).read_text(encoding="utf-8").strip()
        except OSError as err:
            raise LinkageError(f"cannot read token file {args.token_file}") from err
    if not token and token_needed:
        raise LinkageError("no bearer token: set FIELDLINK_TOKEN or use --token-file")
    insecure = getattr(args, "insecure_http", False)
    return HubClient.connect(args.hub, token or None, allow_insecure_http=insecure)


def _upload(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        project = hub.find_project(args.project)
        for path in args.batches:
            size = path.stat().st_size if path.exists() else 0
            if not size:
                raise LinkageError(f"{path}: no such batch file, or it is empty")
            with tqdm(
                total=size, unit="B", unit_scale=True, desc=path.name, file=sys.stderr
            ) as bar:
                upload = hub.upload(project.id, path, progress=bar.update)
            if upload.already_stored:
                when = f"{upload.created_at:%Y-%m-%d %H:%M}"
                print(f"{path}: already uploaded as {upload.id} ({when}); nothing new")
                continue
            print(f"{path}: upload {upload.id}: {upload.record_count} records for {upload.agency}")
            if upload.watch is not None:
                print(watch_line(upload.watch, project.name))
    return 0


def watch_line(outcome: WatchOutcome, project: str) -> str:
    """What the project's standing watch did about an upload."""
    if outcome.run_id is not None:
        return (
            f"standing watch: run {outcome.run_id} queued "
            f"(fieldlink runs follow {str(outcome.run_id)[:8]} --project {project})"
        )
    return f"standing watch: no run queued: {outcome.reason or 'no reason given'}"


def _run(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        project = hub.find_project(args.project)
        run = hub.start_run(project.id, threshold=args.threshold)
        print(f"run {run.id} started for project {project.name}")
        if args.no_wait:
            return 0
        finished = follow(hub, project, run, timeout_s=args.timeout)
    if finished is None:
        return INTERRUPTED
    print(run_summary(finished))
    return 0 if finished.status == "succeeded" else 1
