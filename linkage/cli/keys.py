"""`fieldlink keys`: create, rotate, wrap, unwrap and check key files.

Registering public keys, distributing and fetching wrapped keys through the hub live in
`linkage.cli.key_hub`; without a hub, wrapped keys and public keys travel as files.
"""

import argparse
import re
from pathlib import Path

from keys import (
    KeyKind,
    generate_keypair,
    generate_reference_key,
    generate_secret,
    public_path_for,
    read_private_key,
    read_public_key,
    read_secret,
    read_wrapped_key,
    rotate_secret,
    unwrap_secret,
    wrap_secret,
    write_private_key,
    write_public_key,
    write_reference_key,
    write_secret,
    write_wrapped_key,
)
from linkage.cli import key_hub
from linkage.cli.common import env_path, passphrase_from_env
from linkage.errors import LinkageError
from linkage.names import agency_name

_UNSAFE_IN_NAMES = re.compile(r"[^A-Za-z0-9_-]+")


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the `keys` command group."""
    parser = commands.add_parser("keys", help="create, wrap, unwrap and check key files")
    actions = parser.add_subparsers(required=True, metavar="ACTION")
    _secret_commands(actions)
    _pair_commands(actions)
    key_hub.register_actions(actions)


def _secret_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    new = commands.add_parser("new", help="create a project linkage secret (key custodian)")
    new.add_argument("--project", required=True, help="public project identifier")
    new.add_argument("--out", type=Path, required=True, help="new secret file (mode 0600)")
    new.set_defaults(run=_keys_new)
    rotate = commands.add_parser("rotate", help="create the project's next secret (new epoch)")
    rotate.add_argument("--secret", type=Path, required=True, help="the current secret file")
    rotate.add_argument("--out", type=Path, required=True, help="new secret file (mode 0600)")
    rotate.set_defaults(run=_keys_rotate)
    ref = commands.add_parser("new-ref", help="create the agency-local reference key")
    ref.add_argument("--agency", type=agency_name, required=True, help="agency name (any case)")
    ref.add_argument("--out", type=Path, required=True, help="new key file (mode 0600)")
    ref.set_defaults(run=_keys_new_ref)
    check = commands.add_parser("check", help="print a secret's public key check value")
    check.add_argument("secret", type=Path, nargs="?", default=env_path("FIELDLINK_SECRET_FILE"))
    check.set_defaults(run=_keys_check)


def _pair_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    pair = commands.add_parser("generate-pair", help="create an agency's or a team's key pair")
    pair.add_argument("--owner", required=True, help="agency or team name")
    pair.add_argument("--kind", choices=[kind.value for kind in KeyKind], required=True)
    pair.add_argument("--out", type=Path, required=True, help="private key file (mode 0600)")
    _passphrase_option(pair, "protect the private key with the passphrase in this variable")
    pair.set_defaults(run=_keys_generate_pair)
    wrap = commands.add_parser("wrap", help="wrap the secret for agencies (key custodian)")
    wrap.add_argument("--secret", type=Path, required=True, help="the project secret file")
    wrap.add_argument(
        "--for",
        dest="recipients",
        type=Path,
        action="append",
        required=True,
        metavar="AGENCY.pub.json",
        help="an agency's public key file (repeatable)",
    )
    wrap.add_argument("--out-dir", type=Path, required=True, help="folder for wrapped keys")
    wrap.set_defaults(run=_keys_wrap)
    unwrap = commands.add_parser("unwrap", help="unwrap the own agency's copy of the secret")
    unwrap.add_argument("wrapped", type=Path, help="the wrapped key file (JSON)")
    unwrap.add_argument("--key", type=Path, required=True, help="the agency's private key file")
    unwrap.add_argument("--project", required=True, help="the project the secret must be for")
    unwrap.add_argument("--out", type=Path, required=True, help="new secret file (mode 0600)")
    unwrap.add_argument("--key-check", help="refuse unless the secret has this key check value")
    _passphrase_option(unwrap, "the private key's passphrase is in this variable")
    unwrap.set_defaults(run=_keys_unwrap)


def _passphrase_option(parser: argparse.ArgumentParser, text: str) -> None:
    parser.add_argument("--passphrase-env", metavar="VAR", help=text)


def _keys_new(args: argparse.Namespace) -> int:
    secret = generate_secret(args.project)
    write_secret(args.out, secret)
    print(f"wrote linkage secret for project {secret.project} to {args.out} (mode 0600)")
    print(f"key check value: {secret.key_check_value()}")
    return 0


def _keys_rotate(args: argparse.Namespace) -> int:
    current = read_secret(args.secret)
    secret = rotate_secret(current)
    write_secret(args.out, secret)
    print(f"wrote epoch {secret.epoch} secret for project {secret.project} to {args.out}")
    print(
        f"key check value: {secret.key_check_value()} (epoch {current.epoch} had "
        f"{current.key_check_value()})"
    )
    print("next: wrap it for every agency; each agency re-encodes and uploads again")
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
    print(
        f"project {secret.project} (epoch {secret.epoch}): key check value "
        f"{secret.key_check_value()}"
    )
    return 0


def _keys_generate_pair(args: argparse.Namespace) -> int:
    public_path = public_path_for(args.out)
    if public_path.exists():
        raise LinkageError(f"{public_path} already exists; refusing to overwrite a key")
    try:
        pair = generate_keypair(args.owner, KeyKind(args.kind))
    except ValueError as err:
        raise LinkageError(f"--owner: {err}") from err
    passphrase = passphrase_from_env(args.passphrase_env)
    write_private_key(args.out, pair, passphrase=passphrase)
    write_public_key(public_path, pair.public)
    protection = "passphrase-protected, " if passphrase else ""
    print(
        f"wrote {pair.kind} key pair of {pair.owner}: {args.out} ({protection}mode 0600, "
        f"keep it) and {public_path} (share it)"
    )
    print(f"key id: {pair.key_id} (compare it when the public key is passed on)")
    return 0


def _keys_wrap(args: argparse.Namespace) -> int:
    secret = read_secret(args.secret)
    recipients = [read_public_key(path, kind=KeyKind.AGENCY) for path in args.recipients]
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for recipient in recipients:
        target = args.out_dir / f"{_file_stem(recipient.owner, recipient.key_id)}.wrapped.json"
        write_wrapped_key(target, wrap_secret(secret, recipient))
        print(f"wrapped for {recipient.owner} (key {recipient.key_id}): {target}")
    print(
        f"project {secret.project}, epoch {secret.epoch}, key check value "
        f"{secret.key_check_value()}"
    )
    return 0


def _keys_unwrap(args: argparse.Namespace) -> int:
    pair = read_private_key(
        args.key, passphrase=passphrase_from_env(args.passphrase_env), kind=KeyKind.AGENCY
    )
    secret = unwrap_secret(read_wrapped_key(args.wrapped), pair, project=args.project)
    if args.key_check is not None and secret.key_check_value() != args.key_check:
        raise LinkageError(
            f"the unwrapped secret has key check value {secret.key_check_value()}, "
            f"not {args.key_check}; do not use it, ask the key custodian"
        )
    write_secret(args.out, secret)
    print(f"wrote project {secret.project}'s epoch {secret.epoch} secret to {args.out} (mode 0600)")
    print(f"key check value: {secret.key_check_value()} (compare it with the custodian's)")
    return 0


def _file_stem(owner: str, key_id: str) -> str:
    # Owner labels are free text; file names get only safe characters, never a path.
    return _UNSAFE_IN_NAMES.sub("-", owner).strip("-") or key_id
