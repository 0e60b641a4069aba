"""The `fieldlink` command line: one module per command group, assembled here.

Installed extras add command groups through the `fieldlink.commands` entry point group:
the hub (`pip install fieldlink[service]`) adds `fieldlink hub ...`. linkage itself never
imports the hub.
"""

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points

import httpx

from keys import KeyMaterialError
from linkage.cli import admin, audit, batch, encode, evaluate, keys, match, remote, schema, synth
from linkage.errors import LinkageError

DESCRIPTION = "fieldlink: find the persons several agencies hold, without sharing records."
COMMAND_GROUPS = (keys, schema, encode, batch, match, remote, admin, audit, synth, evaluate)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failed, 2 usage)."""
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (LinkageError, KeyMaterialError) as err:
        sys.stderr.write(f"fieldlink: error: {err}\n")
        return 1
    except httpx.TransportError as err:  # the hub is down, unreachable, or too slow
        sys.stderr.write(f"fieldlink: error: cannot reach the hub ({type(err).__name__})\n")
        return 1


def parser() -> argparse.ArgumentParser:
    """The argument parser with every command group registered."""
    root = argparse.ArgumentParser(prog="fieldlink", description=DESCRIPTION)
    commands = root.add_subparsers(required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(commands)
    for plugin in entry_points(group="fieldlink.commands"):
        try:
            register = plugin.load()
        except ModuleNotFoundError as err:
            if (err.name or "").split(".")[0] in ("linkage", "keys", "service"):
                raise  # our own code is broken: say so, never hide the command
            continue  # the extra that provides it (fastapi, ...) is not installed
        register(commands)
    return root
