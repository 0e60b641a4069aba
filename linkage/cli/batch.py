"""`fieldlink batch`: inspect batch files and import clkhash output."""

import argparse
import json
from pathlib import Path

from linkage.agency import refmap_path_for, write_refmap
from linkage.batch import import_clkhash, read_batch, write_batch
from linkage.cli.common import reference_key
from linkage.errors import LinkageError


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the `batch` command group."""
    _batch_commands(commands.add_parser("batch", help="inspect and import batch files"))


def _batch_commands(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(required=True, metavar="ACTION")
    show = commands.add_parser("show", help="print a batch file's metadata")
    show.add_argument("batch", type=Path)
    show.set_defaults(run=_batch_show)
    imported = commands.add_parser("import-clkhash", help="turn clkhash output into a batch")
    imported.add_argument("clks", type=Path, help='clkhash JSON: {"clks": [...]}')
    imported.add_argument("--agency", required=True)
    imported.add_argument(
        "--key-check", required=True, help="16 hex digits identifying the clkhash secret"
    )
    imported.add_argument(
        "--schema-fingerprint",
        required=True,
        help="identifies the clkhash schema (e.g. its SHA-256)",
    )
    imported.add_argument("--ref-key", type=Path, required=True, help="agency reference key")
    imported.add_argument("--out", type=Path, required=True)
    imported.set_defaults(run=_batch_import)


def _batch_show(args: argparse.Namespace) -> int:
    batch = read_batch(args.batch)
    for key, value in batch.metadata().items():
        print(f"{key:<20} {value}")
    print(f"{'digest':<20} {batch.digest()}")
    return 0


def _batch_import(args: argparse.Namespace) -> int:
    try:
        document = json.loads(args.clks.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise LinkageError(f"{args.clks}: not a readable JSON file") from err
    ref_key = reference_key(args.ref_key, args.agency)
    count = len(document.get("clks", [])) if isinstance(document, dict) else 0
    local_ids = [str(index) for index in range(count)]
    batch = import_clkhash(
        document,
        agency=args.agency,
        key_check=args.key_check.lower(),
        schema_fingerprint=args.schema_fingerprint,
        references=ref_key.references(local_ids),
    )
    write_batch(batch, args.out)
    write_refmap(refmap_path_for(args.out), batch.references, local_ids)
    print(f"imported {len(batch):,} clkhash encodings ({batch.filter_bits} bits) into {args.out}")
    return 0
