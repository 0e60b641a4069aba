"""Pair completeness of the LSH band plan on the ``fields_bench`` scale data, exactly.

    python -m benchmarks.blocking_check --out benchmarks/out

Reads the two sides that ``fields_bench scale`` / ``endtoend`` encoded (``scale_a.arrow``,
``scale_b.arrow`` and their reference maps), makes the band plan the default match makes
(same profile, same threshold, same seed) and counts:

* against the truth: of the true links whose Dice reaches the threshold, how many share a
  bucket in some band (LSH keeps a pair exactly when it shares a bucket and reaches the
  threshold, so this is the pair completeness of the run, without rerunning it);
* against the full comparison: ``--sample`` records of side A compared with every record
  of side B (all pairs), and the share of the pairs reaching the threshold that share a
  bucket, at the CLK threshold and at the field path's candidate threshold;
* the reduction ratio of the sample's records: their distinct candidate pairs (a pair
  sharing several buckets counts once, as the reduction ratio is defined) and the
  comparisons made (a pair counts once per shared bucket, the work the run does).
"""

import argparse
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import numpy.typing as npt

from linkage.agency import read_refmap
from linkage.batch import read_batch
from linkage.match.blocking import BandPlan, band_candidates, plan_bands, share_a_band
from linkage.match.dice import dice_pairs, pair_scores
from linkage.match.engine import profile_batches
from linkage.match.fields import candidate_threshold

Rows = npt.NDArray[np.int64]


def words(filters: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint64]:
    """Packed filters as 64-bit words, as the kernels take them."""
    return np.ascontiguousarray(filters).view(np.uint64)


def true_rows(out: Path, a_refs: Sequence[str], b_refs: Sequence[str]) -> tuple[Rows, Rows]:
    """Row pairs of the true links (rec-N-org-cK in A, rec-N-dup-0-cK in B)."""
    a_ids, b_ids = (
        dict(read_refmap(out / "scale_a.refs.csv")),
        dict(read_refmap(out / "scale_b.refs.csv")),
    )
    row_of_b = {b_ids[ref].replace("-dup-0", "-org"): row for row, ref in enumerate(b_refs)}
    pairs = [(row, row_of_b.get(a_ids[ref], -1)) for row, ref in enumerate(a_refs)]
    left = np.array([a for a, b in pairs if b >= 0], dtype=np.int64)
    right = np.array([b for _, b in pairs if b >= 0], dtype=np.int64)
    return left, right


def sample_candidates(
    plan: BandPlan, sample: npt.NDArray[np.uint8], right: npt.NDArray[np.uint8]
) -> tuple[int, int]:
    """(distinct candidate pairs, comparisons made) of `sample` against all of `right`."""

    def band(index: int) -> npt.NDArray[np.int64]:
        rows, cols = band_candidates(plan, sample, right, index)
        return rows * len(right) + cols  # a bucket holds a pair once: distinct per band

    distinct, pending, made = np.zeros(0, np.int64), [], 0
    with ThreadPoolExecutor(max_workers=2) as pool:
        for codes in pool.map(band, range(plan.bands)):
            made += len(codes)
            pending.append(codes)
            if sum(map(len, pending)) > 20_000_000:
                distinct, pending = np.unique(np.concatenate([distinct, *pending])), []
    distinct = np.unique(np.concatenate([distinct, *pending]))
    return len(distinct), made


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out"))
    parser.add_argument("--sample", type=int, default=3000)
    args = parser.parse_args(argv)
    a, b = read_batch(args.out / "scale_a.arrow"), read_batch(args.out / "scale_b.arrow")
    start = time.perf_counter()
    profile = profile_batches([a, b])
    threshold = profile.threshold()
    plan = plan_bands(a.filters, b.filters, threshold=threshold, found=profile.similarities())
    print(f"plan {plan}, {time.perf_counter() - start:.1f} s")
    candidates = candidate_threshold(threshold)
    left, right = true_rows(args.out, a.references, b.references)
    scores = pair_scores(words(a.filters), words(b.filters), left, right)
    shared = share_a_band(plan, a.filters[left], b.filters[right])
    rows = np.random.default_rng(9).choice(len(a), args.sample, replace=False)
    full = dice_pairs(a.filters[np.sort(rows)], b.filters, threshold=candidates)
    full_shared = share_a_band(plan, a.filters[np.sort(rows)][full.left], b.filters[full.right])
    distinct, made = sample_candidates(plan, a.filters[np.sort(rows)], b.filters)
    print(
        f"candidates of the {args.sample} sampled records: {distinct} distinct pairs "
        f"({distinct / args.sample:.1f} per record, reduction ratio "
        f"{1 - distinct / args.sample / len(b):.5f}); comparisons made {made} "
        f"({made / args.sample:.1f} per record, {1 - made / args.sample / len(b):.5f})"
    )
    for name, cut in (("CLK threshold", threshold), ("candidate threshold", candidates)):
        reach, found = scores >= cut, full.score >= cut
        print(
            f"{name} {cut:.3f}: true links reaching it {int(reach.sum())}, sharing a band "
            f"{int(shared[reach].sum())} (PC vs truth {shared[reach].mean():.5f}); "
            f"full comparison of {args.sample} records: {int(found.sum())} pairs, "
            f"PC vs full {full_shared[found].mean():.4f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
