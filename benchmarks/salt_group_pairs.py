"""Candidate pairs per salt family of two encoded sides, from their group digests alone.

    python -m benchmarks.salt_group_pairs OUT   # OUT: a `fields_bench endtoend` folder

What a run with group filters would compare, counted without comparing: per family, the
sum over the salt digests both sides hold of their record counts' product, and the
largest such group. Records not in a family (digest 0) are left out, as the run leaves
them out (`linkage.match.group_tasks`). Reads the sides as a run does, comparison words
spilled (`linkage.spill`), so the count of a 10,000,000-record pair fits in a few GiB.
"""

import argparse
import resource
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from linkage.batch import DigestedBatch
from linkage.batch_stream import read_file_for_matching
from linkage.match.layout import ComparisonLayout
from linkage.spill import SpillSettings


def family_pairs(a: npt.NDArray[np.uint64], b: npt.NDArray[np.uint64]) -> tuple[int, int]:
    """Candidate pairs between two sides' digests of one family, and the largest group's."""
    values_a, counts_a = np.unique(a[a != 0], return_counts=True)
    values_b, counts_b = np.unique(b[b != 0], return_counts=True)
    _, in_a, in_b = np.intersect1d(values_a, values_b, assume_unique=True, return_indices=True)
    pairs = counts_a[in_a].astype(np.int64) * counts_b[in_b]
    return int(pairs.sum()), int(pairs.max(initial=0))


def _read(path: Path) -> DigestedBatch:
    side = read_file_for_matching(path, spill=SpillSettings(over_records=0))
    if not isinstance(side, DigestedBatch):
        raise SystemExit(f"{path}: no group filters (this counts salt-group candidates only)")
    return side


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder with scale_a.arrow and scale_b.arrow")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    a, b = (_read(args.out / f"scale_{side}.arrow") for side in ("a", "b"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"read {time.perf_counter() - start:.1f} s, peak {peak:.2f} GiB", flush=True)
    names = ComparisonLayout.parse(a.comparisons.layout).family_names
    total = 0
    for family in range(a.digests.shape[1]):
        pairs, largest = family_pairs(a.digests[:, family], b.digests[:, family])
        total += pairs
        print(f"{names[family]}: {pairs:,} candidate pairs, largest group {largest:,}", flush=True)
    print(f"all families: {total:,} candidate pairs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
