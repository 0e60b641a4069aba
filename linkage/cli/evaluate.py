"""`fieldlink evaluate`: score a hits file against a known truth (synthetic data)."""

import argparse
from collections.abc import Iterable
from pathlib import Path

from linkage.agency import read_refmap
from linkage.errors import LinkageError
from linkage.evaluate import evaluate, format_quality
from linkage.hits import read_hits

REFMAP_SUFFIX = ".refs"  # `NAME.refs.csv`, written beside each batch by `fieldlink encode`


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the `evaluate` command."""
    _evaluate_command(
        commands.add_parser("evaluate", help="score a hits file against a known truth")
    )


def _evaluate_command(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("hits", type=Path, help="hits file of a matching run")
    parser.add_argument(
        "--truth", type=Path, required=True, help="CSV file: agency,record_id,person_id"
    )
    parser.add_argument(
        "--refs",
        type=Path,
        action="append",
        default=[],
        metavar="AGENCY.refs.csv",
        help="an agency's reference map (repeatable; default: every *.refs.csv beside "
        "the hits file and the truth file)",
    )
    parser.set_defaults(run=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    hits = read_hits(args.hits)
    paths = args.refs or _default_refmaps(args.hits.parent, args.truth.parent)
    print(format_quality(evaluate(hits, args.truth, _read_refmaps(paths))))
    return 0


def _default_refmaps(*directories: Path) -> list[Path]:
    found = {path.resolve() for folder in directories for path in folder.glob("*.refs.csv")}
    return sorted(found)


def _read_refmaps(paths: Iterable[Path]) -> dict[str, dict[str, str]]:
    refmaps: dict[str, dict[str, str]] = {}
    sources: dict[str, Path] = {}
    for path in paths:
        agency = path.stem.removesuffix(REFMAP_SUFFIX)
        if agency in sources and sources[agency].resolve() != path.resolve():
            raise LinkageError(f"two reference maps for agency {agency}: {sources[agency]}, {path}")
        sources[agency] = path
        refmaps[agency] = read_refmap(path)
    return refmaps
