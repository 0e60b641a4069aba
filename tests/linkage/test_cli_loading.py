"""The command table that lets `fieldlink` load only the module of the command it runs."""

import argparse
import subprocess
import sys

from linkage.cli import COMMANDS, parser


def _subcommands(root: argparse.ArgumentParser) -> dict[str, str]:
    action = next(a for a in root._actions if isinstance(a, argparse._SubParsersAction))
    return {choice.dest: str(choice.help) for choice in action._choices_actions}


def test_the_table_lists_every_command_with_its_help_and_module() -> None:
    registered = _subcommands(parser())
    ours = {name: text for name, text in registered.items() if name != "hub"}  # the plugin

    assert ours == {name: text for name, (_, text) in COMMANDS.items()}
    for name, (module, _) in COMMANDS.items():
        assert name in _subcommands(parser(name)), f"{name} not registered by {module}"


def test_a_command_parses_with_only_its_own_module_loaded() -> None:
    args = parser("upload").parse_args(["upload", "b.arrow", "--project", "Carousel"])

    assert args.project == "Carousel"


def test_help_and_hub_commands_load_neither_numba_nor_the_hub_framework() -> None:
    code = (
        "import sys\nfrom linkage.cli import parser\nparser('--help')\nparser('upload')\n"
        "print(sorted(sys.modules))"
    )
    loaded = subprocess.run(  # noqa: S603 - a fresh interpreter, our own code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout

    for heavy in ("numba", "fastapi", "sqlalchemy", "linkage.bloom"):
        assert f"'{heavy}'" not in loaded
