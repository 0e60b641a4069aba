"""All-pairs Dice similarity on packed Bloom filters, compiled; returns only pairs >= t.

Dice(a, b) = 2 |a AND b| / (|a| + |b|). Filters are compared as 64-bit words with a
popcount that LLVM turns into the CPU's POPCNT instruction. Pairs whose bit counts alone
rule out the threshold are skipped before any word is compared.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit, prange, uint64

_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)


@dataclass(frozen=True, slots=True)
class DicePairs:
    """Pairs at or above the threshold, as parallel arrays (no Python object per pair)."""

    left: npt.NDArray[np.int64]
    right: npt.NDArray[np.int64]
    score: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.left)


@njit(inline="always", cache=True)
def _popcount(word):
    word = word - ((word >> uint64(1)) & _M1)
    word = (word & _M2) + ((word >> uint64(2)) & _M2)
    word = (word + (word >> uint64(4))) & _M4
    return (word * _H01) >> uint64(56)


@njit(parallel=True, cache=True)
def _counts(words):
    out = np.zeros(words.shape[0], dtype=np.int64)
    for row in prange(words.shape[0]):
        total = 0
        for index in range(words.shape[1]):
            total += _popcount(words[row, index])
        out[row] = total
    return out


@njit(cache=True)
def _row_matches(
    row, left, right, left_counts, right_counts, threshold, first, out_cols, out_scores
):
    found = 0
    count = left_counts[row]
    for col in range(first, right.shape[0]):
        total = count + right_counts[col]
        if total == 0 or 2.0 * min(count, right_counts[col]) < threshold * total:
            continue
        common = 0
        for index in range(left.shape[1]):
            common += _popcount(left[row, index] & right[col, index])
        score = 2.0 * common / total
        if score >= threshold:
            if out_cols.shape[0] > 0:
                out_cols[found] = col
                out_scores[found] = score
            found += 1
    return found


@njit(parallel=True, cache=True)
def _all_pairs(left, right, left_counts, right_counts, threshold, upper):
    rows = left.shape[0]
    sizes = np.zeros(rows, dtype=np.int64)
    nothing_i, nothing_f = np.zeros(0, np.int64), np.zeros(0, np.float64)
    for row in prange(rows):  # pass 1: count, so the output is allocated exactly once
        sizes[row] = _row_matches(
            row,
            left,
            right,
            left_counts,
            right_counts,
            threshold,
            row + 1 if upper else 0,
            nothing_i,
            nothing_f,
        )
    offsets = np.zeros(rows + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(sizes)
    out_rows = np.empty(offsets[-1], dtype=np.int64)
    out_cols = np.empty(offsets[-1], dtype=np.int64)
    out_scores = np.empty(offsets[-1], dtype=np.float64)
    for row in prange(rows):  # pass 2: fill
        start, stop = offsets[row], offsets[row + 1]
        out_rows[start:stop] = row
        _row_matches(
            row,
            left,
            right,
            left_counts,
            right_counts,
            threshold,
            row + 1 if upper else 0,
            out_cols[start:stop],
            out_scores[start:stop],
        )
    return out_rows, out_cols, out_scores


def _words(filters: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint64]:
    if filters.ndim != 2 or filters.shape[1] % 8:
        raise ValueError("filters must be a 2-D uint8 array whose width is a multiple of 8")
    return np.ascontiguousarray(filters).view(np.uint64)


def popcounts(filters: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    """Number of one bits of each filter."""
    return _counts(_words(filters))  # type: ignore[no-any-return]


def dice_pairs(
    left: npt.NDArray[np.uint8],
    right: npt.NDArray[np.uint8] | None = None,
    *,
    threshold: float,
) -> DicePairs:
    """Every pair with Dice similarity >= threshold, comparing all pairs.

    Args:
        left: Packed filters, one per row.
        right: Packed filters of the other side; None compares `left` with itself and
            returns each pair once (left index < right index), for deduplication.
        threshold: Minimum Dice similarity, in (0, 1].

    Returns:
        Row indices into left and right, and the scores, ordered by left index.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError("threshold must be in (0, 1]")
    left_words = _words(left)
    right_words = left_words if right is None else _words(right)
    if left_words.shape[1] != right_words.shape[1]:
        raise ValueError("filters of both sides must have the same length")
    rows, cols, scores = _all_pairs(
        left_words, right_words, _counts(left_words), _counts(right_words), threshold, right is None
    )
    return DicePairs(left=rows, right=cols, score=scores)
