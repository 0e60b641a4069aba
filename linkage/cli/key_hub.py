"""`fieldlink keys register|distribute|fetch|team-key`: keys through the hub.

The hub relays: agencies register their public keys, the key custodian (the role) wraps the
secret for each participating agency's registered key and deposits the wrapped keys, each
agency fetches and unwraps its own. A deposited key is never replaced: `distribute` run
again deposits for the agencies still without one (`--rewrap` for an agency that
registered a new key pair since). Nothing secret travels: the hub sees public keys and
ciphertext only. Key ids are compared on both sides, so a hub that swapped a key shows.
"""

import argparse
import base64
import sys
import uuid
from pathlib import Path

from tqdm import tqdm

from keys import (
    KeyKind,
    LinkageSecret,
    PublicKey,
    WrappedKey,
    read_private_key,
    read_public_key,
    read_secret,
    unwrap_secret,
    wrap_secret,
    write_public_key,
    write_secret,
    write_wrapped_key,
)
from linkage.cli.common import passphrase_from_env
from linkage.cli.remote import add_hub_options, connect
from linkage.client import HubClient
from linkage.errors import HubRequestError, LinkageError
from linkage.hub_models import Project, RegisteredKey


def register_actions(actions: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add `keys register`, `keys distribute`, `keys fetch` and `keys team-key`."""
    register = actions.add_parser("register", help="register a public key at the hub")
    register.add_argument("public_key", type=Path, metavar="NAME.pub.json")
    register.add_argument("--project", help="the project (team keys only)")
    add_hub_options(register)
    register.set_defaults(run=_register)
    distribute = actions.add_parser(
        "distribute", help="wrap the secret for every participating agency and deposit it"
    )
    distribute.add_argument("--secret", type=Path, required=True, help="the project secret")
    distribute.add_argument("--project", required=True, help="project name or id")
    distribute.add_argument(
        "--rewrap",
        action="append",
        default=[],
        metavar="AGENCY",
        help="replace this agency's wrapped key: it registered a new key pair since",
    )
    add_hub_options(distribute)
    distribute.set_defaults(run=_distribute)
    fetch = actions.add_parser("fetch", help="fetch the own agency's wrapped key from the hub")
    fetch.add_argument("--project", required=True, help="project name or id")
    fetch.add_argument("--out", type=Path, required=True, help="new wrapped key file")
    fetch.add_argument("--epoch", type=int, help="default: the latest")
    fetch.add_argument("--key", type=Path, help="also unwrap with this agency private key")
    fetch.add_argument("--secret-out", type=Path, help="where the unwrapped secret goes")
    fetch.add_argument("--passphrase-env", metavar="VAR", help="the private key's passphrase")
    add_hub_options(fetch)
    fetch.set_defaults(run=_fetch)
    team = actions.add_parser("team-key", help="save the project team's public key from the hub")
    team.add_argument("--project", required=True, help="project name or id")
    team.add_argument("--out", type=Path, required=True, help="new file TEAM.pub.json")
    add_hub_options(team)
    team.set_defaults(run=_team_key)


def _register(args: argparse.Namespace) -> int:
    public = read_public_key(args.public_key)
    encoded = base64.b64encode(public.key).decode()
    with connect(args) as hub:
        if public.kind is KeyKind.TEAM:
            if args.project is None:
                raise LinkageError("a team key is registered for a project: pass --project")
            project = hub.find_project(args.project)
            registered = hub.set_team_key(project.id, public.owner, encoded)
            where = f"team key of project {project.name}"
        else:
            registered = hub.register_key(hub.me().agency_id, public.owner, encoded)
            where = f"agency key of {public.owner}"
    _check_same_key(public, registered)
    print(f"registered {where}: key id {registered.key_id} (the hub computed the same id)")
    return 0


def _distribute(args: argparse.Namespace) -> int:
    secret = read_secret(args.secret)
    with connect(args) as hub:
        project = hub.find_project(args.project)
        _check_current(secret, project)
        recipients = _recipients(hub, project)
        for agency_id, public in tqdm(
            recipients, desc="wrapping", unit=" agencies", file=sys.stderr
        ):
            _deposit(hub, project, agency_id, wrap_secret(secret, public), public, args.rewrap)
    print(
        f"project {project.name}: epoch {secret.epoch}, key check value "
        f"{secret.key_check_value()}, wrapped for {len(recipients)} agencies"
    )
    return 0


def _deposit(
    hub: HubClient,
    project: Project,
    agency_id: uuid.UUID,
    wrapped: WrappedKey,
    public: PublicKey,
    rewrap: list[str],
) -> None:
    replace = public.owner in rewrap
    try:
        hub.deposit_wrapped_key(project.id, agency_id, dict(wrapped.to_document()), replace=replace)
    except HubRequestError as err:
        if err.status != 409 or replace:
            raise
        print(f"kept the wrapped key {public.owner} has already (never replaced silently)")
        return
    print(f"{'re-wrapped' if replace else 'deposited'} for {public.owner} (key {public.key_id})")


def _fetch(args: argparse.Namespace) -> int:
    if (args.key is None) != (args.secret_out is None):
        raise LinkageError("--key and --secret-out go together")
    with connect(args) as hub:
        project = hub.find_project(args.project)
        deposited = hub.own_wrapped_key(project.id, epoch=args.epoch)
    wrapped = WrappedKey.from_document(deposited.document)  # TamperedKey when malformed
    write_wrapped_key(args.out, wrapped)
    print(f"wrote the wrapped key for {wrapped.recipient}, epoch {wrapped.epoch}, to {args.out}")
    if args.key is None:
        print(
            f"next: fieldlink keys unwrap {args.out} --key AGENCY.key --project {wrapped.project}"
        )
        return 0
    pair = read_private_key(
        args.key, passphrase=passphrase_from_env(args.passphrase_env), kind=KeyKind.AGENCY
    )
    secret = unwrap_secret(wrapped, pair, project=wrapped.project)
    _check_registered_epoch(secret, project)
    write_secret(args.secret_out, secret)
    print(f"wrote project {secret.project}'s epoch {secret.epoch} secret to {args.secret_out}")
    print(f"key check value: {secret.key_check_value()} (the project's registered value)")
    return 0


def _team_key(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        project = hub.find_project(args.project)
        public = _public_key(hub.team_key(project.id), KeyKind.TEAM)
    write_public_key(args.out, public)
    print(f"wrote the team key of {project.name} to {args.out}: key id {public.key_id}")
    print("compare the key id with the team's before sealing envelopes to it")
    return 0


def _recipients(hub: HubClient, project: Project) -> list[tuple[uuid.UUID, PublicKey]]:
    keys = {key.agency_id: key for key in hub.project_keys(project.id) if key.kind == "agency"}
    missing = [str(agency) for agency in project.agency_ids if agency not in keys]
    if missing:
        print(
            f"warning: {len(missing)} participating agencies have registered no key yet; "
            "run distribute again once they have",
            file=sys.stderr,
        )
    recipients = []
    for agency_id in project.agency_ids:
        if agency_id in keys:
            public = _public_key(keys[agency_id], KeyKind.AGENCY)
            recipients.append((agency_id, public))
    return recipients


def _public_key(registered: RegisteredKey, kind: KeyKind) -> PublicKey:
    public = PublicKey(
        owner=registered.owner, kind=kind, key=base64.b64decode(registered.public_key)
    )
    _check_same_key(public, registered)
    return public


def _check_same_key(public: PublicKey, registered: RegisteredKey) -> None:
    if (
        registered.key_id != public.key_id
        or registered.public_key != base64.b64encode(public.key).decode()
    ):
        raise LinkageError(
            f"the hub answered key id {registered.key_id} for key {public.key_id}; do not use it"
        )


def _check_current(secret: LinkageSecret, project: Project) -> None:
    if secret.key_check_value() != project.key_check:
        raise LinkageError(
            f"the secret's key check value {secret.key_check_value()} is not project "
            f"{project.name}'s current one ({project.key_check}, epoch {project.key_epoch}); "
            "register the new epoch first (fieldlink admin set-key-check)"
        )


def _check_registered_epoch(secret: LinkageSecret, project: Project) -> None:
    if secret.epoch == project.key_epoch and secret.key_check_value() != project.key_check:
        raise LinkageError(
            f"the unwrapped secret has key check value {secret.key_check_value()}, the "
            f"project registered {project.key_check}; do not use it, ask the key custodian"
        )
