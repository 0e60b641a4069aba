"""`fieldlink schema`: show and validate linkage schemas."""

import argparse
import json
from pathlib import Path

from linkage.schema import load_schema, shipped_schemas


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the `schema` command group."""
    _schema_commands(commands.add_parser("schema", help="show and validate linkage schemas"))


def _schema_commands(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(required=True, metavar="ACTION")
    show = commands.add_parser("show", help="print a schema with its fingerprint")
    show.add_argument("schema", nargs="?", help=f"file or shipped name {shipped_schemas()}")
    show.set_defaults(run=_schema_show)
    validate = commands.add_parser("validate", help="check a schema file")
    validate.add_argument("schema", type=Path)
    validate.set_defaults(run=_schema_validate)


def _schema_show(args: argparse.Namespace) -> int:
    schema = load_schema(args.schema)
    print(json.dumps(json.loads(schema.canonical_json()), indent=2))
    print(f"fingerprint: {schema.fingerprint()}")
    return 0


def _schema_validate(args: argparse.Namespace) -> int:
    schema = load_schema(args.schema)
    print(
        f"{args.schema}: valid schema '{schema.name}', {len(schema.fields)} fields, "
        f"{schema.encoded_bits} bits, fingerprint {schema.fingerprint()}"
    )
    return 0
