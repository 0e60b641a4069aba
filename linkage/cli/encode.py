"""`fieldlink encode`: a CSV file in, a batch file and a local reference map out."""

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from keys import read_secret
from linkage.agency import EncodeSummary, encode_csv
from linkage.cli.common import UsageError, env_path, reference_key
from linkage.cli.preview import preview_rows, print_preview
from linkage.encode import OnInvalid, default_workers
from linkage.envelopes import EnvelopeRequest
from linkage.errors import LinkageError
from linkage.names import agency_name
from linkage.schema import load_schema

SHOWN_PROBLEMS = 20


def share(text: str) -> float:
    """A share from the command line: "0.05" or "5%"; anything above 1 is refused."""
    percent = text.strip().endswith("%")
    try:
        value = float(text.strip().rstrip("%")) / (100 if percent else 1)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"'{text}' is not a share (0.05 or 5%)") from err
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a share between 0 and 1 (for five percent write 0.05 or 5%)"
        )
    return value


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the `encode` command."""
    _encode_command(commands.add_parser("encode", help="encode a CSV file into a batch file"))


def _encode_command(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("csv", type=Path, help="the agency's records (first line: the header)")
    parser.add_argument("--schema", help="schema file or shipped name (default: person)")
    parser.add_argument(
        "--secret",
        type=Path,
        default=env_path("FIELDLINK_SECRET_FILE"),
        help="project secret file (default: $FIELDLINK_SECRET_FILE)",
    )
    parser.add_argument(
        "--agency", type=agency_name, required=True, help="this agency's name (any case)"
    )
    parser.add_argument(
        "--ref-key",
        type=Path,
        default=env_path("FIELDLINK_REF_KEY_FILE"),
        help="agency reference key (default: AGENCY.refkey beside the secret, "
        "created on first use)",
    )
    parser.add_argument("--out", type=Path, help="batch file to write (not with --preview)")
    parser.add_argument(
        "--preview",
        type=int,
        metavar="N",
        help="only show how the first N rows normalise (raw -> normalised, with the "
        "mapping used), on this screen; nothing is written and no key is needed",
    )
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
        type=share,
        default=0.05,
        metavar="SHARE",
        help="stop when more than this share of records is invalid: 0.05 or 5%% (default 5%%)",
    )
    parser.add_argument(
        "--envelope-fields",
        metavar="F1,F2,...",
        help="seal these fields' raw values per record for the team (schema fields or "
        "columns; the local id only if listed); needs --team-key",
    )
    parser.add_argument(
        "--team-key", type=Path, metavar="TEAM.pub.json", help="the team's public key file"
    )
    parser.add_argument("--workers", type=int, default=default_workers(), help="processes")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=_encode)


def _encode(args: argparse.Namespace) -> int:
    if args.preview is not None:
        return _preview(args)
    if args.out is None:
        raise UsageError("pass --out (the batch file to write), or --preview N")
    if args.secret is None:
        raise LinkageError("pass --secret (or set FIELDLINK_SECRET_FILE)")
    secret = read_secret(args.secret)
    ref_key = reference_key(
        args.ref_key or args.secret.with_name(f"{args.agency}.refkey"), args.agency
    )
    with _progress_bar(args.quiet) as update:
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
            progress=update,
            envelopes=_envelope_request(args.envelope_fields, args.team_key),
        )
    _print_summary(summary)
    return 0


def _preview(args: argparse.Namespace) -> int:
    if args.preview < 1:
        raise UsageError("--preview needs a number of rows of at least 1")
    plan, previews = preview_rows(
        args.csv,
        load_schema(args.schema),
        rows=args.preview,
        id_column=args.id_column,
        mapping=_mapping(args.map),
        encoding=args.encoding,
    )
    print_preview(args.csv, plan, previews)
    return 0


@contextmanager
def _progress_bar(quiet: bool) -> Iterator[Callable[[int], None] | None]:
    # --quiet loads no progress bar at all (tqdm costs 5 ms of a small file's start).
    if quiet:
        yield None
        return
    from tqdm import tqdm

    with tqdm(desc="encoding", unit=" records", disable=None, file=sys.stderr) as bar:

        def update(records: int) -> None:
            bar.update(records)

        yield update


def _envelope_request(fields: str | None, team_key: Path | None) -> EnvelopeRequest | None:
    if fields is None and team_key is None:
        return None
    if fields is None or team_key is None:
        raise LinkageError("--envelope-fields and --team-key go together")
    names = tuple(name.strip() for name in fields.split(",") if name.strip())
    from keys import KeyKind, read_public_key  # loads `cryptography`: only when sealing

    return EnvelopeRequest(fields=names, team_key=read_public_key(team_key, kind=KeyKind.TEAM))


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
    if summary.team_key_id:
        print(
            f"sealed envelopes ({', '.join(summary.envelope_fields)}) for team key "
            f"{summary.team_key_id}"
        )
    print(f"wrote {summary.batch_path} (upload this) and {summary.refmap_path} (keep this local)")
