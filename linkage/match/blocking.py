"""Candidate pairs without comparing all pairs: Hamming locality-sensitive hashing.

Each band samples `bits_per_band` fixed bit positions; two filters share a band's bucket
when they agree on all of them. Similar filters disagree on few bits, so they share some
band with high probability; unrelated ones rarely share any. Positions are public and
seeded: they select bits of filters that are themselves keyed, so they reveal nothing.

Band parameters are chosen from the data: enough bits per band that unrelated filters
seldom collide, enough bands that pairs at the threshold are found with probability
`target_recall` (Gionis, Indyk and Motwani 1999; bit sampling for Hamming distance).
"""

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt
from numba import njit, uint64

from linkage.match.dice import DicePairs, pair_scores, popcounts


@dataclass(frozen=True, slots=True)
class BandPlan:
    """How many bands of how many sampled bits; chosen by `plan_bands`."""

    bands: int
    bits_per_band: int
    seed: int = 0


@dataclass(frozen=True, slots=True)
class BlockingReport:
    """What blocking did: comparisons made, and how much of all pairs that is."""

    plan: BandPlan
    candidates: int
    all_pairs: int

    @property
    def reduction_ratio(self) -> float:
        """1 - candidates / all pairs: the share of comparisons avoided."""
        return 1.0 - self.candidates / self.all_pairs if self.all_pairs else 0.0


def plan_bands(
    left: npt.NDArray[np.uint8],
    right: npt.NDArray[np.uint8],
    *,
    threshold: float,
    target_recall: float = 0.995,
    candidates_per_band: float = 4.0,
    seed: int = 0,
) -> BandPlan:
    """Choose band parameters from the filters' fill, the Dice threshold and a sample.

    Bits per band start from the independent-bits model and grow until sampled collisions
    between the two sides stay within `candidates_per_band` per record; the number of
    bands then follows from the chance that a pair at the threshold shares a band.

    Args:
        left: Packed filters of one side.
        right: Packed filters of the other side.
        threshold: Dice threshold the candidates will be checked against.
        target_recall: Probability of finding a pair whose Dice equals the threshold.
        candidates_per_band: Expected unrelated candidates per record and band.
        seed: Seed of the sampled positions.

    Returns:
        The band plan.
    """
    bits = left.shape[1] * 8
    fill = float(np.concatenate([popcounts(left), popcounts(right)]).mean()) / bits
    unrelated_agree = 1.0 - 2.0 * fill * (1.0 - fill)  # a bit agrees by chance
    match_agree = 1.0 - 2.0 * fill * (1.0 - threshold)  # a bit agrees at Dice == threshold
    pairs_per_record = max(len(left), len(right), 2)
    bits_per_band = math.ceil(
        math.log(pairs_per_record / candidates_per_band) / -math.log(unrelated_agree)
    )
    bits_per_band = _calibrated_bits(
        left, right, min(max(bits_per_band, 8), 64), candidates_per_band, seed
    )
    hit = match_agree**bits_per_band
    bands = math.ceil(math.log(1.0 - target_recall) / math.log(1.0 - hit)) if hit < 1 else 1
    return BandPlan(bands=max(1, bands), bits_per_band=bits_per_band, seed=seed)


CALIBRATION_RECORDS = 20_000
CALIBRATION_BANDS = 4


def _calibrated_bits(
    left: npt.NDArray[np.uint8],
    right: npt.NDArray[np.uint8],
    bits: int,
    candidates_per_band: float,
    seed: int,
) -> int:
    # The first guess assumes independent bits; real filters share structure (common
    # q-grams), so buckets collide more. Measure collisions between samples of both sides
    # and lengthen the bands until unrelated candidates per record meet the budget.
    rng = np.random.default_rng(seed + 1)
    left_sample = left[rng.choice(len(left), min(len(left), CALIBRATION_RECORDS), replace=False)]
    right_sample = right[
        rng.choice(len(right), min(len(right), CALIBRATION_RECORDS), replace=False)
    ]
    scale = len(right) / len(right_sample)  # sampled collisions -> collisions with all of right
    while bits < 64:
        plan = BandPlan(bands=CALIBRATION_BANDS, bits_per_band=bits, seed=seed + 2)
        positions = _positions(plan, left.shape[1] * 8)
        collisions = [
            _collisions(
                _band_keys(_as_words(left_sample), band_positions),
                _band_keys(_as_words(right_sample), band_positions),
            )
            for band_positions in positions
        ]
        per_record = float(np.mean(collisions)) * scale / len(left_sample)
        if per_record <= candidates_per_band:
            return bits
        bits += 1
    return bits


def _collisions(left_keys: npt.NDArray[np.uint64], right_keys: npt.NDArray[np.uint64]) -> float:
    left_values, left_counts = np.unique(left_keys, return_counts=True)
    right_values, right_counts = np.unique(right_keys, return_counts=True)
    _, in_left, in_right = np.intersect1d(left_values, right_values, return_indices=True)
    return float((left_counts[in_left] * right_counts[in_right]).sum())


def _positions(plan: BandPlan, bits: int) -> npt.NDArray[np.int64]:
    rng = np.random.default_rng(plan.seed)
    return np.stack(
        [rng.choice(bits, size=plan.bits_per_band, replace=False) for _ in range(plan.bands)]
    ).astype(np.int64)


@njit(cache=True, nogil=True)
def _band_keys(words, positions):
    # One band: each record's sampled bits, packed into one integer.
    keys = np.empty(words.shape[0], dtype=np.uint64)
    for record in range(words.shape[0]):
        key = uint64(0)
        for position in positions:
            bit = (words[record, position >> 6] >> uint64(position & 63)) & uint64(1)
            key = (key << uint64(1)) | bit
        keys[record] = key
    return keys


@njit(cache=True)
def _grow(values, size):
    bigger = np.empty(max(16, 2 * values.shape[0]), dtype=values.dtype)
    bigger[:size] = values[:size]
    return bigger


@njit(cache=True, nogil=True)
def _band_candidates(left_keys, right_keys, dedup):
    # Sort both sides by the band's key and walk the two sorted lists once (merge join);
    # every pair in a shared bucket is a candidate.
    left_order, right_order = np.argsort(left_keys), np.argsort(right_keys)
    left_sorted, right_sorted = left_keys[left_order], right_keys[right_order]
    lefts = np.empty(1024, dtype=np.int64)
    rights = np.empty(1024, dtype=np.int64)
    found, at_left, at_right = 0, 0, 0
    while at_left < left_sorted.shape[0] and at_right < right_sorted.shape[0]:
        key = left_sorted[at_left]
        if key < right_sorted[at_right]:
            at_left += 1
            continue
        if key > right_sorted[at_right]:
            at_right += 1
            continue
        left_end, right_end = at_left, at_right
        while left_end < left_sorted.shape[0] and left_sorted[left_end] == key:
            left_end += 1
        while right_end < right_sorted.shape[0] and right_sorted[right_end] == key:
            right_end += 1
        for slot in range(at_left, left_end):
            row = left_order[slot]
            for other in range(at_right, right_end):
                col = right_order[other]
                if dedup and col <= row:
                    continue
                if found == lefts.shape[0]:
                    lefts = _grow(lefts, found)
                    rights = _grow(rights, found)
                lefts[found] = row
                rights[found] = col
                found += 1
        at_left, at_right = left_end, right_end
    return lefts[:found], rights[:found]


def lsh_pairs(
    left: npt.NDArray[np.uint8],
    right: npt.NDArray[np.uint8] | None = None,
    *,
    threshold: float,
    plan: BandPlan | None = None,
) -> tuple[DicePairs, BlockingReport]:
    """Pairs with Dice >= threshold among LSH candidates (right=None: deduplicate left).

    Args:
        left: Packed filters of one side.
        right: Packed filters of the other side, or None to compare `left` with itself.
        threshold: Minimum Dice similarity.
        plan: Band parameters; None chooses them with `plan_bands`.

    Returns:
        The pairs found, ordered by (left, right), and a report of the work done.
    """
    other = left if right is None else right
    plan = plan or plan_bands(left, other, threshold=threshold)
    positions = _positions(plan, left.shape[1] * 8)
    left_words, right_words = _as_words(left), _as_words(other)

    # The bands are independent and their work releases the GIL: one thread per core.
    # Each band's keys are made, joined and its candidates scored in one go, keeping only
    # pairs at the threshold: memory holds one band per thread, whatever the band count.
    def band_pairs(band: int) -> tuple[DicePairs, int]:
        left_keys = _band_keys(left_words, positions[band])
        right_keys = left_keys if right is None else _band_keys(right_words, positions[band])
        rows, cols = _band_candidates(left_keys, right_keys, right is None)
        scores = pair_scores(left_words, right_words, rows, cols)
        keep = scores >= threshold
        return DicePairs(left=rows[keep], right=cols[keep], score=scores[keep]), len(rows)

    with ThreadPoolExecutor(max_workers=_threads()) as pool:
        found = list(pool.map(band_pairs, range(plan.bands)))
    candidates = sum(count for _, count in found)
    # A pair sharing several buckets is compared once per bucket; most such pairs are
    # true matches, so duplicates are few, and they are removed after the threshold.
    pairs = _unique(_concatenate([pairs for pairs, _ in found]), len(other))
    total = len(left) * (len(left) - 1) // 2 if right is None else len(left) * len(other)
    return pairs, BlockingReport(plan=plan, candidates=candidates, all_pairs=total)


def _unique(pairs: DicePairs, width: int) -> DicePairs:
    codes = pairs.left * width + pairs.right
    _, first = np.unique(codes, return_index=True)  # sorted by (left, right)
    return DicePairs(left=pairs.left[first], right=pairs.right[first], score=pairs.score[first])


def _threads() -> int:
    return max(1, numba.get_num_threads())


def _as_words(filters: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint64]:
    return np.ascontiguousarray(filters).view(np.uint64)


def _concatenate(pieces: list[DicePairs]) -> DicePairs:
    if not pieces:
        return DicePairs(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))
    return DicePairs(
        left=np.concatenate([p.left for p in pieces]),
        right=np.concatenate([p.right for p in pieces]),
        score=np.concatenate([p.score for p in pieces]),
    )
