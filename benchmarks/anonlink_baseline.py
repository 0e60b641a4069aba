"""anonlink baseline: the all-pairs Dice kernel fieldlink's is measured against.

Runs in the reference environment (``.bench-venv``: anonlink 0.15.3, numpy 1.26), started by
``benchmarks.dice_bench`` pinned to one CPU:

    .bench-venv/bin/python -m benchmarks.anonlink_baseline FILTERS.npy THRESHOLD PAIRS.npy

FILTERS.npy holds both sides as one uint8 array (2 x rows x bytes); the pairs found are
written to PAIRS.npy (left, right, score as three rows of float64) for the comparison, and
one JSON line goes to stdout. anonlink's accelerated Dice (C++, POPCNT per word) returns at
most ``k`` candidates per left record; ``k`` is the number of right records, so nothing is
truncated. Converting rows to bitarrays is not timed; the call is, including anonlink's own
copy of the filters into its C buffers and its sort of the results.
"""

import argparse
import json
import time
from collections.abc import Sequence

import numpy as np
from anonlink.similarities import dice_coefficient_accelerated
from bitarray import bitarray


def to_bitarrays(filters: np.ndarray) -> list[bitarray]:
    """One bitarray per row (bit order does not change a Dice score; little matches ours)."""
    out = []
    for row in filters:
        bits = bitarray(endian="little")
        bits.frombytes(row.tobytes())
        out.append(bits)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("filters", help="uint8 array, 2 x rows x bytes (.npy)")
    parser.add_argument("threshold", type=float)
    parser.add_argument("pairs", help="where to write the pairs found (.npy)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    both = np.load(args.filters)
    left, right = to_bitarrays(both[0]), to_bitarrays(both[1])
    best = float("inf")
    for _ in range(args.repeats):
        start = time.perf_counter()
        scores, (rows, cols) = dice_coefficient_accelerated(
            (left, right), args.threshold, k=len(right)
        )
        best = min(best, time.perf_counter() - start)
    pairs = np.array([np.asarray(rows), np.asarray(cols), np.asarray(scores)], dtype=np.float64)
    np.save(args.pairs, pairs)
    print(json.dumps({"seconds": best, "pairs": len(scores)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
