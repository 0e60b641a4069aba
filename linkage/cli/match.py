"""`fieldlink match` and `fieldlink reveal`: match batch files locally, map hits back."""

import argparse
import csv
import io
import sys
from collections.abc import Sequence
from pathlib import Path

from linkage.agency import read_refmap
from linkage.batch import Batch, read_batch
from linkage.batch_stream import read_file_for_matching
from linkage.cli.excel import add_excel_option, excel_text
from linkage.errors import LinkageError
from linkage.hits import Hits, read_hits, write_hits
from linkage.match.engine import (
    MatchReport,
    MatchSettings,
    match_batches,
    profile_batches,
    score_batches,
)
from linkage.spill import SpillSettings

_DEFAULTS = MatchSettings()


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the `match` and `reveal` commands."""
    match = commands.add_parser("match", help="match batch files locally (evaluation, pilots)")
    match.add_argument("batches", type=Path, nargs="+", help="batch files, two agencies or more")
    match.add_argument("--out", type=Path, required=True, help="hits file to write (JSON)")
    match.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="minimum score of a link: Dice similarity (clk scoring) or match posterior "
        "(field scoring); default: chosen from the data, no labels",
    )
    match.add_argument(
        "--min-agencies",
        type=int,
        default=_DEFAULTS.min_agencies,
        help="keep hits spanning at least this many agencies (k)",
    )
    match.add_argument(
        "--cap",
        type=int,
        default=_DEFAULTS.cap,
        help="links a record keeps into each other agency",
    )
    match.add_argument("--blocking", choices=["auto", "lsh", "none"], default="auto")
    match.add_argument(
        "--scoring",
        choices=["auto", "clk", "fields"],
        default=_DEFAULTS.scoring,
        help="fields: per-field Fellegi-Sunter weights learned without labels; clk: Dice of "
        "the record-level filters; auto: fields when every batch carries comparisons",
    )
    match.add_argument(
        "--spill-over",
        type=int,
        default=SpillSettings().over_records,
        metavar="RECORDS",
        help="keep the comparison words of a batch of more records than this on disk, "
        "sealed, and read back one salt family at a time (0: every batch)",
    )
    match.add_argument(
        "--spill-dir",
        type=Path,
        default=None,
        help="folder for those sealed files (default: the system's temporary folder)",
    )
    match.set_defaults(run=_match)
    threshold = commands.add_parser(
        "threshold", help="similarity histogram and expected precision/recall, no labels"
    )
    threshold.add_argument("batches", type=Path, nargs="+", help="batch files")
    threshold.add_argument("--scoring", choices=["auto", "clk", "fields"], default="auto")
    threshold.set_defaults(run=_threshold)
    reveal = commands.add_parser("reveal", help="map your own references in a hits file back")
    reveal.add_argument("hits", type=Path)
    reveal.add_argument("--refs", type=Path, required=True, help="your NAME.refs.csv")
    reveal.add_argument("--out", type=Path, help="CSV to write (default: standard output)")
    add_excel_option(reveal)
    reveal.set_defaults(run=_reveal)


def _match(args: argparse.Namespace) -> int:
    if args.threshold is not None and not 0.0 < args.threshold <= 1.0:
        raise LinkageError("--threshold must be in (0, 1]")
    if args.min_agencies < 2:
        raise LinkageError("--min-agencies must be at least 2")
    if args.spill_over < 0:
        raise LinkageError("--spill-over must be 0 or more records")
    settings = MatchSettings(
        threshold=args.threshold,
        min_agencies=args.min_agencies,
        cap=args.cap,
        blocking=args.blocking,
        scoring=args.scoring,
    )
    # As the hub reads uploads: with group filters, family digests instead of the filters
    # (what field scoring compares); scoring by the record filters needs them whole.
    spill = SpillSettings(over_records=args.spill_over, folder=args.spill_dir)
    batches = [
        read_batch(path) if args.scoring == "clk" else read_file_for_matching(path, spill=spill)
        for path in args.batches
    ]
    hits, report = match_batches(batches, settings)
    write_hits(hits, args.out)
    if report.scoring == "fields":
        print_weights(report.field_weights, report.prior)
    _print_report(hits, report)
    print(f"wrote {args.out}")
    return 0


def _recall_basis(report: MatchReport) -> str:
    """What the recall counts: all pairs (with its interval) or only the compared ones."""
    if report.recall_interval is not None:
        low, high = report.recall_interval
        return f"[95% {low:.3f}-{high:.3f}] of all pairs"
    if report.scoring == "fields":
        return "of the compared pairs only: pairs never compared cannot be estimated here"
    return ""


def _print_report(hits: Hits, report: MatchReport) -> None:
    for agency, count in report.records.items():
        print(f"  {agency:<16} {count:>10,} records")
    if report.candidate_threshold is not None:
        print(
            f"scoring: fields (candidates at record-level Dice >= {report.candidate_threshold:.3f})"
        )
    if report.estimated_precision is not None:
        what = "posterior" if report.scoring == "fields" else "threshold"
        print(
            f"{what} {report.threshold:.3f}, expected precision "
            f"{report.estimated_precision:.3f}, recall {report.estimated_recall:.3f} "
            f"{_recall_basis(report)} (no labels)"
        )
    saved = 1 - report.comparisons / report.all_pairs if report.all_pairs else 0.0
    print(
        f"comparisons      {report.comparisons:>12,} of {report.all_pairs:,} pairs "
        f"(reduction ratio {saved:.4f})"
    )
    print(f"links >= {hits.threshold:<7} {report.pairs_at_threshold:>12,}")
    print(f"hits spanning >= {hits.min_agencies} agencies: {len(hits.groups):,}")
    spans: dict[int, int] = {}
    for group in hits.groups:
        spans[len(group.agencies)] = spans.get(len(group.agencies), 0) + 1
    for agencies, count in sorted(spans.items()):
        print(f"  in {agencies} agencies: {count:,}")


def print_weights(
    rows: Sequence[tuple[str, str, float, float, float]], prior: float | None
) -> None:
    """The learned weights: m, u and log2(m/u) per comparison level (missing counts 0)."""
    print("learned weights (no labels; missing values weigh 0):")
    print(f"  {'comparison':<32} {'level':<9} {'m':>8} {'u':>9} {'weight':>7}")
    for name, level, m, u, weight in rows:
        print(f"  {name:<32} {level:<9} {m:>8.4f} {u:>9.5f} {weight:>+7.2f}")
    if prior is not None:
        print(f"  share of matches among candidates: {prior:.3f}")


def _threshold(args: argparse.Namespace) -> int:
    batches = [read_batch(path) for path in args.batches]
    if args.scoring == "fields" or (
        args.scoring == "auto" and all(b.comparisons is not None for b in batches)
    ):
        return _field_threshold(batches)
    profile = profile_batches(batches)
    chosen = profile.threshold()
    tallest = max(float(profile.histogram.max(initial=0.0)), 1.0)
    print(f"pairs per similarity (sample of {profile.records:,} records per agency pair):")
    for index, count in enumerate(profile.histogram.tolist()):
        start = float(profile.thresholds[0]) + 0.01 * index
        bar = "#" * round(40 * count / tallest)
        print(f"  {start:.2f}  {int(count):>8,}  {bar}")
    print("threshold  expected precision  expected recall")
    for value in sorted({round(chosen + step, 3) for step in (-0.1, -0.05, 0.0, 0.05, 0.1)}):
        if profile.thresholds[0] <= value <= 1.0:
            precision, recall = profile.estimate(value)
            mark = (
                "  <- chosen (least populated between chance and matches)"
                if value == chosen
                else ""
            )
            print(f"  {value:.3f}    {precision:>8.3f}          {recall:>8.3f}{mark}")
    return 0


def _field_threshold(batches: list[Batch]) -> int:
    scored = score_batches(batches)
    print_weights(scored.field_weights, scored.prior)
    profile = scored.profile
    starts, counts = profile.histogram()
    tallest = max(int(counts.max(initial=0)), 1)
    print(f"candidate pairs per match posterior ({len(profile.posteriors):,} candidates):")
    for start, count in zip(starts.tolist(), counts.tolist(), strict=True):
        print(f"  {start:.2f}  {count:>8,}  {'#' * round(40 * count / tallest)}")
    chosen = profile.threshold()
    print("posterior  expected precision  expected recall")
    for value in sorted({0.5, 0.7, 0.8, 0.9, 0.95, 0.99, chosen}):
        precision, recall = profile.estimate(value)
        mark = "  <- chosen (highest expected F1)" if value == chosen else ""
        print(f"  {value:.3f}    {precision:>8.3f}          {recall:>8.3f}{mark}")
    return 0


def _reveal(args: argparse.Namespace) -> int:
    hits, own = read_hits(args.hits), read_refmap(args.refs)
    rows: list[list[object]] = []
    for number, group in enumerate(hits.groups, 1):
        mine = [m for m in group.members if m.reference in own]
        others = " ".join(a for a in group.agencies if a not in {m.agency for m in mine})
        hit, best = group.number or number, f"{group.score:.4f}"
        rows.extend([hit, own[m.reference], m.agency, others, best] for m in mine)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["hit", "local_id", "agency", "other_agencies", "best_score"])
    writer.writerows(rows)
    written = excel_text(text.getvalue()) if args.excel else text.getvalue()
    if args.out is None:
        sys.stdout.write(written)
        return 0
    args.out.write_text(written, encoding="utf-8", newline="")
    print(f"{len(rows)} of your records are in {len({r[0] for r in rows})} hits; wrote {args.out}")
    return 0
