"""Linkage quality benchmark: fieldlink and clkhash + anonlink on the same agency data.

    python -m benchmarks.quality_bench [--persons 2000] [--seed 0] [--out benchmarks/out]

In one run, on one synthetic multi-agency data set (``linkage.synth``: gemeente, politie,
fiu and kmar, each with its own formats and errors, and the truth):

  1. fieldlink: ``encode_csv`` per agency, ``match_batches`` with the default settings (field
     scoring: Fellegi-Sunter weights learned without labels, threshold chosen without
     labels) and with ``scoring="clk"`` (Dice of the record-level filters, the previous
     default), each scored by ``evaluate``;
  2. the anchor, clkhash + anonlink, in the reference environment
     (``benchmarks.anonlink_multiparty``): clkhash CLKs of the raw CSV values, then
     anonlink's multi-party candidate generation and greedy solver at thresholds 0.60 to
     0.95; the groups are scored by the same ``evaluate``, with record ids as references.

The anchor's best threshold is picked with the truth, which fieldlink does not get. The
figures go to ``OUT/quality.json``; the data and the intermediate files to ``OUT/quality/``.
"""

import argparse
import csv
import dataclasses
import json
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks.agencies import encode_agencies
from benchmarks.encode_bench import CLKHASH_SECRET, ROOT, reference_python
from linkage.evaluate import Quality, evaluate, read_truth
from linkage.hits import Group, Hits, Member
from linkage.match.engine import MatchSettings, match_batches
from linkage.schema import load_schema
from linkage.synth import format_summary, generate
from linkage.synth.agencies import AGENCIES

THRESHOLDS = [round(0.60 + 0.05 * step, 2) for step in range(8)]
MIN_AGENCIES = 2  # fieldlink's default: a group spans at least two agencies


def run_fieldlink(data: Path) -> dict[str, dict[str, Any]]:
    """Encode every agency's file, match by fields (default) and by CLK, evaluate both."""
    start = time.perf_counter()
    batches, refmaps = encode_agencies(data, load_schema())
    encoded = time.perf_counter() - start
    runs = {}
    for scoring in ("fields", "clk"):
        start = time.perf_counter()
        hits, report = match_batches(batches, MatchSettings(scoring=scoring))
        runs[scoring] = {
            "threshold": report.threshold,
            "candidate_threshold": report.candidate_threshold,
            "estimated_precision": report.estimated_precision,
            "estimated_recall": report.estimated_recall,
            "encode_seconds": encoded,
            "match_seconds": time.perf_counter() - start,
            "field_weights": report.field_weights,
            "quality": dataclasses.asdict(evaluate(hits, data / "truth.csv", refmaps)),
        }
    return runs


def record_ids(csv_path: Path, delimiter: str) -> list[str]:
    """The ``record_id`` column in row order: anonlink's record indices point into it."""
    with csv_path.open(newline="", encoding="utf-8") as handle:
        return [row["record_id"] for row in csv.DictReader(handle, delimiter=delimiter)]


def run_anchor(data: Path) -> dict[str, Any]:
    """clkhash + anonlink in the reference environment; groups per threshold."""
    datasets = [
        {
            "name": name,
            "csv": str(data / f"{name}.csv"),
            "delimiter": style.delimiter,
            "missing_marker": style.missing_marker,
        }
        for name, style in AGENCIES.items()
    ]
    job, result = data / "anchor_job.json", data / "anchor_groups.json"
    job.write_text(
        json.dumps({"secret": CLKHASH_SECRET, "thresholds": THRESHOLDS, "datasets": datasets})
    )
    argv = [str(reference_python()), "-m", "benchmarks.anonlink_multiparty", str(job), str(result)]
    subprocess.run(argv, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    output: dict[str, Any] = json.loads(result.read_text())
    output["agencies"] = [dataset["name"] for dataset in datasets]
    return output


def anchor_hits(
    groups: Sequence[Sequence[Sequence[int]]], agencies: Sequence[str], ids: Sequence[list[str]]
) -> Hits:
    """anonlink's groups of (dataset, record index) as hits naming records by record id."""
    out = []
    for group in groups:
        members = tuple(Member(agencies[d], ids[d][r]) for d, r in group)
        if len({member.agency for member in members}) >= MIN_AGENCIES:
            out.append(Group(members=members, links=()))
    return Hits(threshold=0.0, min_agencies=MIN_AGENCIES, groups=tuple(out))


def score_anchor(data: Path, anchor: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Evaluate the anchor's groups at each threshold exactly as fieldlink's hits."""
    agencies = anchor["agencies"]
    ids = [record_ids(data / f"{name}.csv", AGENCIES[name].delimiter) for name in agencies]
    if [len(column) for column in ids] != anchor["records"]:
        raise SystemExit("the anchor encoded another number of records than the CSV files hold")
    refmaps = {
        name: {rid: rid for rid in column} for name, column in zip(agencies, ids, strict=True)
    }
    rows = []
    for run in anchor["runs"]:
        quality: Quality = evaluate(
            anchor_hits(run["groups"], agencies, ids), data / "truth.csv", refmaps
        )
        rows.append(
            {
                "threshold": run["threshold"],
                "candidates": run["candidates"],
                "quality": dataclasses.asdict(quality),
            }
        )
    return rows


def one_per_agency_pairs(truth_path: Path) -> int:
    """True cross-agency pairs that groups of at most one record per agency can hold.

    anonlink never compares two records of one dataset and ``greedy_solve`` merges groups
    only when every cross pair is a candidate, so its groups hold one record per agency,
    while the true pairs also count an agency's repeated records of a person.
    """
    agencies: dict[str, set[str]] = {}
    for (agency, _), person in read_truth(truth_path).items():
        agencies.setdefault(person, set()).add(agency)
    return sum(len(held) * (len(held) - 1) // 2 for held in agencies.values())


def _row(label: str, quality: Mapping[str, Any]) -> str:
    return (
        f"{label:<38} {quality['pair_precision']:>6.4f} {quality['pair_recall']:>6.4f} "
        f"{quality['pair_f1']:>6.4f} {quality['group_precision']:>6.4f} "
        f"{quality['persons_found']:>6.4f} {quality['groups']:>6}"
    )


def print_report(
    runs: Mapping[str, Mapping[str, Any]], rows: Sequence[Mapping[str, Any]], ceiling: float
) -> float:
    """The side-by-side table; returns fieldlink's F1 minus the anchor's best F1."""
    fieldlink = runs["fields"]
    best = max(rows, key=lambda row: row["quality"]["pair_f1"])
    print(f"{'method (threshold)':<38} {'P':>6} {'R':>6} {'F1':>6} {'grpP':>6} {'found':>6} groups")
    for scoring, run in runs.items():
        print(_row(f"fieldlink {scoring} ({run['threshold']:.3f}, label-free)", run["quality"]))
    for row in rows:
        mark = "  <- best F1" if row is best else ""
        print(_row(f"clkhash+anonlink ({row['threshold']:.2f})", row["quality"]) + mark)
    difference = float(fieldlink["quality"]["pair_f1"] - best["quality"]["pair_f1"])
    if best is rows[0] or best is rows[-1]:
        print(f"note: the anchor's best F1 is at the edge of the grid ({best['threshold']:.2f})")
    print(
        f"F1 difference (fieldlink {fieldlink['quality']['pair_f1']:.4f} minus anchor best "
        f"{best['quality']['pair_f1']:.4f} at {best['threshold']:.2f}): {difference:+.4f}"
    )
    print("P, R, F1: cross-agency pairs; grpP: groups of one person; found: multi-agency persons")
    print(f"anchor recall ceiling (one record per agency in a group): {ceiling:.4f}")
    return difference


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    args = parser.parse_args(argv)
    if not reference_python().exists():
        sys.stderr.write(f"reference environment missing: {reference_python()} (make bench)\n")
        return 2
    data = args.out / "quality"
    summary = generate(data, persons=args.persons, seed=args.seed)
    print(format_summary(summary), end="\n\n")
    fieldlink = run_fieldlink(data)
    anchor = run_anchor(data)
    rows = score_anchor(data, anchor)
    true_pairs = fieldlink["fields"]["quality"]["true_pairs"]
    ceiling = one_per_agency_pairs(data / "truth.csv") / true_pairs if true_pairs else 1.0
    difference = print_report(fieldlink, rows, ceiling)
    best = max(rows, key=lambda row: row["quality"]["pair_f1"])
    report = {
        "persons": args.persons,
        "seed": args.seed,
        "records": dict(summary.records),
        "multi_agency_persons": summary.multi_agency_persons,
        "fieldlink": fieldlink,
        "anchor": {
            "clkhash": anchor["clkhash"],
            "anonlink": anchor["anonlink"],
            "schema": anchor["schema"],
            "missing_markers": anchor["missing_markers"],
            "ones_share": dict(zip(anchor["agencies"], anchor["ones_share"], strict=True)),
            "encode_seconds": anchor["encode_seconds"],
            "thresholds": rows,
            "best_threshold": best["threshold"],
            "recall_ceiling_one_per_agency": ceiling,
        },
        "f1_difference": difference,
    }
    (args.out / "quality.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
