"""`fieldlink synth`: write synthetic agency files with a known truth, for trying and testing."""

import argparse
from pathlib import Path

from linkage.errors import LinkageError
from linkage.synth import format_summary, generate
from linkage.synth.difficulty import SETTINGS


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the `synth` command."""
    _synth_command(
        commands.add_parser(
            "synth",
            help="write synthetic agency CSV files and their truth (all made up)",
            description="Write gemeente.csv, politie.csv, fiu.csv, kmar.csv and truth.csv: "
            "made-up persons as each agency would record them, with typical errors.",
        )
    )


def _synth_command(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="directory to write to")
    parser.add_argument("--persons", type=int, default=2000, help="distinct persons")
    parser.add_argument("--seed", type=int, default=0, help="equal seeds give equal files")
    parser.add_argument(
        "--difficulty",
        choices=list(SETTINGS),
        default="default",
        help="error classes and rates: default (the agencies' styles), fieldlab (swapped "
        "and merged names, loose phones, namesakes, missing dates), hard (about twice that)",
    )
    parser.set_defaults(run=_synth)


def _synth(args: argparse.Namespace) -> int:
    if args.persons < 1:
        raise LinkageError("--persons must be at least 1")
    summary = generate(
        args.out, persons=args.persons, seed=args.seed, difficulty=SETTINGS[args.difficulty]
    )
    print(format_summary(summary))
    return 0
