"""The `fieldlink` command line: keys, schemas, encoding and batch files."""

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from keys import (
    KeyMaterialError,
    generate_reference_key,
    generate_secret,
    read_reference_key,
    read_secret,
    write_reference_key,
    write_secret,
)
from keys.secret import ReferenceKey
from linkage.agency import EncodeSummary, encode_csv, refmap_path_for, write_refmap
from linkage.batch import import_clkhash, read_batch, write_batch
from linkage.encode import OnInvalid, default_workers
from linkage.errors import LinkageError
from linkage.schema import load_schema, shipped_schemas

SHOWN_PROBLEMS = 20


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failed, 2 usage)."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except (LinkageError, KeyMaterialError) as err:
        sys.stderr.write(f"fieldlink: error: {err}\n")
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fieldlink", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    _keys_commands(commands.add_parser("keys", help="create and check key files"))
    _schema_commands(commands.add_parser("schema", help="show and validate linkage schemas"))
    _encode_command(commands.add_parser("encode", help="encode a CSV file into a batch file"))
    _batch_commands(commands.add_parser("batch", help="inspect and import batch files"))
    return parser


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
    check.add_argument("secret", type=Path, nargs="?", default=_env_path("FIELDLINK_SECRET_FILE"))
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


def _schema_commands(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(required=True, metavar="ACTION")
    show = commands.add_parser("show", help="print a schema with its fingerprint")
    show.add_argument("schema", nargs="?", help=f"file or shipped name {shipped_schemas()}")
    show.set_defaults(run=_schema_show)
    validate = commands.add_parser("validate", help="check a schema file")
    validate.add_argument("schema", type=Path)
    validate.set_defaults(run=_schema_validate)


def _schema_show(args: argparse.Namespace) -> int:
    schema = load_schema(args.schema)
    print(json.dumps(json.loads(schema.canonical_json()), indent=2))
    print(f"fingerprint: {schema.fingerprint()}")
    return 0


def _schema_validate(args: argparse.Namespace) -> int:
    schema = load_schema(args.schema)
    print(
        f"{args.schema}: valid schema '{schema.name}', {len(schema.fields)} fields, "
        f"{schema.encoded_bits} bits, fingerprint {schema.fingerprint()}"
    )
    return 0


def _encode_command(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("csv", type=Path, help="the agency's records (first row: header)")
    parser.add_argument("--schema", help="schema file or shipped name (default: person)")
    parser.add_argument(
        "--secret",
        type=Path,
        default=_env_path("FIELDLINK_SECRET_FILE"),
        help="project secret file (default: $FIELDLINK_SECRET_FILE)",
    )
    parser.add_argument("--agency", required=True, help="this agency's name")
    parser.add_argument(
        "--ref-key",
        type=Path,
        default=_env_path("FIELDLINK_REF_KEY_FILE"),
        help="agency reference key (default: AGENCY.refkey beside the secret, "
        "created on first use)",
    )
    parser.add_argument("--out", type=Path, required=True, help="batch file to write")
    parser.add_argument("--id-column", default="record_id", help="local record id column")
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="COLUMN=FIELD",
        help="feed a column into a schema field (repeatable)",
    )
    parser.add_argument("--encoding", default="utf-8", help="text encoding of the CSV file")
    parser.add_argument(
        "--on-invalid",
        choices=[m.value for m in OnInvalid],
        default="blank",
        help="records with invalid values: leave out (reject), encode the value "
        "as missing (blank) or stop (fail)",
    )
    parser.add_argument(
        "--max-invalid",
        type=float,
        default=0.05,
        help="stop when more than this share of records is invalid",
    )
    parser.add_argument("--workers", type=int, default=default_workers(), help="processes")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=_encode)


def _encode(args: argparse.Namespace) -> int:
    if args.secret is None:
        raise LinkageError("pass --secret (or set FIELDLINK_SECRET_FILE)")
    secret = read_secret(args.secret)
    ref_key = _reference_key(
        args.ref_key or args.secret.with_name(f"{args.agency}.refkey"), args.agency
    )
    with tqdm(desc="encoding", unit=" records", disable=args.quiet or None, file=sys.stderr) as bar:
        summary = encode_csv(
            args.csv,
            schema=load_schema(args.schema),
            secret=secret,
            ref_key=ref_key,
            out=args.out,
            id_column=args.id_column,
            mapping=_mapping(args.map),
            encoding=args.encoding,
            on_invalid=OnInvalid(args.on_invalid),
            max_invalid=args.max_invalid,
            workers=max(1, args.workers),
            progress=bar.update,
        )
    _print_summary(summary)
    return 0


def _reference_key(path: Path, agency: str) -> ReferenceKey:
    if not path.exists():
        write_reference_key(path, generate_reference_key(agency))
        print(f"created reference key for agency {agency} at {path} (mode 0600); keep it")
    key = read_reference_key(path)
    if key.agency != agency:
        raise LinkageError(f"reference key {path} belongs to agency {key.agency}, not {agency}")
    return key


def _mapping(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        column, separator, field = pair.partition("=")
        if not separator or not column or not field:
            raise LinkageError(f"--map expects COLUMN=FIELD, got {pair!r}")
        mapping[column.strip()] = field.strip()
    return mapping


def _print_summary(summary: EncodeSummary) -> None:
    rate = summary.records_read / summary.seconds if summary.seconds else 0.0
    print(f"records read     {summary.records_read:>10,}")
    print(f"records encoded  {summary.records_encoded:>10,}")
    print(f"records rejected {summary.rejected_rows:>10,}")
    shown_rate = f" ({rate:,.0f} records/s)" if summary.records_read >= 10_000 else ""
    print(f"time             {summary.seconds:>10.2f} s{shown_rate}")
    print("fields (column -> field: missing values among encoded records):")
    for field, column in summary.plan.field_columns.items():
        print(f"  {column} -> {field}: {summary.missing.get(field, 0):,} missing")
    for field in summary.plan.absent_fields:
        print(f"  (no column) -> {field}: absent, encoded as missing")
    if summary.plan.ignored_columns:
        print(f"ignored columns: {', '.join(summary.plan.ignored_columns)}")
    if summary.problems:
        handling = {
            OnInvalid.BLANK: "value encoded as missing",
            OnInvalid.REJECT: "record left out",
        }.get(summary.on_invalid, "")
        print(f"invalid values ({len(summary.problems)}; {handling}):")
        for problem in summary.problems[:SHOWN_PROBLEMS]:
            print(f"  {problem}")
        if len(summary.problems) > SHOWN_PROBLEMS:
            print(f"  ... and {len(summary.problems) - SHOWN_PROBLEMS} more")
    print(f"wrote {summary.batch_path} (upload this) and {summary.refmap_path} (keep this local)")


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
    ref_key = _reference_key(args.ref_key, args.agency)
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


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


if __name__ == "__main__":
    raise SystemExit(main())
