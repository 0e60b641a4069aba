"""The `fieldlink` command line: one module per command group, assembled here.

A command's module (and what it imports: the encoder, the matching kernels, the hub
client) loads only when that command runs; the others are listed by name and help, so
`fieldlink upload` never compiles an encoder and `fieldlink --help` answers at once.

Installed extras add command groups through the `fieldlink.commands` entry point group:
the hub (`pip install fieldlink[service]`) adds `fieldlink hub ...`. linkage itself never
imports the hub.
"""

import argparse
import sys
from collections.abc import Sequence
from importlib import import_module

from keys import KeyMaterialError
from linkage.cli.common import UsageError
from linkage.errors import LinkageError

DESCRIPTION = "fieldlink: find the persons several agencies hold, without sharing records."
# command -> (the linkage.cli module that registers it, its help line), in --help order.
# tests/linkage/test_cli.py checks this against what the modules register.
COMMANDS: dict[str, tuple[str, str]] = {
    "keys": ("keys", "create, wrap, unwrap and check key files"),
    "schema": ("schema", "show and validate linkage schemas"),
    "encode": ("encode", "encode a CSV file into a batch file"),
    "batch": ("batch", "inspect and import batch files"),
    "match": ("match", "match batch files locally (evaluation, pilots)"),
    "threshold": ("match", "similarity histogram and expected precision/recall, no labels"),
    "reveal": ("match", "map your own references in a hits file back"),
    "upload": ("remote", "upload batch files to a hub project (data officer)"),
    "uploads": ("uploads", "list, replace and delete own uploads"),
    "run": ("remote", "start a matching run on the hub and follow it (analyst)"),
    "runs": ("runs", "list, follow and compare a project's runs"),
    "hits": ("hits", "download a run's hits (analyst: all; data officer: own)"),
    "approve": ("hits", "approve disclosure of own envelopes per hit (data officer)"),
    "suspects": ("suspects", "the project's suspect list (analyst)"),
    "project": ("project", "a project's standing watch: re-run on each new batch (analyst)"),
    "enrol": ("team", "redeem an enrolment code for your own bearer token"),
    "activate": ("team", "activate a newly enrolled principal (the second person)"),
    "team": ("team", "a project's team: list it, confirm proposed members (data officer)"),
    "admin": ("admin", "register agencies, principals and projects"),
    "audit": ("audit", "export and verify the hub's audit log"),
    "synth": ("synth", "write synthetic agency CSV files and their truth (all made up)"),
    "evaluate": ("evaluate", "score a hits file against a known truth"),
}
_OUR_PACKAGES = ("linkage", "keys", "service")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    0: done. 1: failed, found nothing or did nothing (the message says which). 2: called
    wrongly (argparse's own errors too). 130: interrupted (Ctrl-C) while following a run.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((word for word in argv if not word.startswith("-")), "")
    args = parser(command).parse_args(argv)
    try:
        return int(args.run(args))
    except (LinkageError, KeyMaterialError) as err:  # HubUnreachable included
        sys.stderr.write(f"fieldlink: error: {err}\n")
        return 2 if isinstance(err, UsageError) else 1


def parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser.

    With `command`, only the module registering that command is loaded (none for an
    unknown word or `--help`); the other commands are placeholders with their help line,
    and installed plugins are looked up only when the command is not one of ours.
    Without it, every command is complete (documentation, tests).
    """
    root = argparse.ArgumentParser(prog="fieldlink", description=DESCRIPTION)
    commands = root.add_subparsers(required=True, metavar="COMMAND")
    loaded = _modules() if command is None else _modules(command)
    for module in loaded:
        import_module(f"linkage.cli.{module}").register(commands)
    for name, (module, help_text) in COMMANDS.items():
        if module not in loaded:
            commands.add_parser(name, help=help_text)
    if command in COMMANDS:
        return root  # one of ours: no need to look for installed plugins (20 ms)
    from importlib.metadata import entry_points

    for plugin in entry_points(group="fieldlink.commands"):
        try:
            register = plugin.load()
        except ModuleNotFoundError as err:
            if (err.name or "").split(".")[0] in _OUR_PACKAGES:
                raise  # our own code is broken: say so, never hide the command
            continue  # the extra that provides it (fastapi, ...) is not installed
        register(commands)
    return root


def _modules(*commands: str) -> list[str]:
    """The modules registering these commands (all of them when none is named)."""
    wanted = [COMMANDS[name][0] for name in commands if name in COMMANDS]
    every = [module for module, _ in COMMANDS.values()]
    return list(dict.fromkeys(wanted if commands else every))
