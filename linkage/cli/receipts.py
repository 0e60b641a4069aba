"""`fieldlink audit receipt` (fetch a purge receipt) and `fieldlink audit verify-receipt` (offline).

When an expired project is purged, the hub signs a receipt: what it deleted, when, and
the audit entries that logged it. Each agency's data officer (and every auditor) can fetch
it and check its signature without the hub, pinning the hub's audit signing key.
"""

import argparse
import json
import re
from pathlib import Path
from typing import Any, TypeAlias

from linkage.audit import verify_receipt
from linkage.cli.remote import add_hub_options, connect
from linkage.errors import LinkageError

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
_PUBLIC_KEY = re.compile(r"[0-9a-fA-F]{64}")


def register_receipts(actions: Commands) -> None:
    """Add `receipt` and `verify-receipt` to the `audit` group."""
    fetch = actions.add_parser("receipt", help="save a purged project's signed purge receipt")
    fetch.add_argument("--project", required=True, help="project name or id")
    fetch.add_argument("--out", type=Path, required=True, help="JSON file to write")
    add_hub_options(fetch)
    fetch.set_defaults(run=_fetch)
    verify = actions.add_parser("verify-receipt", help="check a purge receipt's signature, offline")
    verify.add_argument("receipt", type=Path, help="a fieldlink-purge-receipt/1 JSON file")
    verify.add_argument(
        "--public-key",
        action="append",
        default=[],
        type=_public_key,
        metavar="HEX",
        help="pin a hub signing key (fieldlink audit keys); repeat for retired keys",
    )
    verify.set_defaults(run=_verify)


def _fetch(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        project = hub.find_project(args.project)
        hub.purge_receipt(project.id, args.out)
    print(f"wrote the purge receipt to {args.out}; check it: fieldlink audit verify-receipt")
    return 0


def _verify(args: argparse.Namespace) -> int:
    receipt = _read(args.receipt)
    pinned: list[str] = args.public_key
    result = verify_receipt(receipt, trusted_keys=pinned or None)
    if not result.ok:
        print(f"purge receipt does not verify: {result.problem}")
        return 1
    counts = ", ".join(f"{count} {kind}" for kind, count in sorted(receipt["counts"].items()))
    print(
        f"ok: project {receipt['project']} purged {receipt['purged_at']} "
        f"(expired {receipt['expired_at']}), signed by key {receipt['key_id']}: {counts}"
    )
    if not pinned:
        print("note: checked with the key inside the receipt; pin the hub's key with --public-key")
    return 0


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise LinkageError(f"{path}: not a readable JSON file") from err


def _public_key(text: str) -> str:
    if not _PUBLIC_KEY.fullmatch(text):
        raise argparse.ArgumentTypeError("a public key is 64 hex digits")
    return text.lower()
