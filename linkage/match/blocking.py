"""Candidate pairs without comparing all pairs: MinHash locality-sensitive hashing.

A filter is read as the set of its one bits. Each band holds `hashes_per_band` random
orderings of the bit positions; a filter's MinHash under an ordering is the rank of its
first one bit in that order, and a band's key combines its MinHashes. Two filters share a
band's bucket when all their MinHashes agree, which for one ordering happens with
probability equal to their Jaccard similarity J (Broder 1997), so with probability J^r for
a band of r. Dice s and Jaccard are tied (J = s / (2 - s)), so every pair at or above a
Dice threshold is found with at least the same probability, however many bits its filters
set: the guarantee holds for the pairs the full comparison finds, not only on average.

Bit sampling (agreement on sampled bit positions), used before, depends on the Hamming
distance instead, which grows with the filters' fill: on FEBRL-like data the heaviest
records at the threshold were found with 0.95 of the pairs' overall rate. MinHash costs
about the same per band: the scan for a first one bit stops after 1/fill positions.

Orderings are public and seeded: they permute bits of filters that are themselves keyed,
so they reveal nothing. Band parameters are chosen from the data: enough MinHashes per band
that unrelated filters seldom collide, enough bands that the pairs a full comparison of a
sample finds are found with probability `target_recall` on average (Leskovec, Rajaraman and
Ullman, Mining of Massive Datasets, ch. 3).
"""

import math
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import numpy.typing as npt
from numba import njit, uint64

from linkage.compiled.mix import GOLDEN, mix64
from linkage.match.dice import DicePairs, dice_pairs, pair_scores

# (Dice, pairs): similarities of the pairs to be found, such as those a full comparison
# of a sample finds (`ScoreProfile.similarities`)
Similarities = tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]


@dataclass(frozen=True, slots=True)
class BandPlan:
    """How many bands of how many MinHashes; chosen by `plan_bands`."""

    bands: int
    hashes_per_band: int
    seed: int = 0
    key_bits: int = 32  # band keys are hashed to this many bits, at most 32 (`key_bits_for`)


@dataclass(frozen=True, slots=True)
class BlockingReport:
    """What blocking did: comparisons made, and how much of all pairs that is."""

    plan: BandPlan
    candidates: int  # comparisons made: a pair sharing several buckets counts each time
    all_pairs: int

    @property
    def reduction_ratio(self) -> float:
        """1 - comparisons made / all pairs (distinct candidate pairs are fewer)."""
        return 1.0 - self.candidates / self.all_pairs if self.all_pairs else 0.0


def plan_bands(
    left: npt.NDArray[np.uint8],
    right: npt.NDArray[np.uint8],
    *,
    threshold: float,
    target_recall: float = 0.995,
    seed: int = 0,
    found: Similarities | None = None,
) -> BandPlan:
    """Choose band parameters from the Dice threshold and the similarities of a sample.

    A pair of Dice s shares one band's bucket with probability J(s)^r (r MinHashes a band),
    so from the similarities of pairs between samples of both sides (`_PairSample`) the
    candidates of any plan follow without hashing anything. For each r, the number of
    bands is the least that finds a pair at the threshold with probability
    `target_recall`, or, given `found`, the pairs a full comparison finds at that rate on
    average; the plan kept is the cheapest whose distinct candidates meet
    `TARGET_REDUCTION` (`_cheapest`).

    Args:
        left: Packed filters of one side.
        right: Packed filters of the other side.
        threshold: Dice threshold the candidates will be checked against.
        target_recall: Probability of finding a pair whose Dice equals the threshold, or,
            given `found`, the share of those pairs found on average.
        seed: Seed of the samples and of the orderings.
        found: Similarities of the pairs a full comparison finds at or above the threshold
            (as `ScoreProfile.similarities`: all pairs of a sample compared with every
            record of the other side, label-free).

    Returns:
        The band plan.
    """
    sample = _PairSample.of(left, right, seed)
    options = []
    for hashes in range(1, MAX_HASHES + 1):
        bands = _bands_needed(threshold, hashes, target_recall, found)
        options.append(
            _Option(
                hashes=hashes,
                bands=bands,
                collisions=sample.per_band(hashes),
                distinct=sample.distinct(hashes, bands),
            )
        )
    best = _cheapest(options, len(right))
    return BandPlan(
        bands=best.bands, hashes_per_band=best.hashes, seed=seed, key_bits=sample.key_bits
    )


SAMPLE_RECORDS = 20_000  # of each side, compared all against all for the alike pairs
RANDOM_PAIRS = 200_000  # for the similarities of unrelated pairs
MAX_HASHES = 32
# Distinct candidate pairs avoided, as a share of all pairs, that a plan aims for (the
# issue asks for 0.999 at 1,000,000 x 1,000,000; the margin covers sampling error).
TARGET_REDUCTION = 0.9992
MAX_SLOWDOWN = 2.0  # the reduction target is given up where it costs more than this
MAX_BANDS = 3_000


def band_cost(hashes: int) -> float:
    """A band's own work per left record, in candidates (about 50 ns each to emit and score).

    Measured at 1,000,000 x 1,000,000: a MinHash takes 7.5 ns a record on each side (a scan
    of the ordering, four positions a step), the radix sorts and the merge 75 ns.
    """
    return 1.5 + 0.3 * hashes


@dataclass(frozen=True, slots=True)
class _Option:
    hashes: int
    bands: int
    collisions: float  # expected candidates per record and band
    distinct: float  # expected distinct candidate pairs per record, all bands

    @property
    def cost(self) -> float:  # work per left record, in candidates
        return self.bands * (self.collisions + band_cost(self.hashes))


def jaccard(dice: Any) -> Any:
    """The Jaccard similarity of two sets whose Dice similarity is `dice`."""
    return dice / (2.0 - dice)


def band_hit(dice: Any, hashes: int) -> Any:
    """The chance that a pair of this Dice shares the bucket of one band."""
    return jaccard(dice) ** hashes


def _bands_needed(
    threshold: float, hashes: int, target_recall: float, found: Similarities | None
) -> int:
    # Bands enough for a pair at the threshold, or fewer when the pairs a full comparison
    # finds at or above it are found at `target_recall` on average: most of them lie above
    # the threshold, and they are what pair completeness counts.
    at_threshold = _bands_for(band_hit(threshold, hashes), target_recall)
    if found is None:
        return at_threshold
    similarity, pairs = found
    above = similarity >= threshold - 1e-9
    if not np.any(pairs[above] > 0):
        return at_threshold
    hit = band_hit(np.maximum(similarity[above], threshold), hashes)
    weights = pairs[above] / pairs[above].sum()
    low, high = 1, at_threshold  # the least band count whose average recall is enough
    while low < high:
        middle = (low + high) // 2
        if float(weights @ (1.0 - (1.0 - hit) ** middle)) >= target_recall:
            high = middle
        else:
            low = middle + 1
    return low


def _bands_for(hit: float, target_recall: float) -> int:
    if hit >= 1:
        return 1
    if hit <= 0:
        return MAX_BANDS + 1
    bands = math.log(1.0 - target_recall) / math.log1p(-hit)
    return max(1, min(math.ceil(bands), 10 * MAX_BANDS))


def _cheapest(options: list[_Option], right_records: int) -> _Option:
    # The least work among plans whose distinct candidates meet the reduction target,
    # unless that is more than `MAX_SLOWDOWN` times the least work of any plan (small
    # inputs, where the target would take too many bands): then the least work.
    allowed = [option for option in options if option.bands <= MAX_BANDS] or options[-1:]
    fastest = min(allowed, key=lambda option: (option.cost, option.hashes))
    budget = (1.0 - TARGET_REDUCTION) * right_records
    meeting = [option for option in allowed if option.distinct <= budget]
    if not meeting:
        return fastest
    best = min(meeting, key=lambda option: (option.cost, option.hashes))
    return best if best.cost <= MAX_SLOWDOWN * fastest.cost else fastest


@dataclass(frozen=True, slots=True)
class _PairSample:
    """Similarities of pairs of both sides, standing for all pairs (per left record).

    Alike pairs (Dice at or above `floor`) are rare and matter most: all pairs between
    samples of both sides are compared to find them. Unrelated pairs are the rest: random
    pairs below the floor stand for them. Each similarity is weighted by the number of
    pairs of one left record with all of right it stands for.
    """

    alike: npt.NDArray[np.float64]
    alike_weight: float
    unrelated: npt.NDArray[np.float64]
    unrelated_weight: float
    spurious: float  # keys that differ but meet after hashing, per record and band
    key_bits: int

    @classmethod
    def of(
        cls, left: npt.NDArray[np.uint8], right: npt.NDArray[np.uint8], seed: int
    ) -> "_PairSample":
        rng = np.random.default_rng(seed + 1)
        left_rows = np.sort(rng.choice(len(left), min(len(left), SAMPLE_RECORDS), replace=False))
        right_rows = np.sort(rng.choice(len(right), min(len(right), SAMPLE_RECORDS), replace=False))
        rows, cols = (
            rng.integers(0, len(left), RANDOM_PAIRS),
            rng.integers(0, len(right), RANDOM_PAIRS),
        )
        random = pair_scores(_as_words(left), _as_words(right), rows, cols)
        # about 1 in 1,000 pairs is compared as alike (within 0.3-0.95, as the threshold
        # profile's chance floor): below 0.3 a pair's share of any band is negligible
        floor = min(0.95, max(0.3, float(np.quantile(random, 0.999))))
        alike = dice_pairs(left[left_rows], right[right_rows], threshold=floor).score
        below = random[random < floor]
        key_bits = key_bits_for(len(left), len(right))
        return cls(
            alike=alike,
            alike_weight=len(right) / (len(left_rows) * len(right_rows)),
            unrelated=below,
            unrelated_weight=len(right) / len(random),  # a random pair stands for this many
            spurious=len(right) / 2.0**key_bits,
            key_bits=key_bits,
        )

    def per_band(self, hashes: int) -> float:
        """Expected candidates per left record and band."""
        return self._expected(lambda dice: band_hit(dice, hashes)) + self.spurious

    def distinct(self, hashes: int, bands: int) -> float:
        """Expected distinct candidate pairs per left record over `bands` bands."""

        def some_band(dice: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
            found: npt.NDArray[np.float64] = 1.0 - (1.0 - band_hit(dice, hashes)) ** bands
            return found

        return self._expected(some_band) + bands * self.spurious

    def _expected(
        self, chance: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]
    ) -> float:
        return float(
            self.alike_weight * chance(self.alike).sum()
            + self.unrelated_weight * chance(self.unrelated).sum()
        )


def key_bits_for(left_records: int, right_records: int) -> int:
    """Bits of the band keys for sides of these sizes."""
    # Band keys are hashed to this many bits: buckets outnumber records 256 to 1, so keys
    # that differ meet by accident for 1 in 256 records a band (at 1,000,000 records and
    # 1,600 bands, 6 comparisons per record against about 750), and the radix sort needs
    # two passes up to 1,000,000 records.
    return min(32, max(16, math.ceil(math.log2(max(left_records, right_records, 2))) + 8))


def _empty_key(key_bits: int) -> int:
    return (1 << key_bits) - 1  # reserved for filters without a one bit: never a candidate


def _orders(plan: BandPlan, band: int, bits: int) -> npt.NDArray[np.int16]:
    """The band's `hashes_per_band` orderings of the bit positions (seeded, public)."""
    rng = np.random.default_rng([plan.seed, band])
    ordered = np.broadcast_to(np.arange(bits, dtype=np.int16), (plan.hashes_per_band, bits))
    return rng.permuted(ordered, axis=1)


@njit(inline="always", cache=True)
def _bit(words, record, position):
    return (words[record, position >> 6] >> uint64(position & 63)) & uint64(1)


# The first of four bits that is set, for each 4-bit mask (15 means none).
_FIRST_OF_FOUR = np.array([15, 0, 1, 0, 2, 0, 1, 0, 3, 0, 1, 0, 2, 0, 1, 0], dtype=np.int64)


@njit(inline="always", cache=True)
def _min_rank(words, record, order):
    # Rank in `order` of the record's first one bit, or len(order) when it has none. Four
    # positions are read per step without branching: the step finds a one bit most of the
    # time (at 40% fill, 87%), so the loop exit is predictable.
    for at in range(0, order.shape[0], 4):
        mask = (
            _bit(words, record, order[at])
            | (_bit(words, record, order[at + 1]) << uint64(1))
            | (_bit(words, record, order[at + 2]) << uint64(2))
            | (_bit(words, record, order[at + 3]) << uint64(3))
        )
        if mask:
            return at + _FIRST_OF_FOUR[mask]
    return order.shape[0]


@njit(cache=True, nogil=True)
def _band_keys(words, orders, key_bits):
    # One band: each record's MinHashes (rank of its first one bit in each ordering),
    # combined and reduced to `key_bits` bits; a filter without ones gets the empty key.
    empty = (uint64(1) << uint64(key_bits)) - uint64(1)
    keys = np.empty(words.shape[0], dtype=np.uint32)
    length = orders.shape[1]
    for record in range(words.shape[0]):
        combined = uint64(0)
        rank = length
        for order in range(orders.shape[0]):
            rank = _min_rank(words, record, orders[order])
            if rank == length:  # no one bit at all
                break
            combined = mix64(combined + (uint64(rank) + uint64(1)) * GOLDEN)
        if rank == length:
            keys[record] = empty
        else:  # multiply-shift onto [0, empty)
            keys[record] = ((combined >> uint64(32)) * empty) >> uint64(32)
    return keys


@njit(cache=True)
def _grow(values, size):
    bigger = np.empty(max(16, 2 * values.shape[0]), dtype=values.dtype)
    bigger[:size] = values[:size]
    return bigger


RADIX_BITS = 14  # widest digit of the radix sort: 16,384 counters stay in the cache


@njit(cache=True, nogil=True)
def _radix_order(keys, bits):
    # Stable least-significant-digit radix sort of 32-bit keys below 2**bits: the record
    # order and the sorted keys. A band's key has only `key_bits` bits, so two linear
    # passes (digits counted in one sweep) replace a comparison sort.
    passes = (bits + RADIX_BITS - 1) // RADIX_BITS
    width = (bits + passes - 1) // passes  # 28 bits: two passes of 14
    mask = (1 << width) - 1
    counts = np.zeros((passes, (1 << width) + 1), dtype=np.int64)
    for key in keys:
        for step in range(passes):
            counts[step, ((np.int64(key) >> (step * width)) & mask) + 1] += 1
    order = np.arange(keys.shape[0]).astype(np.int32)
    ordered = keys.copy()
    spare_order = np.empty_like(order)
    spare_keys = np.empty_like(ordered)
    for step in range(passes):
        starts = counts[step]
        for digit in range(1 << width):
            starts[digit + 1] += starts[digit]
        for slot in range(ordered.shape[0]):
            digit = (np.int64(ordered[slot]) >> (step * width)) & mask
            at = starts[digit]
            spare_order[at] = order[slot]
            spare_keys[at] = ordered[slot]
            starts[digit] = at + 1
        order, spare_order = spare_order, order
        ordered, spare_keys = spare_keys, ordered
    return order, ordered


@njit(cache=True, nogil=True)
def _band_candidates(left_keys, right_keys, dedup, bits):
    # Sort both sides by the band's key and walk the two sorted lists once (merge join);
    # every pair in a shared bucket is a candidate, except in the empty filters' bucket
    # (the largest key, so it comes last).
    empty = np.uint32((1 << bits) - 1)
    left_order, left_sorted = _radix_order(left_keys, bits)
    right_order, right_sorted = _radix_order(right_keys, bits)
    lefts = np.empty(1024, dtype=np.int64)
    rights = np.empty(1024, dtype=np.int64)
    found, at_left, at_right = 0, 0, 0
    while at_left < left_sorted.shape[0] and at_right < right_sorted.shape[0]:
        key = left_sorted[at_left]
        if key == empty:
            break
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
    left_words, right_words = _as_words(left), _as_words(other)

    # The bands are independent and their work releases the GIL: one thread per core.
    # Each band's keys are made, joined and its candidates scored in one go, keeping only
    # pairs at the threshold: memory holds one band per thread, whatever the band count.
    def band_pairs(band: int) -> tuple[DicePairs, int]:
        rows, cols = _candidates(plan, band, left_words, None if right is None else right_words)
        scores = pair_scores(left_words, right_words, rows, cols)
        keep = scores >= threshold
        return DicePairs(left=rows[keep], right=cols[keep], score=scores[keep]), len(rows)

    with ThreadPoolExecutor(max_workers=_threads()) as pool:
        pairs, candidates = _gathered(pool.map(band_pairs, range(plan.bands)), len(other))
    total = len(left) * (len(left) - 1) // 2 if right is None else len(left) * len(other)
    return pairs, BlockingReport(plan=plan, candidates=candidates, all_pairs=total)


def band_candidates(
    plan: BandPlan, left: npt.NDArray[np.uint8], right: npt.NDArray[np.uint8], band: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Every pair (left row, right row) sharing a bucket of one band of the plan.

    For measuring blocking (distinct candidates, `benchmarks.blocking_check`); `lsh_pairs`
    scores them band by band.
    """
    return _candidates(plan, band, _as_words(left), _as_words(right))


def _candidates(
    plan: BandPlan,
    band: int,
    left_words: npt.NDArray[np.uint64],
    right_words: npt.NDArray[np.uint64] | None,  # None: pairs within left
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    orders = _orders(plan, band, left_words.shape[1] * 64)
    left_keys = _band_keys(left_words, orders, plan.key_bits)
    dedup = right_words is None
    right_keys = (
        left_keys if right_words is None else _band_keys(right_words, orders, plan.key_bits)
    )
    rows, cols = _band_candidates(left_keys, right_keys, dedup, plan.key_bits)
    return rows, cols


def _gathered(found: Iterable[tuple[DicePairs, int]], width: int) -> tuple[DicePairs, int]:
    # A pair sharing several buckets is compared once per bucket, and a true match shares
    # many (a third of the bands at 1,000,000 records): kept whole, the copies would take
    # gigabytes. They are removed whenever the bands' pairs outgrow the distinct ones.
    distinct, pending, waiting, candidates = _concatenate([]), [], 0, 0
    for pairs, count in found:
        pending.append(pairs)
        waiting += len(pairs)
        candidates += count
        if waiting > max(COMPACT_PAIRS, len(distinct)):
            distinct, pending, waiting = _unique(_concatenate([distinct, *pending]), width), [], 0
    return _unique(_concatenate([distinct, *pending]), width), candidates


COMPACT_PAIRS = 4_000_000


def share_a_band(
    plan: BandPlan, left: npt.NDArray[np.uint8], right: npt.NDArray[np.uint8]
) -> npt.NDArray[np.bool_]:
    """Whether left[i] and right[i] share a bucket in some band of the plan.

    LSH keeps a pair exactly when it does and its Dice reaches the threshold: this gives
    a run's pair completeness on known pairs without running it again.
    """
    left_words, right_words = _as_words(left), _as_words(right)
    shared = np.zeros(len(left), dtype=bool)
    empty = _empty_key(plan.key_bits)
    for band in range(plan.bands):
        orders = _orders(plan, band, left.shape[1] * 8)
        keys = _band_keys(left_words, orders, plan.key_bits)
        shared |= (keys == _band_keys(right_words, orders, plan.key_bits)) & (keys != empty)
    return shared


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
