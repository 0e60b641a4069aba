"""Encoder benchmark: fieldlink and clkhash side by side in one run.

    python -m benchmarks.encode_bench [--large 200000] [--out benchmarks/out]

Measures, on this machine, in one run:
  1. the encoding step (values to filters) on one core: fieldlink's compiled encoder
     against clkhash's ``generate_clks`` (reference environment, one worker);
  2. the whole command: ``fieldlink encode`` against ``anonlink encode`` (clkhash's command
     line), both pinned to one CPU, on FEBRL4 A and on a large file; and fieldlink on two
     cores;
  3. linkage quality with an all-pairs Dice matcher and no one-to-one solver on FEBRL4
     (precision/recall/F1 per threshold) and FEBRL3 (deduplication), for both encoders.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.febrl import load_truth, write_febrl_csvs, write_large_csv
from keys import LinkageSecret, read_secret, write_secret
from linkage.backend import Backend
from linkage.batch import import_clkhash
from linkage.bloom import BloomEncoder
from linkage.encode import encode_table, normalize_column
from linkage.match import dice_pairs
from linkage.records import plan_columns, read_csv
from linkage.schema import LinkageSchema, load_schema

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "benchmarks" / "febrl_schema.json"
CLKHASH_SCHEMA = ROOT / "benchmarks" / "data" / "clkhash_febrl_schema.json"
CLKHASH_SECRET = "fieldlink-benchmark-secret"  # noqa: S105 - a throwaway benchmark key
THRESHOLDS = [round(0.5 + 0.025 * step, 3) for step in range(19)]


def reference_python() -> Path:
    """The reference environment's Python (clkhash 0.18, anonlink-client)."""
    return Path(os.environ.get("FIELDLINK_BENCH_REFERENCE_PYTHON", ROOT / ".bench-venv/bin/python"))


def one_cpu() -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def timed(argv: Sequence[str], *, pinned: bool) -> float:
    start = time.perf_counter()
    subprocess.run(
        argv,
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        preexec_fn=one_cpu if pinned else None,
    )
    return time.perf_counter() - start


def fieldlink_step_rate(csv_path: Path, schema: LinkageSchema, secret: LinkageSecret) -> float:
    """Records/s of normalised values -> filters, one core (the serial compiled encoder)."""
    table = read_csv(csv_path)
    copies = max(1, 100_000 // len(table))  # enough records for a stable timing
    columns = [
        normalize_column(spec, table.column(spec.name) * copies)[0] for spec in schema.fields
    ]
    encoder = BloomEncoder(schema, secret, backend=Backend.COMPILED)  # what large files use
    encoder.load_compiled()
    best = min(_seconds(lambda: encoder.encode(columns, threads=False)) for _ in range(3))
    return len(columns[0]) / best


def _seconds(work: Any) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def clkhash_step_rate(csv_path: Path) -> float:
    argv = [
        str(reference_python()),
        "-m",
        "benchmarks.clkhash_baseline",
        "rate",
        str(csv_path),
        CLKHASH_SECRET,
        str(CLKHASH_SCHEMA),
    ]
    result = subprocess.run(
        argv, check=True, cwd=ROOT, capture_output=True, text=True, preexec_fn=one_cpu
    )
    return float(json.loads(result.stdout)["records_per_second"])


def fieldlink_command(csv_path: Path, out: Path, key: Path, workers: int) -> list[str]:
    fieldlink = Path(sys.executable).parent / "fieldlink"
    return [
        str(fieldlink),
        "encode",
        str(csv_path),
        "--schema",
        str(SCHEMA),
        "--secret",
        str(key),
        "--agency",
        "bench",
        "--id-column",
        "rec_id",
        "--out",
        str(out),
        "--workers",
        str(workers),
        "--quiet",
    ]


def clkhash_command(csv_path: Path, out: Path) -> list[str]:
    anonlink = reference_python().parent / "anonlink"
    head = (
        [str(anonlink), "encode"]
        if anonlink.exists()
        else [str(reference_python()), "-m", "benchmarks.clkhash_baseline"]
    )
    return [*head, str(csv_path), CLKHASH_SECRET, str(CLKHASH_SCHEMA), str(out)]


def fieldlink_filters(
    csv_path: Path, schema: LinkageSchema, secret: LinkageSecret
) -> tuple[list[str], np.ndarray]:
    table = read_csv(csv_path)
    plan = plan_columns(table.header, schema, id_column="rec_id")
    encoded = encode_table(table, plan, schema, secret, workers=1)
    return table.column("rec_id"), encoded.filters


def clkhash_filters(csv_path: Path, out: Path) -> tuple[list[str], np.ndarray]:
    subprocess.run(clkhash_command(csv_path, out), check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    ids = read_csv(csv_path).column("rec_id")
    batch = import_clkhash(
        json.loads(out.read_text()),
        agency="x",
        schema_fingerprint="clkhash",
        key_check="0" * 16,
        references=ids,
    )
    return ids, batch.filters


def sweep(
    found: Any, ids_a: list[str], ids_b: list[str], truth: set[tuple[str, str]]
) -> list[dict[str, float]]:
    """Pairwise precision, recall and F1 at each threshold (a pair matches at Dice >= t)."""
    index_a = {name: i for i, name in enumerate(ids_a)}
    index_b = {name: j for j, name in enumerate(ids_b)}
    width = len(ids_b)
    true_codes = np.array(sorted(index_a[a] * width + index_b[b] for a, b in truth), np.int64)
    codes = found.left * width + found.right
    is_true = np.isin(codes, true_codes)
    rows = []
    for threshold in THRESHOLDS:
        keep = found.score >= threshold
        hits, total = int(is_true[keep].sum()), int(keep.sum())
        precision = hits / total if total else 1.0
        recall = hits / len(truth)
        f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
        rows.append(
            {
                "threshold": threshold,
                "precision": precision,
                "recall": recall,
                "f1": f1,
                "pairs": total,
            }
        )
    return rows


def quality(data: dict[str, Path], filters: Any) -> dict[str, list[dict[str, float]]]:
    """FEBRL4 linkage and FEBRL3 deduplication sweeps for one encoder."""
    ids_a, left = filters(data["febrl4_a"], "a")
    ids_b, right = filters(data["febrl4_b"], "b")
    ids_3, dedup = filters(data["febrl3"], "3")
    lowest = THRESHOLDS[0]
    return {
        "febrl4": sweep(
            dice_pairs(left, right, threshold=lowest),
            ids_a,
            ids_b,
            load_truth(data["febrl4_truth"]),
        ),
        "febrl3": sweep(
            dice_pairs(dedup, threshold=lowest), ids_3, ids_3, load_truth(data["febrl3_truth"])
        ),
    }


def bench_key(out: Path) -> Path:
    key = out / "bench.key"
    if not key.exists():
        write_secret(key, LinkageSecret(project="bench", value=bytes(range(32))))
    return key


def speed(
    data: dict[str, Path], out: Path, key: Path, repeats: dict[str, int]
) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Figures (best of the repeats) and every run's seconds, per measure."""
    schema, secret = load_schema(SCHEMA), read_secret(key)
    figures = {
        "fieldlink_step_rps": fieldlink_step_rate(data["febrl4_a"], schema, secret),
        "clkhash_step_rps": clkhash_step_rate(data["febrl4_a"]),
    }
    runs: dict[str, list[float]] = {}
    for name in ("febrl4_a", "large"):
        runs.update(whole_commands(name, data[name], out, key, repeats[name]))
    for measure, seconds in runs.items():
        figures[measure] = min(seconds)
        figures[measure.removesuffix("_s") + "_median_s"] = statistics.median(seconds)
    return figures, runs


def whole_commands(
    name: str, csv_path: Path, out: Path, key: Path, repeats: int
) -> dict[str, list[float]]:
    """Each command `repeats` times, interleaved, so a busy spell on the machine hits all.

    clkhash on the large file runs once: it takes minutes and varies least.
    """
    commands = {
        f"{name}_fieldlink_1core_s": (
            fieldlink_command(csv_path, out / f"{name}.arrow", key, 1),
            True,
        ),
        f"{name}_fieldlink_2core_s": (
            fieldlink_command(csv_path, out / f"{name}.arrow", key, 2),
            False,
        ),
        f"{name}_clkhash_1core_s": (clkhash_command(csv_path, out / f"{name}.clks.json"), True),
    }
    runs: dict[str, list[float]] = {measure: [] for measure in commands}
    for repeat in range(repeats):
        for measure, (argv, pinned) in commands.items():
            if repeat == 0 or name != "large" or "clkhash" not in measure:
                runs[measure].append(timed(argv, pinned=pinned))
    return runs


def print_report(
    figures: dict[str, float], large: int, qualities: dict[str, dict[str, list[dict[str, float]]]]
) -> None:
    step_f, step_c = figures["fieldlink_step_rps"], figures["clkhash_step_rps"]
    print(
        f"encoding step, one core: fieldlink {step_f:,.0f} rec/s, clkhash {step_c:,.0f} rec/s,"
        f" ratio {step_f / step_c:.1f}x"
    )
    for name, records in (("febrl4_a", 5000), ("large", large)):
        for kind in ("best", "median"):
            suffix = "_s" if kind == "best" else "_median_s"
            one = figures[f"{name}_fieldlink_1core{suffix}"]
            two = figures[f"{name}_fieldlink_2core{suffix}"]
            ref = figures[f"{name}_clkhash_1core{suffix}"]
            print(
                f"whole command, {name} ({records:,} records), {kind} of {runs_of(figures, name)}: "
                f"fieldlink 1 core {one:.2f} s ({records / one:,.0f} rec/s), 2 cores {two:.2f} s "
                f"(speed-up {one / two:.2f}x); clkhash 1 core {ref:.2f} s "
                f"({records / ref:,.0f} rec/s); ratio {ref / one:.2f}x"
            )
    for encoder, sweeps in qualities.items():
        for dataset, rows in sweeps.items():
            best = max(rows, key=lambda row: row["f1"])
            print(
                f"{encoder:9} {dataset}: best F1 {best['f1']:.4f} at {best['threshold']:.3f} "
                f"(P {best['precision']:.4f}, R {best['recall']:.4f})"
            )
            for row in rows:
                print(
                    f"    t={row['threshold']:.3f} P={row['precision']:.4f} "
                    f"R={row['recall']:.4f} F1={row['f1']:.4f}"
                )


def runs_of(figures: dict[str, float], name: str) -> int:
    return int(figures[f"{name}_repeats"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", type=int, default=200_000, help="records in the large file")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    parser.add_argument(
        "--repeat", type=int, default=7, help="runs of each whole command on FEBRL4 A"
    )
    parser.add_argument(
        "--large-repeat", type=int, default=2, help="runs of fieldlink on the large file"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if not reference_python().exists():
        sys.stderr.write(f"reference environment missing: {reference_python()} (make bench)\n")
        return 2
    data = write_febrl_csvs(args.out / "data")
    data["large"] = write_large_csv(
        args.out / "data" / "large.csv", args.large, distinct_values=True
    )
    key = bench_key(args.out)
    repeats = {"febrl4_a": args.repeat, "large": args.large_repeat}
    figures, runs = speed(data, args.out, key, repeats)
    figures.update({f"{name}_repeats": float(count) for name, count in repeats.items()})
    schema, secret = load_schema(SCHEMA), read_secret(key)
    qualities = {
        "fieldlink": quality(data, lambda path, _: fieldlink_filters(path, schema, secret)),
        "clkhash": quality(
            data, lambda path, tag: clkhash_filters(path, args.out / f"quality_{tag}.clks.json")
        ),
    }
    print_report(figures, args.large, qualities)
    report = {"figures": figures, "runs": runs, "large_records": args.large, "quality": qualities}
    (args.out / "encode.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
