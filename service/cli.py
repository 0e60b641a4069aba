"""`fieldlink hub ...`: set up, serve and maintain a hub (added to `fieldlink` by entry point).

fieldlink hub init        create or upgrade the database, create the hub's keys,
                          print the first administrator's token (once)
fieldlink hub serve       run the hub with uvicorn
fieldlink hub rotate-key  add a fresh storage or signing key and make it active
fieldlink hub activate    activate an administrator no other administrator can (bootstrap)

Only the arguments live here: every `fieldlink` command builds this parser, so the hub's
own dependencies (FastAPI, SQLAlchemy, uvicorn) load in service.hub_setup, when a hub
command runs.
"""

import argparse
from pathlib import Path
from typing import TypeAlias

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def register(commands: Commands) -> None:
    """Add the `hub` command group."""
    hub = commands.add_parser("hub", help="set up, serve and maintain a matching hub")
    actions = hub.add_subparsers(required=True, metavar="ACTION")
    init = _add(actions, "init", "create the database and keys; print the first admin token")
    init.add_argument("--admin-agency", default="Hub operations")
    init.add_argument("--admin-name", default="First administrator")
    init.add_argument("--token-file", type=Path, help="write the token here (0600), not stdout")
    init.set_defaults(run=_init)
    serve = _add(actions, "serve", "run the hub (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=_serve)
    rotate_key = _add(actions, "rotate-key", "add a new storage or signing key, make it active")
    rotate_key.add_argument("kind", choices=["storage", "signing"])
    rotate_key.set_defaults(run=_rotate_key)
    activate = _add(
        actions, "activate", "activate an administrator no other administrator can (bootstrap)"
    )
    activate.add_argument("--principal", required=True, help="the administrator's name or id")
    activate.add_argument(
        "--check", required=True, help="the enrolment check `fieldlink enrol` printed for it"
    )
    activate.set_defaults(run=_activate)


def _add(actions: Commands, name: str, help_text: str) -> argparse.ArgumentParser:
    parser = actions.add_parser(name, help=help_text)
    parser.add_argument("--database-url", help="default: $FIELDLINK_DATABASE_URL or ./hub.db")
    parser.add_argument("--data-dir", type=Path, help="default: $FIELDLINK_DATA_DIR or ./hub-data")
    return parser


def _init(args: argparse.Namespace) -> int:
    from service import hub_setup

    return hub_setup.init(args)


def _serve(args: argparse.Namespace) -> int:
    from service import hub_setup

    return hub_setup.serve(args)


def _rotate_key(args: argparse.Namespace) -> int:
    from service import hub_setup

    return hub_setup.rotate_key(args)


def _activate(args: argparse.Namespace) -> int:
    from service import hub_setup

    return hub_setup.activate(args)
