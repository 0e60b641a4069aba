"""`fieldlink hits` (a run's hits: summary, list, filters, export, envelopes) and `approve`.

Filters choose hits by what the hub shows of them, never by values: an agency holding a
member (`--agency`, repeat: all of them), at least K agencies (`--min-agencies`), a best
link score (`--min-score`), comparisons that agreed (`--agreed`, repeat: all of them) and
hit numbers (`--hit`). They apply to the summary, `--list`, `--out` and `--open` alike. A
filter that keeps no hit exits 1, as grep does. Every answer names the run it read.
"""

import argparse
import csv
import io
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from keys import KeyKind, read_private_key
from linkage.cli.common import UsageError, passphrase_from_env
from linkage.cli.disclosure import open_hits, print_identities, write_identities
from linkage.cli.excel import add_excel_option, rewrite_for_excel
from linkage.cli.hub_runs import add_run_option, choose_run
from linkage.cli.remote import Commands, add_project_command, connect
from linkage.client import HubClient
from linkage.errors import LinkageError
from linkage.hub_models import Hit, Project, Run


def register(commands: Commands) -> None:
    """Add the `hits` and `approve` commands."""
    hits = add_project_command(
        commands, "hits", "download a run's hits (analyst: all; data officer: own)"
    )
    add_run_option(hits)
    hits.add_argument("--list", action="store_true", help="print one line per hit")
    hits.add_argument("--out", type=Path, help="file to write (default: print a summary)")
    hits.add_argument("--format", choices=["json", "csv"], default="json")
    add_excel_option(hits)
    _filter_options(hits)
    _open_options(hits)
    hits.set_defaults(run=_hits)
    approve = add_project_command(
        commands, "approve", "approve disclosure of own envelopes per hit (data officer)"
    )
    approve.add_argument("hits", type=int, nargs="*", metavar="NUMBER", help="hit numbers")
    add_run_option(approve)
    approve.add_argument("--pending", action="store_true", help="list hits awaiting approval")
    approve.set_defaults(run=_approve)


def _filter_options(hits: argparse.ArgumentParser) -> None:
    hits.add_argument("--hit", type=int, action="append", default=[], help="only these hits")
    hits.add_argument(
        "--agency", action="append", default=[], help="hits holding this agency's records"
    )
    hits.add_argument("--min-agencies", type=int, metavar="K", help="hits spanning K or more")
    hits.add_argument("--min-score", type=float, help="hits whose best link scores this or more")
    hits.add_argument(
        "--agreed", action="append", default=[], metavar="FIELD", help="hits where FIELD agreed"
    )


def _open_options(hits: argparse.ArgumentParser) -> None:
    hits.add_argument(
        "--open", action="store_true", help="fetch and open the hits' envelopes (team; --out: CSV)"
    )
    hits.add_argument("--team-key", type=Path, metavar="TEAM.key", help="team private key file")
    hits.add_argument("--passphrase-env", metavar="VAR", help="the team key's passphrase")
    hits.add_argument("--label", help="the secret's project label (default: the hub's)")


def _filtering(args: argparse.Namespace) -> bool:
    named = (args.agency, args.agreed, args.min_agencies, args.min_score)
    return bool(args.hit) or any(value not in ([], None) for value in named)


def select_hits(hits: Iterable[Hit], args: argparse.Namespace) -> list[Hit]:
    """The hits the filter options keep (agency and field names: any case)."""
    agencies = {name.casefold() for name in args.agency}
    agreed = {name.casefold() for name in args.agreed}
    return [
        hit
        for hit in hits
        if (not args.hit or hit.number in args.hit)
        and agencies <= {name.casefold() for name in hit.agencies}
        and (args.min_agencies is None or len(hit.agencies) >= args.min_agencies)
        and (args.min_score is None or hit.best_score >= args.min_score)
        and agreed <= {name.casefold() for name in hit.agreed_fields or ()}
    ]


def _hits(args: argparse.Namespace) -> int:
    if args.open and args.team_key is None:
        raise UsageError("--open needs --team-key TEAM.key, the team's private key file")
    if args.excel:
        if args.out is None:
            raise UsageError("--excel shapes the CSV file written by --out: pass --out")
        args.format = "csv"
    code = _hits_of_run(args)
    if args.excel:
        rewrite_for_excel(args.out)
    return code


def _hits_of_run(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        project = hub.find_project(args.project)
        run = choose_run(hub, project, args.run_spec)
        if args.out is not None and not (args.open or args.list or _filtering(args)):
            hub.export_hits(project.id, run.id, args.out, fmt=args.format)
            print(f"wrote the hits of run {run.id} to {args.out}")
            return 0
        every = list(hub.hits(project.id, run.id, page=1000))
        chosen = _chosen(every, args, run)
        if args.open:
            return _open(hub, project, run, chosen, args)
        if args.out is not None:
            hub.export_hits(project.id, run.id, args.out, fmt=args.format)
            if _filtering(args):
                _keep_only(args.out, args.format, {hit.number for hit in chosen})
    for hit in chosen if args.list else ():
        print(hit_line(hit))
    if args.out is not None:
        print(f"wrote {len(chosen)} hits of run {run.id} to {args.out}")
    else:
        print(f"run {run.id}: {_summary(chosen, len(every) if _filtering(args) else None)}")
    return 0


def _chosen(every: Sequence[Hit], args: argparse.Namespace, run: Run) -> list[Hit]:
    unknown = sorted(set(args.hit) - {hit.number for hit in every})
    if unknown:
        listed = ", ".join(str(number) for number in unknown)
        nothing = "nothing was opened" if args.open else "nothing was done"
        raise LinkageError(f"run {run.id} has no hit {listed}: {nothing}")
    chosen = select_hits(every, args)
    if _filtering(args) and not chosen:
        raise LinkageError(f"no hit of run {run.id} matches the filters ({len(every)} hits)")
    return chosen


def hit_line(hit: Hit) -> str:
    """One hit on one line: number, best score, agencies, agreed comparisons."""
    agreed = f"  agreed: {', '.join(hit.agreed_fields)}" if hit.agreed_fields else ""
    return f"hit {hit.number:>5}  {hit.best_score:.3f}  {', '.join(hit.agencies)}{agreed}"


def _summary(hits: Sequence[Hit], total: int | None) -> str:
    spans = Counter(len(hit.agencies) for hit in hits)
    matched = f"{len(hits)} of {total} hits match" if total is not None else f"{len(hits)} hits"
    if not spans:
        return "no hits"
    parts = [f"{spans[k]} span {k} agencies" for k in sorted(spans)]
    return f"{matched}: " + ", ".join(parts)


def _keep_only(path: Path, file_format: str, numbers: set[int]) -> None:
    """Cut a downloaded export down to these hits, in its own format."""
    text = path.read_text(encoding="utf-8")
    if file_format == "json":
        document = json.loads(text)
        document["groups"] = [g for g in document["groups"] if g["group"] in numbers]
        path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
        return
    rows = list(csv.reader(io.StringIO(text)))
    kept = [rows[0], *(row for row in rows[1:] if row and int(row[0]) in numbers)]
    with path.open("w", encoding="utf-8", newline="") as sink:
        csv.writer(sink).writerows(kept)


def _open(
    hub: HubClient, project: Project, run: Run, chosen: list[Hit], args: argparse.Namespace
) -> int:
    passphrase = passphrase_from_env(args.passphrase_env)
    team_key = read_private_key(args.team_key, passphrase=passphrase, kind=KeyKind.TEAM)
    label = args.label or project.key_label
    if not label:
        raise LinkageError("the hub knows no secret label for the project yet: pass --label")
    agencies = {hit.number: tuple(hit.agencies) for hit in chosen}
    numbers = [hit.number for hit in chosen]
    opened = open_hits(
        hub, project.id, run.id, numbers, team_key=team_key, label=label, agencies=agencies
    )
    if args.out is None:
        print_identities(opened)
        print(f"opened the envelopes of {len(chosen)} hits of run {run.id}")
        return 0
    write_identities(args.out, opened.identities)
    print(
        f"wrote {len(opened.identities)} identities of {len(chosen)} hits of run {run.id}"
        f" to {args.out}"
    )
    return 0


def _approve(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        project = hub.find_project(args.project)
        run = choose_run(hub, project, args.run_spec)
        if args.pending or not args.hits:
            if not project.disclosure_approval:
                print(f"project {project.name} releases envelopes without approval: none pending")
                return 0
            waiting = list(hub.approvals(project.id, run.id, pending=True))
            for item in waiting:
                print(f"hit {item.hit_number}: {item.agency} has not approved disclosure")
            print(f"{len(waiting)} approvals pending in run {run.id}")
            return 0
        for number in args.hits:
            approval = hub.approve_disclosure(project.id, run.id, number)
            print(f"hit {number} of run {run.id}: {approval.agency}'s envelopes approved")
    return 0
