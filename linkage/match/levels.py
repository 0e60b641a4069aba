"""Comparison levels of record pairs, from their per-field encodings (compiled).

Each comparison of a pair gets a small integer level; 0 always means "missing on either
side", which Fellegi-Sunter scoring gives weight 0 (absent evidence, not a disagreement):

* bloom (Dice of the part's filters): 1 disagree, 2 partial (>= 0.5), 3 close (>= 0.7),
  4 agree (>= 0.9);
* exact (equal tags): 1 disagree, 2 agree;
* date: 1 disagree, 2 partial (two of year, month, day agree), 3 swapped (equal once day
  and month of one side are swapped), 4 agree.

Names written the other way round: comparisons that name each other `crosswise`
(first_given <-> first_surname, other_given <-> other_surnames) are also scored crosswise,
and a pair keeps the orientation whose Dice values sum higher. Random pairs for the
chance rates (u) get the same choice, so the better-of-two is accounted for.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit, prange, uint64

from linkage.match.dice import _popcount
from linkage.match.layout import METHOD_CODES, ComparisonLayout

LEVEL_NAMES = {
    "bloom": ("missing", "disagree", "partial", "close", "agree"),
    "bands": ("missing", "disagree", "partial", "close", "agree"),
    "exact": ("missing", "disagree", "agree"),
    "date": ("missing", "disagree", "partial", "swapped", "agree"),
}
AGREED_LEVELS = {
    "bloom": ("agree",),
    "bands": ("agree",),
    "exact": ("agree",),
    "date": ("swapped", "agree"),
}
MAX_LEVELS = 5
_DICE_LEVELS = (0.5, 0.7, 0.9)  # partial, close, agree: a typo in a short name is ~0.7
# Bands agree with about the q-grams' Jaccard squared: a typo in a short name keeps ~0.3.
_BAND_LEVELS = (0.25, 0.4, 0.8)


@dataclass(frozen=True, slots=True)
class LevelPlan:
    """The layout as arrays for the kernel: one row per comparison."""

    layout: ComparisonLayout
    plan: npt.NDArray[np.int64]  # method code, offset, words, crosswise index (-1: none)

    @classmethod
    def of(cls, layout: ComparisonLayout) -> "LevelPlan":
        """The kernel plan of a layout."""
        names = layout.names
        rows = [
            [
                METHOD_CODES[entry.method],
                entry.offset,
                entry.words,
                names.index(entry.crosswise) if entry.crosswise else -1,
            ]
            for entry in layout.entries
        ]
        return cls(layout=layout, plan=np.array(rows, dtype=np.int64).reshape(-1, 4))

    @property
    def level_counts(self) -> npt.NDArray[np.int64]:
        """Number of levels of each comparison, missing included."""
        return np.array([len(LEVEL_NAMES[e.method]) for e in self.layout.entries], np.int64)


def pair_levels(
    plan: LevelPlan,
    values: npt.NDArray[np.uint64],
    left: npt.NDArray[np.int64],
    right: npt.NDArray[np.int64],
    *,
    threads: bool = False,
) -> npt.NDArray[np.int8]:
    """Levels of each pair (rows of `values`) for every comparison: pairs x comparisons.

    With `threads`, pairs are shared among numba's threads (the same levels).
    """
    out = np.zeros((len(left), len(plan.layout.entries)), dtype=np.int8)
    kernel = _levels_threaded if threads and len(left) >= _THREADED_PAIRS else _levels
    kernel(values, left, right, plan.plan, np.array(_DICE_LEVELS), np.array(_BAND_LEVELS), out)
    return out


_THREADED_PAIRS = 10_000  # fewer pairs than this take longer to hand out than to score


@njit(cache=True)
def _present(values, record, index):
    return (values[record, 0] >> uint64(index)) & uint64(1)


@njit(cache=True)
def _dice(values, a, b, offset_a, offset_b, words):
    common, total = 0, 0
    for word in range(words):
        x, y = values[a, offset_a + word], values[b, offset_b + word]
        common += _popcount(x & y)
        total += _popcount(x) + _popcount(y)
    return 2.0 * common / total if total else 0.0


@njit(cache=True)
def _bloom_dice(values, a, b, plan, index, partner):
    """Dice of comparison `index` of a with comparison `partner` of b; -1 when missing."""
    if not (_present(values, a, index) and _present(values, b, partner)):
        return -1.0
    return _dice(values, a, b, plan[index, 1], plan[partner, 1], plan[index, 2])


@njit(cache=True)
def _crosswise_wins(values, a, b, plan):
    straight, crossed = 0.0, 0.0
    for index in range(plan.shape[0]):
        partner = plan[index, 3]
        if partner >= 0:
            straight += max(_bloom_dice(values, a, b, plan, index, index), 0.0)
            crossed += max(_bloom_dice(values, a, b, plan, index, partner), 0.0)
    return crossed > straight


@njit(cache=True)
def _dice_level(dice, cuts):
    if dice < 0.0:
        return 0
    level = 1
    for cut in cuts:
        if dice >= cut:
            level += 1
    return level


@njit(cache=True)
def _date_level(values, a, b, offset):
    if values[a, offset] == values[b, offset]:
        return 4
    if values[a, offset] == values[b, offset + 1] or values[a, offset + 1] == values[b, offset]:
        return 3
    for shift in (0, 8, 16):  # 8-bit tags of year-month, year-day, month-day
        low = uint64(0xFF) << uint64(shift)
        if (values[a, offset + 2] & low) == (values[b, offset + 2] & low):
            return 2
    return 1


@njit(cache=True)
def _level(values, a, b, plan, index, crossed, cuts, band_cuts):
    method, offset, partner = plan[index, 0], plan[index, 1], plan[index, 3]
    if method == 0 or method == 3:  # bloom, bands: Dice of the slots
        other = partner if crossed and partner >= 0 else index
        dice = _bloom_dice(values, a, b, plan, index, other)
        return _dice_level(dice, cuts if method == 0 else band_cuts)
    if not (_present(values, a, index) and _present(values, b, index)):
        return 0
    if method == 1:
        return 2 if values[a, offset] == values[b, offset] else 1
    return _date_level(values, a, b, offset)


@njit(cache=True)
def _levels(values, left, right, plan, cuts, band_cuts, out):
    for pair in range(left.shape[0]):
        a, b = left[pair], right[pair]
        crossed = _crosswise_wins(values, a, b, plan)
        for index in range(plan.shape[0]):
            out[pair, index] = _level(values, a, b, plan, index, crossed, cuts, band_cuts)


# A function of its own, not a flag: numba caches by function and signature (`dice`).
@njit(parallel=True, cache=True)
def _levels_threaded(values, left, right, plan, cuts, band_cuts, out):
    for pair in prange(left.shape[0]):
        a, b = left[pair], right[pair]
        crossed = _crosswise_wins(values, a, b, plan)
        for index in range(plan.shape[0]):
            out[pair, index] = _level(values, a, b, plan, index, crossed, cuts, band_cuts)
