"""Commands that talk to a hub: `upload`, `run`, `hits`, `approve`, `suspects list|add|export`.

The hub is named by --hub or FIELDLINK_HUB_URL. The bearer token comes from
FIELDLINK_TOKEN or from a file named by --token-file / FIELDLINK_TOKEN_FILE, never from the
command line (it would end up in shell history and process lists).
"""

import argparse
import os
import sys
import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeAlias

from tqdm import tqdm

from keys import KeyKind, read_private_key
from linkage.cli.common import passphrase_from_env
from linkage.cli.disclosure import open_hits, print_identities, write_identities
from linkage.client import HubClient
from linkage.errors import LinkageError
from linkage.hub_models import Hit, Project, Run

DEFAULT_HUB = "http://127.0.0.1:8000"
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def register(commands: Commands) -> None:
    """Add the `upload`, `run`, `hits` and `suspects` commands."""
    upload = _add(commands, "upload", "upload batch files to a hub project (data officer)")
    upload.add_argument("batches", type=Path, nargs="+", help="batch files made by `encode`")
    upload.set_defaults(run=_upload)
    run = _add(commands, "run", "start a matching run on the hub and follow it (analyst)")
    run.add_argument("--threshold", type=float, help="override the project's threshold")
    run.add_argument("--no-wait", action="store_true", help="start the run and return")
    run.set_defaults(run=_run)
    hits = _add(commands, "hits", "download a run's hits (analyst: all; data officer: own)")
    hits.add_argument("--run-id", type=uuid.UUID, help="default: the latest finished run")
    hits.add_argument("--out", type=Path, help="file to write (default: print a summary)")
    hits.add_argument("--format", choices=["json", "csv"], default="json")
    _open_options(hits)
    hits.set_defaults(run=_hits)
    approve = _add(
        commands, "approve", "approve disclosure of own envelopes per hit (data officer)"
    )
    approve.add_argument("hits", type=int, nargs="*", metavar="NUMBER", help="hit numbers")
    approve.add_argument("--run-id", type=uuid.UUID, help="default: the latest finished run")
    approve.add_argument("--pending", action="store_true", help="list hits awaiting approval")
    approve.set_defaults(run=_approve)
    _register_suspects(commands)


def _open_options(hits: argparse.ArgumentParser) -> None:
    hits.add_argument(
        "--open", action="store_true", help="fetch and open the hits' envelopes (team; --out: CSV)"
    )
    hits.add_argument("--team-key", type=Path, metavar="TEAM.key", help="team private key file")
    hits.add_argument("--passphrase-env", metavar="VAR", help="the team key's passphrase")
    hits.add_argument("--hit", type=int, action="append", default=[], help="only these hits")
    hits.add_argument("--label", help="the secret's project label (default: the hub's)")


def _register_suspects(commands: Commands) -> None:
    suspects = commands.add_parser("suspects", help="the project's suspect list (analyst)")
    actions = suspects.add_subparsers(required=True, metavar="ACTION")
    show = _add(actions, "list", "print the suspect list")
    show.set_defaults(run=_list_suspects)
    add = _add(actions, "add", "shortlist hits of a run (default: the newest succeeded one)")
    add.add_argument("--run-id", type=uuid.UUID, help="default: the newest succeeded run")
    add.add_argument("--hit", type=int, action="append", default=[], help="hit number (repeat)")
    add.add_argument("--spanning", type=int, help="every hit spanning at least this many agencies")
    add.add_argument("--status", default="new")
    add.add_argument("--note", default="")
    add.set_defaults(run=_add_suspects)
    export = _add(actions, "export", "write the suspect list to a file")
    export.add_argument("--out", type=Path, required=True)
    export.add_argument("--format", choices=["csv", "json"], default="csv")
    export.set_defaults(run=_export_suspects)


def _add(commands: Commands, name: str, help_text: str) -> argparse.ArgumentParser:
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


def connect(args: argparse.Namespace) -> HubClient:
    """A client for --hub with the caller's token."""
    token = os.environ.get("FIELDLINK_TOKEN")
    if args.token_file is not None:
        try:
            token = Path(args.token_file).read_text(encoding="utf-8").strip()
        except OSError as err:
            raise LinkageError(f"cannot read token file {args.token_file}") from err
    if not token:
        raise LinkageError("no bearer token: set FIELDLINK_TOKEN or use --token-file")
    insecure = getattr(args, "insecure_http", False)
    return HubClient.connect(args.hub, token, allow_insecure_http=insecure)


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
    return 0


def _run(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        project = hub.find_project(args.project)
        run = hub.start_run(project.id, threshold=args.threshold)
        print(f"run {run.id} started for project {project.name}")
        if args.no_wait:
            return 0
        with tqdm(total=100, unit="%", desc="matching", file=sys.stderr) as bar:

            def show(current: Run) -> None:
                bar.set_postfix_str(current.stage)
                bar.update(round(current.progress * 100) - bar.n)

            run = hub.wait(project.id, run.id, on_progress=show)
    print(_run_summary(run))
    return 0 if run.status == "succeeded" else 1


def _run_summary(run: Run) -> str:
    if run.status != "succeeded":
        return f"run {run.id} {run.status}: {run.error or 'no detail'}"
    estimate = ""
    if run.estimated_precision is not None and run.estimated_recall is not None:
        estimate = (
            f" (estimated without labels: precision {run.estimated_precision:.3f},"
            f" recall {run.estimated_recall:.3f})"
        )
    threshold = f"{run.threshold:.3f}" if run.threshold is not None else "auto"
    return f"run {run.id} succeeded: {run.hit_count} hits at threshold {threshold}{estimate}"


def _hits(args: argparse.Namespace) -> int:
    if args.open:
        return _open_hits(args)
    with connect(args) as hub:
        project = hub.find_project(args.project)
        run_id = args.run_id or _latest_finished(hub, project).id
        if args.out is None:
            print(_hits_summary(hub.hits(project.id, run_id)))
            return 0
        hub.export_hits(project.id, run_id, args.out, fmt=args.format)
    print(f"wrote the hits of run {run_id} to {args.out}")
    return 0


def _open_hits(args: argparse.Namespace) -> int:
    if args.team_key is None:
        raise LinkageError("--open needs --team-key TEAM.key, the team's private key file")
    passphrase = passphrase_from_env(args.passphrase_env)
    team_key = read_private_key(args.team_key, passphrase=passphrase, kind=KeyKind.TEAM)
    with connect(args) as hub:
        project = hub.find_project(args.project)
        label = args.label or project.key_label
        if not label:
            raise LinkageError("the hub knows no secret label for the project yet: pass --label")
        run_id = args.run_id or _latest_finished(hub, project).id
        hits = [
            hit for hit in hub.hits(project.id, run_id) if not args.hit or hit.number in args.hit
        ]
        unknown = sorted(set(args.hit) - {hit.number for hit in hits})
        if unknown:
            listed = ", ".join(str(number) for number in unknown)
            raise LinkageError(f"run {run_id} has no hit {listed}: nothing was opened")
        agencies = {hit.number: tuple(hit.agencies) for hit in hits}
        numbers = [hit.number for hit in hits]
        opened = open_hits(
            hub, project.id, run_id, numbers, team_key=team_key, label=label, agencies=agencies
        )
    if args.out is None:
        print_identities(opened)
        return 0
    write_identities(args.out, opened.identities)
    print(f"wrote {len(opened.identities)} identities of {len(hits)} hits to {args.out}")
    return 0


def _approve(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        project = hub.find_project(args.project)
        run_id = args.run_id or _latest_finished(hub, project).id
        if args.pending or not args.hits:
            if not project.disclosure_approval:
                print(f"project {project.name} releases envelopes without approval: none pending")
                return 0
            waiting = list(hub.approvals(project.id, run_id, pending=True))
            for item in waiting:
                print(f"hit {item.hit_number}: {item.agency} has not approved disclosure")
            print(f"{len(waiting)} approvals pending in run {run_id}")
            return 0
        for number in args.hits:
            approval = hub.approve_disclosure(project.id, run_id, number)
            print(f"hit {number}: disclosure of {approval.agency}'s envelopes approved")
    return 0


def _hits_summary(hits: Iterable[Hit]) -> str:
    spans = Counter(len(hit.agencies) for hit in hits)
    if not spans:
        return "no hits"
    parts = [f"{spans[k]} span {k} agencies" for k in sorted(spans)]
    return f"{spans.total()} hits: " + ", ".join(parts)


def _latest_finished(hub: HubClient, project: Project) -> Run:
    """The newest succeeded run, by when it was made (whatever order the hub lists)."""
    finished = [run for run in hub.runs(project.id) if run.status == "succeeded"]
    if not finished:
        raise LinkageError(f"project {project.name} has no finished run yet")
    oldest = datetime.min.replace(tzinfo=UTC)
    return max(finished, key=lambda run: run.created_at or oldest)


def _list_suspects(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        project = hub.find_project(args.project)
        suspects = hub.suspects(project.id)
    for suspect in suspects:
        print(f"{suspect.id}  {suspect.status:<12} {', '.join(suspect.agencies)}  {suspect.note}")
    print(f"{len(suspects)} on the suspect list of {project.name}")
    return 0


def _add_suspects(args: argparse.Namespace) -> int:
    if not args.hit and args.spanning is None:
        raise LinkageError("name hits with --hit N or --spanning K")
    with connect(args) as hub:
        project = hub.find_project(args.project)
        run_id = args.run_id or _latest_finished(hub, project).id
        hits = list(hub.hits(project.id, run_id))
        unknown = sorted(set(args.hit) - {hit.number for hit in hits})
        if unknown:
            listed = ", ".join(str(number) for number in unknown)
            raise LinkageError(f"run {run_id} has no hit {listed}: nothing was shortlisted")
        chosen = [
            hit
            for hit in hits
            if hit.number in args.hit
            or (args.spanning is not None and len(hit.agencies) >= args.spanning)
        ]
        if not chosen:
            raise LinkageError(f"no hit of run {run_id} spans {args.spanning} agencies")
        for hit in chosen:
            hub.add_suspect(project.id, hit.id, status=args.status, note=args.note)
    print(f"shortlisted {len(chosen)} hits of run {run_id}")
    return 0


def _export_suspects(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        project = hub.find_project(args.project)
        hub.export_suspects(project.id, args.out, fmt=args.format)
    print(f"wrote the suspect list of {project.name} to {args.out}")
    return 0
