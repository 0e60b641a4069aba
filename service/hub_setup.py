"""What `fieldlink hub ...` does: set up, serve, rotate keys, activate a second admin.

`activate` is the hub operator's bootstrap of service.activation: an administrator that no
other administrator can activate.

service.cli only registers the commands; this module (and the hub's dependencies it
imports) loads when one of them runs, so the rest of `fieldlink` starts fast.
"""

import argparse
import os
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy.orm import Session

from linkage.errors import LinkageError
from service import schema_version
from service.activation import activate_by_operator
from service.batches import reseal_uploads
from service.bootstrap import create_first_admin
from service.config import Settings
from service.db import make_engine
from service.errors import Conflict, HubError
from service.hub_keys import HubKeyError, HubKeys, rotate, settings_keys
from service.logs import log_config
from service.notes import reseal_notes
from service.objects import object_store


class HubSetupError(LinkageError):
    """The hub cannot be set up or started as asked; the message says what to do."""


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings from the environment, with --database-url and --data-dir over them."""
    overrides: dict[str, Any] = {}
    if args.database_url:
        overrides["database_url"] = SecretStr(args.database_url)
    if args.data_dir:
        overrides["data_dir"] = args.data_dir
    return Settings(**overrides)


def _export(settings: Settings) -> None:
    # uvicorn builds the app (in each worker process) from the environment: hand it ours.
    os.environ["FIELDLINK_DATABASE_URL"] = settings.database_url.get_secret_value()
    os.environ["FIELDLINK_DATA_DIR"] = str(settings.data_dir)


def init(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    schema_version.upgrade(settings.database_url.get_secret_value())
    keys = _keys(settings, create=True)
    print(f"database ready; hub keys in {settings.data_dir / 'keys'}")
    print(
        f"audit signing key {keys.signing.active_id}: {keys.public_keys()[keys.signing.active_id]}"
    )
    engine = make_engine(settings)
    try:
        with Session(engine) as session:
            _seal_plain_notes(session, keys)
            token = create_first_admin(session, args.admin_agency, args.admin_name)
    except Conflict:
        print("an administrator exists already; no new token was made")
        return 0
    finally:
        engine.dispose()
    _show_token(token, args.token_file)
    print(
        "next: register a second administrator, and once it enrolled activate it with "
        "`fieldlink hub activate` (separation of duties needs two; README, Activation)"
    )
    return 0


def _seal_plain_notes(session: Session, keys: HubKeys) -> None:
    # Suspect notes stored in plain by a hub from before notes were sealed (service.notes).
    sealed = reseal_notes(session, keys.storage)
    session.commit()
    if sealed:
        print(f"sealed {sealed} suspect notes stored in plain under the storage key")


def _show_token(token: str, path: Path | None) -> None:
    if path is None:
        print(f"first administrator token (shown once, keep it safe): {token}")
        return
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(token + "\n")
    print(f"first administrator token written to {path} (mode 0600)")


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = settings_from(args)
    engine = make_engine(settings)
    try:
        current = schema_version.is_current(engine, settings.database_url.get_secret_value())
    finally:
        engine.dispose()
    if not current:
        raise HubSetupError(
            "the database is not initialised or is outdated: run `fieldlink hub init`"
        )
    _keys(settings, create=False)
    _export(settings)
    uvicorn.run(
        "service.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=settings.log_level.lower(),
        log_config=log_config(settings.log_level),  # JSON lines, no exception messages
        access_log=False,  # service.request_log logs requests without URLs or bodies
    )
    return 0


def rotate_key(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if getattr(settings, f"{args.kind}_key") is not None:
        raise HubSetupError(
            f"the active {args.kind} key comes from FIELDLINK_{args.kind.upper()}_KEY: rotate "
            "by setting a new value there (keep the old key readable: write it, hex, to "
            f"{settings.data_dir / 'keys' / args.kind}/<id>.key with mode 0600)"
        )
    _keys(settings, create=False)
    new_id = rotate(settings.data_dir, args.kind)
    print(f"new active {args.kind} key {new_id}")
    if args.kind == "storage":
        engine = make_engine(settings)
        try:
            with Session(engine) as session:
                keyring = _keys(settings).storage
                moved = reseal_uploads(session, objects=object_store(settings), keyring=keyring)
                reseal_notes(session, keyring)
                session.commit()
        finally:
            engine.dispose()
        print(f"re-encrypted {moved} stored batches and the suspect notes under it")
    print("restart the hub to use the new key; material under older keys stays readable")
    return 0


def activate(args: argparse.Namespace) -> int:
    """The hub operator activates an administrator that no other administrator can.

    On the hub machine, with the database: the bootstrap of separation of duties
    (service.activation), recorded in the audit log as the hub operator's.
    """
    settings = settings_from(args)
    keys = _keys(settings, create=False)
    engine = make_engine(settings)
    try:
        if not schema_version.is_current(engine, settings.database_url.get_secret_value()):
            raise HubSetupError("the database is outdated: run `fieldlink hub init` first")
        with Session(engine) as session:
            principal = activate_by_operator(
                session,
                args.principal,
                args.check,
                keys=keys,
                checkpoint_every=settings.audit_checkpoint_every,
            )
            name, role = principal.name, principal.role.value
    except HubError as err:
        raise HubSetupError(f"not activated: {err.detail or err.title}") from err
    finally:
        engine.dispose()
    print(f"{role} {name} is active; the audit log records it as the hub operator's")
    return 0


def _keys(settings: Settings, *, create: bool = False) -> HubKeys:
    try:
        return settings_keys(settings, create=create)
    except HubKeyError as err:
        raise HubSetupError(str(err)) from err
    except OSError as err:
        raise HubSetupError(f"cannot use {settings.data_dir}: {err.strerror}") from err
