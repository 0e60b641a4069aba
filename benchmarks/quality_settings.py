"""Linkage quality on every generator setting and several seeds, with the default settings.

    python -m benchmarks.quality_settings [--persons 2000] [--seeds 0 1 2]
        [--settings default fieldlab hard] [--schema person] [--out DIR]

For each generator setting (`linkage.synth.difficulty`: the agencies' own styles, the
rates an independent four-agency check found, and a hard one at about twice those) and
seed, the synthetic agency files are encoded with the shipped schema and matched with the
default settings, which never learn the setting (one default serves all). Reported per
run and as means over seeds:

- pair precision, recall and F1 and group precision of the hits (`linkage.evaluate`),
  and the share of multi-agency persons found;
- pair completeness of candidate generation: the share of all true cross-agency record
  pairs that were scored at all (a pair never scored can never be linked);
- the label-free estimate the run prints (precision and recall of the pairs at the chosen
  posterior threshold) next to the truth of the same candidate pairs.
"""

import argparse
import json
import statistics
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.agencies import encode_agencies
from linkage.evaluate import evaluate, read_truth
from linkage.match.engine import MatchSettings, ScoreSummary, match_batches, score_batches
from linkage.schema import load_schema
from linkage.synth import generate
from linkage.synth.difficulty import SETTINGS

ROOT = Path(__file__).resolve().parent.parent


RecordKey = tuple[str, str]


def true_pairs(truth: Mapping[RecordKey, str]) -> set[tuple[RecordKey, RecordKey]]:
    """Every cross-agency pair of records of one person, each once (smaller key first)."""
    persons: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key, person in truth.items():
        persons[person].append(key)
    pairs = set()
    for keys in persons.values():
        for i, left in enumerate(keys):
            for right in keys[i + 1 :]:
                if left[0] != right[0]:
                    pairs.add((min(left, right), max(left, right)))
    return pairs


def candidate_truth(
    summary: ScoreSummary, refmaps: Mapping[str, Mapping[str, str]], truth: Mapping[Any, str]
) -> tuple[np.ndarray, set[tuple[tuple[str, str], tuple[str, str]]]]:
    """Per candidate pair: is it one person; and the set of candidate record pairs."""
    keys = [(agency, refmaps[agency].get(ref, "")) for agency, ref in summary.records]
    same = np.zeros(len(summary.left), dtype=bool)
    seen = set()
    for index, (left, right) in enumerate(
        zip(summary.left.tolist(), summary.right.tolist(), strict=True)
    ):
        a, b = keys[left], keys[right]
        person_a, person_b = truth.get(a), truth.get(b)
        same[index] = person_a is not None and person_a == person_b
        seen.add((min(a, b), max(a, b)))
    return same, seen


def run_one(data: Path, schema_name: str, settings: MatchSettings | None = None) -> dict[str, Any]:
    """Encode, match with the defaults, and measure against the truth."""
    label = Path(schema_name).stem  # a shipped name, or a schema file's name
    batches, refmaps = encode_agencies(data, load_schema(schema_name), label=label)
    start = time.perf_counter()
    hits, report = match_batches(batches, settings)
    matched = time.perf_counter() - start
    quality = evaluate(hits, data / "truth.csv", refmaps)
    truth = read_truth(data / "truth.csv")
    wanted = true_pairs(truth)
    summary = score_batches(batches, settings)
    same, seen = candidate_truth(summary, refmaps, truth)
    linked = summary.posterior >= report.threshold
    found = int((same & linked).sum())
    return {
        "pair_precision": quality.pair_precision,
        "pair_recall": quality.pair_recall,
        "pair_f1": quality.pair_f1,
        "group_precision": quality.group_precision,
        "persons_found": quality.persons_found,
        "pair_completeness": len(wanted & seen) / max(1, len(wanted)),
        "candidates": len(summary.left),
        "threshold": report.threshold,
        "estimated_precision": report.estimated_precision,
        "estimated_recall": report.estimated_recall,
        "recall_basis": report.recall_basis,
        "recall_interval": report.recall_interval,
        "candidate_precision": found / max(1, int(linked.sum())),
        "candidate_recall": found / max(1, len(wanted)),
        "match_seconds": matched,
    }


def _mean(rows: Sequence[Mapping[str, Any]], key: str) -> float:
    return statistics.fmean(float(row[key]) for row in rows)


def _interval(row: Mapping[str, Any]) -> str:
    low_high = row["recall_interval"]
    if low_high is None:
        return f"({row['recall_basis']}) "
    return f"[{low_high[0]:.3f}-{low_high[1]:.3f}] "


def print_row(setting: str, seed: int, row: Mapping[str, Any]) -> None:
    print(
        f"{setting:9s} seed {seed}: P {row['pair_precision']:.4f} R {row['pair_recall']:.4f} "
        f"F1 {row['pair_f1']:.4f} groups {row['group_precision']:.4f} "
        f"found {row['persons_found']:.4f} completeness {row['pair_completeness']:.4f} | "
        f"estimate P {row['estimated_precision']:.3f} R {row['estimated_recall']:.3f} "
        f"{_interval(row)}"
        f"vs true {row['candidate_precision']:.3f} / {row['candidate_recall']:.3f} "
        f"({row['match_seconds']:.1f} s)",
        flush=True,
    )


def markdown(rows: Sequence[Mapping[str, Any]], settings: Sequence[str]) -> str:
    """The means per setting as a markdown table (F1 range over seeds in brackets)."""
    lines = [
        "| setting | pair P | pair R | pair F1 (min-max) | group P | persons found | "
        "completeness | estimate P / R | true P / R |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for setting in settings:
        mine = [r for r in rows if r["setting"] == setting]
        f1 = [r["pair_f1"] for r in mine]
        lines.append(
            f"| {setting} | {_mean(mine, 'pair_precision'):.4f} | {_mean(mine, 'pair_recall'):.4f}"
            f" | {statistics.fmean(f1):.4f} ({min(f1):.4f}-{max(f1):.4f})"
            f" | {_mean(mine, 'group_precision'):.4f} | {_mean(mine, 'persons_found'):.4f}"
            f" | {_mean(mine, 'pair_completeness'):.4f}"
            f" | {_mean(mine, 'estimated_precision'):.3f} / {_mean(mine, 'estimated_recall'):.3f}"
            f" | {_mean(mine, 'candidate_precision'):.3f} / {_mean(mine, 'candidate_recall'):.3f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=2000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--schema", default="person")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "settings")
    parser.add_argument(
        "--pool-families",
        action="store_true",
        help="pool matches' levels over salt families (MatchSettings.pool_families)",
    )
    args = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []
    for setting in args.settings:
        for seed in args.seeds:
            data = args.out / f"data-{setting}-{seed}"
            generate(data, persons=args.persons, seed=seed, difficulty=SETTINGS[setting])
            found = run_one(data, args.schema, MatchSettings(pool_families=args.pool_families))
            row = {"setting": setting, "seed": seed, **found}
            rows.append(row)
            print_row(setting, seed, row)
    print()
    print(markdown(rows, args.settings))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "quality_settings.json").write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
