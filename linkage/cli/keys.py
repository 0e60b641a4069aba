"""`fieldlink keys`: create and check key files."""

import argparse
from pathlib import Path

from keys import (
    generate_reference_key,
    generate_secret,
    read_secret,
    write_reference_key,
    write_secret,
)
from linkage.cli.common import env_path
from linkage.errors import LinkageError


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the `keys` command group."""
    _keys_commands(commands.add_parser("keys", help="create and check key files"))


def _keys_commands(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(required=True, metavar="ACTION")
    new = commands.add_parser("new", help="create a project linkage secret (key custodian)")
    new.add_argument("--project", required=True, help="public project identifier")
    new.add_argument("--out", type=Path, required=True, help="new secret file (mode 0600)")
    new.set_defaults(run=_keys_new)
    ref = commands.add_parser("new-ref", help="create the agency-local reference key")
    ref.add_argument("--agency", required=True)
    ref.add_argument("--out", type=Path, required=True, help="new key file (mode 0600)")
    ref.set_defaults(run=_keys_new_ref)
    check = commands.add_parser("check", help="print a secret's public key check value")
    check.add_argument("secret", type=Path, nargs="?", default=env_path("FIELDLINK_SECRET_FILE"))
    check.set_defaults(run=_keys_check)


def _keys_new(args: argparse.Namespace) -> int:
    secret = generate_secret(args.project)
    write_secret(args.out, secret)
    print(f"wrote linkage secret for project {secret.project} to {args.out} (mode 0600)")
    print(f"key check value: {secret.key_check_value()}")
    return 0


def _keys_new_ref(args: argparse.Namespace) -> int:
    write_reference_key(args.out, generate_reference_key(args.agency))
    print(
        f"wrote reference key for agency {args.agency} to {args.out} (mode 0600); keep it: "
        "it keeps references stable across batches"
    )
    return 0


def _keys_check(args: argparse.Namespace) -> int:
    if args.secret is None:
        raise LinkageError("name the secret file (or set FIELDLINK_SECRET_FILE)")
    secret = read_secret(args.secret)
    print(f"project {secret.project}: key check value {secret.key_check_value()}")
    return 0
