"""Dice kernel benchmark: fieldlink and anonlink side by side in one run.

    python -m benchmarks.dice_bench [--size 20000] [--threshold 0.8] [--json out.json]

Generates two seeded sets of random 1024-bit filters (about 30% of bits set) of --size rows
each, and plants similar pairs: a right filter that is a left one with each bit flipped with
probability 2-15%, so their scores (about 0.97 down to 0.75) straddle the threshold. Then,
on this machine, in one run:

  1. fieldlink's ``dice_pairs`` on one thread (``threads=False``, calling thread pinned to
     one CPU) and on two threads; each after a warm-up call that loads the compiled code,
     best of --repeats;
  2. anonlink 0.15.3's ``dice_coefficient_accelerated`` in the reference environment
     (``benchmarks.anonlink_baseline``), pinned to one CPU, best of --repeats.

Comparisons per second are size x size / seconds for both: all pairs, whatever a kernel
skips. The pairs found are compared one by one, and the fieldlink process's peak resident
memory (``ru_maxrss``) is reported.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numba
import numpy as np

from linkage.match import DicePairs, dice_pairs

ROOT = Path(__file__).resolve().parents[1]
BITS = 1024
FILL = 0.3
CHUNK_ROWS = 1024  # rows of random bits drawn at a time, so drawing stays small in memory


def reference_python() -> Path:
    """The reference environment's Python (anonlink 0.15.3)."""
    return Path(os.environ.get("FIELDLINK_BENCH_REFERENCE_PYTHON", ROOT / ".bench-venv/bin/python"))


def random_filters(rng: np.random.Generator, rows: int) -> np.ndarray:
    out = np.empty((rows, BITS // 8), dtype=np.uint8)
    for start in range(0, rows, CHUNK_ROWS):
        bits = rng.random((min(CHUNK_ROWS, rows - start), BITS), dtype=np.float32) < FILL
        out[start : start + len(bits)] = np.packbits(bits, axis=1, bitorder="little")
    return out


def make_data(size: int, planted: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two random sets; `planted` right rows are noisy copies of distinct left rows."""
    rng = np.random.default_rng(seed)
    left, right = random_filters(rng, size), random_filters(rng, size)
    sources = rng.choice(size, planted, replace=False)
    targets = rng.choice(size, planted, replace=False)
    bits = np.unpackbits(left[sources], axis=1, bitorder="little").astype(bool)
    flip = rng.random(bits.shape, dtype=np.float32) < rng.uniform(0.02, 0.15, (planted, 1))
    right[targets] = np.packbits(bits ^ flip, axis=1, bitorder="little")
    return left, right


def one_cpu() -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def fieldlink_seconds(
    left: np.ndarray, right: np.ndarray, threshold: float, *, threads: bool, repeats: int
) -> tuple[float, DicePairs]:
    dice_pairs(left[:64], right[:64], threshold=threshold, threads=threads)  # load compiled code
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        pairs = dice_pairs(left, right, threshold=threshold, threads=threads)
        times.append(time.perf_counter() - start)
    return min(times), pairs


def fieldlink_one_thread(
    left: np.ndarray, right: np.ndarray, threshold: float, repeats: int
) -> tuple[float, DicePairs]:
    """threads=False, with the calling thread pinned to one CPU for the measurement."""
    cpus = os.sched_getaffinity(0)
    one_cpu()
    try:
        return fieldlink_seconds(left, right, threshold, threads=False, repeats=repeats)
    finally:
        os.sched_setaffinity(0, cpus)


def anonlink_run(workdir: Path, threshold: float, repeats: int) -> tuple[float, np.ndarray]:
    """Seconds and pairs (3 x pairs: left, right, score) of the pinned anonlink run."""
    out = workdir / "anonlink_pairs.npy"
    argv = [
        str(reference_python()),
        "-m",
        "benchmarks.anonlink_baseline",
        str(workdir / "filters.npy"),
        str(threshold),
        str(out),
        "--repeats",
        str(repeats),
    ]
    result = subprocess.run(
        argv, check=True, cwd=ROOT, capture_output=True, text=True, preexec_fn=one_cpu
    )
    return float(json.loads(result.stdout)["seconds"]), np.load(out)


def compare(ours: DicePairs, theirs: np.ndarray) -> dict[str, Any]:
    """Whether both found the same pairs, and the largest score difference on them."""
    order = np.lexsort((theirs[1], theirs[0]))
    left, right, score = theirs[0][order], theirs[1][order], theirs[2][order]
    same = len(left) == len(ours) and bool(
        np.array_equal(left, ours.left) and np.array_equal(right, ours.right)
    )
    largest = float(np.abs(score - ours.score).max(initial=0.0)) if same else float("nan")
    return {"same_pairs": same, "largest_score_difference": largest}


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def measure(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    left, right = make_data(args.size, args.planted, args.seed)
    np.save(workdir / "filters.npy", np.stack([left, right]))
    for threads in (False, True):  # load both compiled variants before the memory baseline
        dice_pairs(left[:64], right[:64], threshold=args.threshold, threads=threads)
    before = peak_mib()
    one_s, one = fieldlink_one_thread(left, right, args.threshold, args.repeats)
    numba.set_num_threads(args.threads)
    many_s, many = fieldlink_seconds(
        left, right, args.threshold, threads=True, repeats=args.repeats
    )
    peak = peak_mib()
    ref_s, ref = anonlink_run(workdir, args.threshold, args.repeats)
    comparisons = args.size * args.size
    return {
        "size": args.size,
        "bits": BITS,
        "planted": args.planted,
        "threshold": args.threshold,
        "threads": args.threads,
        "load_average": os.getloadavg()[0],
        "fieldlink_1thread_s": one_s,
        "fieldlink_nthreads_s": many_s,
        "anonlink_1core_s": ref_s,
        "fieldlink_1thread_cps": comparisons / one_s,
        "fieldlink_nthreads_cps": comparisons / many_s,
        "anonlink_1core_cps": comparisons / ref_s,
        "fieldlink_pairs": len(one),
        "fieldlink_threads_pairs_identical": bool(
            np.array_equal(one.left, many.left)
            and np.array_equal(one.right, many.right)
            and np.array_equal(one.score, many.score)
        ),
        "anonlink_pairs": int(ref.shape[1]),
        **compare(one, ref),
        "peak_rss_mib_before": before,
        "peak_rss_mib": peak,
    }


def print_report(figures: dict[str, Any]) -> None:
    one, many = figures["fieldlink_1thread_cps"], figures["fieldlink_nthreads_cps"]
    ref, threads = figures["anonlink_1core_cps"], figures["threads"]
    print(
        f"{figures['size']:,} x {figures['size']:,} filters of {figures['bits']} bits, "
        f"{FILL:.0%} set, {figures['planted']:,} planted pairs; threshold "
        f"{figures['threshold']}; load average at the end {figures['load_average']:.2f}"
    )
    print(
        f"fieldlink 1 thread : {figures['fieldlink_1thread_s']:.3f} s, "
        f"{one / 1e6:,.0f} M comparisons/s"
    )
    print(
        f"fieldlink {threads} threads: {figures['fieldlink_nthreads_s']:.3f} s, "
        f"{many / 1e6:,.0f} M comparisons/s ({many / one:.2f}x one thread)"
    )
    print(
        f"anonlink 1 core    : {figures['anonlink_1core_s']:.3f} s, "
        f"{ref / 1e6:,.0f} M comparisons/s"
    )
    print(f"ratio to anonlink  : 1 thread {one / ref:.1f}x, {threads} threads {many / ref:.1f}x")
    print(
        f"pairs              : fieldlink {figures['fieldlink_pairs']:,}, anonlink "
        f"{figures['anonlink_pairs']:,}; same pairs: {figures['same_pairs']}, largest score "
        f"difference {figures['largest_score_difference']:.3g}; 1 and {threads} threads "
        f"identical: {figures['fieldlink_threads_pairs_identical']}"
    )
    peak, before = figures["peak_rss_mib"], figures["peak_rss_mib_before"]
    print(
        f"peak memory        : {peak:,.0f} MiB resident in the fieldlink process, "
        f"{peak - before:,.1f} MiB above its peak before the timed calls ({before:,.0f} MiB)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20_000, help="filters on each side")
    parser.add_argument("--planted", type=int, help="similar pairs planted (default size / 10)")
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--threads", type=int, default=2, help="threads of the threaded run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    args.planted = args.size // 10 if args.planted is None else args.planted
    if not reference_python().exists():
        sys.stderr.write(f"reference environment missing: {reference_python()} (make bench)\n")
        return 2
    with tempfile.TemporaryDirectory(prefix="dice_bench") as workdir:
        figures = measure(args, Path(workdir))
    print_report(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
