"""Linkage quality of the hardened default against the unhardened one, side by side.

    python -m benchmarks.hardening_quality [--persons 2000] [--seeds 0 1 2]
        [--missing-dob 0.0 0.05] [--schemas person-classic person] [--out DIR]

For every generator setting (the agencies' own error rates, then with at least a share of
every agency's records missing the date of birth) and seed, the same synthetic
multi-agency files (`linkage.synth`) are encoded with each schema and matched with the
default settings (field scoring, threshold chosen without labels); pair precision, recall
and F1, group precision and the label-free estimate are printed per run and as means.
The privacy side of the same schemas is `benchmarks.privacy.run`.
"""

import argparse
import json
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.agencies import encode_agencies
from linkage.evaluate import evaluate
from linkage.match.engine import match_batches
from linkage.schema import load_schema
from linkage.synth import generate

ROOT = Path(__file__).resolve().parent.parent


def run_one(data: Path, schema_name: str) -> dict[str, Any]:
    """Encode every agency's file with one schema, match by default, evaluate."""
    start = time.perf_counter()
    batches, refmaps = encode_agencies(data, load_schema(schema_name), label=schema_name)
    encoded = time.perf_counter() - start
    start = time.perf_counter()
    hits, report = match_batches(batches)
    matched = time.perf_counter() - start
    quality = evaluate(hits, data / "truth.csv", refmaps)
    return {
        "schema": schema_name,
        "pair_precision": quality.pair_precision,
        "pair_recall": quality.pair_recall,
        "pair_f1": quality.pair_f1,
        "group_precision": quality.group_precision,
        "persons_found": quality.persons_found,
        "estimated_precision": report.estimated_precision,
        "estimated_recall": report.estimated_recall,
        "threshold": report.threshold,
        "comparisons": report.comparisons,
        "encode_seconds": encoded,
        "match_seconds": matched,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=2000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--missing-dob", type=float, nargs="+", default=[0.0, 0.05])
    parser.add_argument("--schemas", nargs="+", default=["person-classic", "person"])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "hardening")
    args = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []
    for missing in args.missing_dob:
        for seed in args.seeds:
            data = args.out / f"data-{missing}-{seed}"
            generate(data, persons=args.persons, seed=seed, missing_dob=missing)
            for name in args.schemas:
                row = {"missing_dob": missing, "seed": seed, **run_one(data, name)}
                rows.append(row)
                print(
                    f"missing dob >= {missing:.2f} seed {seed} {name:15s} "
                    f"P {row['pair_precision']:.4f} R {row['pair_recall']:.4f} "
                    f"F1 {row['pair_f1']:.4f} groups {row['group_precision']:.4f} "
                    f"est P {row['estimated_precision']:.3f} R {row['estimated_recall']:.3f} "
                    f"({row['encode_seconds']:.1f} s encode, {row['match_seconds']:.1f} s match)",
                    flush=True,
                )
    print("\nmeans over seeds")
    for missing in args.missing_dob:
        for name in args.schemas:
            mine = [r for r in rows if r["missing_dob"] == missing and r["schema"] == name]
            f1 = [r["pair_f1"] for r in mine]
            print(
                f"missing dob >= {missing:.2f} {name:15s} F1 {statistics.mean(f1):.4f} "
                f"(min {min(f1):.4f}, max {max(f1):.4f}) "
                f"P {statistics.mean(r['pair_precision'] for r in mine):.4f} "
                f"R {statistics.mean(r['pair_recall'] for r in mine):.4f}"
            )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "hardening_quality.json").write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
