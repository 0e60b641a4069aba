"""`fieldlink batch`: inspect batch files and import clkhash output."""

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from linkage.agency import refmap_path_for, write_refmap
from linkage.batch import Batch, import_clkhash, read_batch, write_batch
from linkage.cli.common import reference_key
from linkage.errors import LinkageError
from linkage.names import agency_name
from linkage.salting.exposure import Policy

if TYPE_CHECKING:
    from linkage.salting.exposure import Exposure


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the `batch` command group."""
    _batch_commands(commands.add_parser("batch", help="inspect and import batch files"))


def _batch_commands(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(required=True, metavar="ACTION")
    show = commands.add_parser("show", help="print a batch file's metadata")
    show.add_argument("batch", type=Path)
    show.set_defaults(run=_batch_show)
    risk = commands.add_parser(
        "risk",
        help="what the hub could count in a batch; refuse it when weaker than the policy",
        description="Counts what the hub could count in this batch file (no key needed): "
        "per salt family the records in it and, per slot, the largest group of records "
        "sharing one value. Exits 1 when the batch is weaker than the policy.",
    )
    risk.add_argument("batch", type=Path)
    policy = Policy()
    risk.add_argument(
        "--max-group-share",
        type=float,
        default=policy.max_group_share,
        help=f"largest equal-slot group as a share of the batch (default {policy.max_group_share})",
    )
    risk.add_argument(
        "--max-group",
        type=int,
        default=policy.max_group,
        help=f"largest equal-slot group in records (default {policy.max_group})",
    )
    risk.add_argument(
        "--allow-unsalted", action="store_true", help="accept encodings without salt families"
    )
    risk.add_argument("--slots", action="store_true", help="print every slot's counts")
    risk.add_argument("--json", action="store_true", help="print the counts as JSON")
    risk.set_defaults(run=_batch_risk)
    imported = commands.add_parser("import-clkhash", help="turn clkhash output into a batch")
    imported.add_argument("clks", type=Path, help='clkhash JSON: {"clks": [...]}')
    imported.add_argument(
        "--agency", type=agency_name, required=True, help="agency name (any case)"
    )
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
    print(f"{args.batch}: {len(batch):,} records of agency {batch.agency}")
    print(f"  {_sealed_summary(batch)}")
    print("metadata:")
    for key, value in batch.metadata().items():
        print(f"{key:<20} {value}")
    print(f"{'digest':<20} {batch.digest()}")
    return 0


def _sealed_summary(batch: Batch) -> str:
    """What the team could read from this batch: the one thing to check before sending."""
    envelopes = batch.envelopes
    if envelopes is None:
        return "no envelopes: the batch discloses no details, even for hits"
    fields = ", ".join(envelopes.fields) or "(not recorded: a batch from before field names)"
    return (
        f"sealed in envelopes, per record: {fields}; for team key {envelopes.team_key_id} "
        "(the team opens them for released hits only)"
    )


def _batch_risk(args: argparse.Namespace) -> int:
    from linkage.salting.exposure import batch_exposure, check

    batch = read_batch(args.batch)
    policy = Policy(
        require_salted=not args.allow_unsalted,
        max_group_share=args.max_group_share,
        max_group=args.max_group,
    )
    exposure = batch_exposure(batch)
    reasons = check(exposure, policy)
    if args.json:
        document = {**asdict(exposure), "group_limit": policy.group_limit(len(batch))}
        print(json.dumps({**document, "refused": reasons}, indent=2))
    else:
        _print_exposure(exposure, policy.group_limit(len(batch)), slots=args.slots)
        for reason in reasons:
            print(f"refused: {reason}")
        print("refused" if reasons else "within the policy")
    return 1 if reasons else 0


def _print_exposure(exposure: "Exposure", limit: int, *, slots: bool) -> None:
    print(
        f"{exposure.records:,} records, {'salted' if exposure.salted else 'NOT salted'}, "
        f"{len(exposure.families)} encoding(s) per record; "
        f"{exposure.unmatched:,} records in no family"
    )
    print(f"largest group of records sharing one slot value: {exposure.largest} (limit {limit})")
    for family in exposure.families:
        share = family.records / exposure.records if exposure.records else 0.0
        widest = max(family.slots, key=lambda slot: slot.largest)
        print(
            f"  family {family.name:<16} {family.records:>9,} records ({share:6.1%}), "
            f"largest group {widest.largest:,} ({widest.name})"
        )
        for slot in family.slots if slots else ():
            print(
                f"    {slot.name:<18} {slot.present:>9,} with a value, {slot.distinct:>9,} "
                f"distinct, largest group {slot.largest:,}"
            )


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
