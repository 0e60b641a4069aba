"""`fieldlink audit export` (from the hub, auditor) and `fieldlink audit verify` (offline)."""

import argparse
import json
import re
from pathlib import Path
from typing import Any

from linkage.audit import AuditVerification, verify_export
from linkage.cli.receipts import register_receipts
from linkage.cli.remote import add_hub_options, connect
from linkage.errors import LinkageError

_PUBLIC_KEY = re.compile(r"[0-9a-fA-F]{64}")


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the `audit` command group."""
    audit = commands.add_parser("audit", help="export and verify the hub's audit log")
    actions = audit.add_subparsers(required=True, metavar="ACTION")
    verify = actions.add_parser(
        "verify", help="check an export: altered, missing or reordered entries, signatures"
    )
    verify.add_argument("export", type=Path, help="a fieldlink-audit/1 JSON export")
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
    register_receipts(actions)


def _export(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        hub.export_audit(args.out)
    print(f"wrote the audit log to {args.out}; check it with `fieldlink audit verify {args.out}`")
    return 0


def _verify(args: argparse.Namespace) -> int:
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
