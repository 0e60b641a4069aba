"""`fieldlink audit ...`: an auditor reads, exports and verifies the hub's audit log.

`log` lists entries, filtered, with names beside ids (`linkage.cli.audit_log`); `export`
downloads the chain with its signed checkpoints; `keys` prints the hub's signing keys to
pin; `verify EXPORT` checks an export offline, and `verify` without one asks the hub to
check its stored chain.
"""

import argparse
import json
import re
from pathlib import Path
from typing import Any

from linkage.audit import AuditVerification, verify_export
from linkage.cli.audit_log import TABLE_HEADER, Directory, add_filters, filters, print_entries
from linkage.cli.receipts import register_receipts
from linkage.cli.remote import add_hub_options, connect
from linkage.errors import LinkageError

_PUBLIC_KEY = re.compile(r"[0-9a-fA-F]{64}")


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the `audit` command group."""
    audit = commands.add_parser("audit", help="export and verify the hub's audit log")
    actions = audit.add_subparsers(required=True, metavar="ACTION")
    log = actions.add_parser("log", help="list the log's entries, filtered (auditor)")
    add_filters(log)
    add_hub_options(log)
    log.set_defaults(run=_log)
    verify = actions.add_parser(
        "verify",
        help="check an export offline (altered, missing or reordered entries, signatures); "
        "without one, ask the hub to check its stored chain",
    )
    verify.add_argument(
        "export", type=Path, nargs="?", help="a fieldlink-audit/1 JSON export (none: at the hub)"
    )
    add_hub_options(verify)
    verify.add_argument(
        "--public-key",
        action="append",
        default=[],
        type=_public_key,
        metavar="HEX",
        help="pin a hub signing key (from GET /v1/audit/keys); repeat for retired keys. "
        "Checkpoints signed by any other key fail.",
    )
    verify.set_defaults(run=_verify)
    export = actions.add_parser("export", help="download the hub's audit log (auditor)")
    export.add_argument("--out", type=Path, required=True, help="JSON file to write")
    add_hub_options(export)
    export.set_defaults(run=_export)
    keys = actions.add_parser("keys", help="print the hub's audit signing keys, to pin")
    add_hub_options(keys)
    keys.set_defaults(run=_keys)
    register_receipts(actions)


def _log(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        directory = Directory(hub)
        entries = hub.audit_entries(**filters(directory, args))
        if args.table:
            print(TABLE_HEADER)
        count = print_entries(entries, directory, table=args.table)
    if count == 0:
        raise LinkageError("no audit entry matches")
    return 0


def _keys(args: argparse.Namespace) -> int:
    with connect(args, token_needed=False) as hub:
        answer = hub.audit_keys()
    active = answer.get("active_key_id")
    for key_id, public_key in sorted(answer.get("public_keys", {}).items()):
        print(f"{key_id}  {public_key}{'  (active)' if key_id == active else ''}")
    print("pin them: fieldlink audit verify EXPORT --public-key HEX (repeat for each key)")
    return 0


def _verify_at_hub(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        check = hub.verify_audit()
    if check.ok:
        print(
            f"the hub verified its chain: ok: {check.entries_checked} entries, "
            f"{check.checkpoints_checked} signed checkpoints"
        )
        return 0
    print(f"the hub's chain does not verify: {check.problem}")
    return 1


def _export(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        hub.export_audit(args.out)
    print(f"wrote the audit log to {args.out}; check it with `fieldlink audit verify {args.out}`")
    return 0


def _verify(args: argparse.Namespace) -> int:
    if args.export is None:
        return _verify_at_hub(args)
    pinned: list[str] = args.public_key
    result = verify_export(_read_export(args.export), trusted_keys=pinned or None)
    print(_summary(result))
    if result.ok and not pinned:
        print(
            "note: signatures were checked with the keys inside the export; "
            "pin the hub's keys with --public-key to rule out a re-signed log"
        )
    return 0 if result.ok else 1


def _summary(result: AuditVerification) -> str:
    if result.ok:
        return (
            f"ok: {result.entries_checked} entries, {result.checkpoints_checked} signed checkpoints"
        )
    return f"audit log does not verify: {result.problem}"


def _read_export(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise LinkageError(f"{path}: not a readable JSON file") from err


def _public_key(text: str) -> str:
    if not _PUBLIC_KEY.fullmatch(text):
        raise argparse.ArgumentTypeError("a public key is 64 hex digits")
    return text.lower()
