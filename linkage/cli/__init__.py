"""The `fieldlink` command line: one module per command group, assembled here."""

import argparse
import sys
from collections.abc import Sequence

from keys import KeyMaterialError
from linkage.cli import batch, encode, evaluate, keys, match, schema, synth
from linkage.errors import LinkageError

COMMAND_GROUPS = (keys, schema, encode, batch, match, synth, evaluate)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failed, 2 usage)."""
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (LinkageError, KeyMaterialError) as err:
        sys.stderr.write(f"fieldlink: error: {err}\n")
        return 1


def parser() -> argparse.ArgumentParser:
    """The argument parser with every command group registered."""
    root = argparse.ArgumentParser(prog="fieldlink", description=__doc__)
    commands = root.add_subparsers(required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(commands)
    return root
