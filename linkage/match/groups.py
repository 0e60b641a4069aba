"""Candidates of a salt family with group filters: the cross-agency pairs of equal filters.

What: with `hardening.group_filters` (`linkage.salting.group_filter`) every record of a
salt group has the same record filter and records of other groups unrelated ones, so the
candidates of a family are exactly the pairs of records, of different agencies, whose
filters are equal. They are found by sorting a 64-bit digest of each filter: no bands, no
Dice, one pass over the records (`pairs_of_equal_filters`).

Why: MinHash banding exists to find pairs *near* a threshold; for equal filters it only
repeats every pair in every band. Sorting finds each pair once, at the cost of a sort.

A group larger than `MAX_GROUP` records (a placeholder value shared by thousands, which
`fieldlink batch risk` shows the agency before it uploads) is left out of the family
rather than compared all with all; the run's report counts such records.

A run's digests can be computed for every family in one compiled pass over a batch's
filters (`family_digests`), and pairs enumerated by a compiled kernel from the digests
(`pairs_of_equal_digests`), in the order `pairs_of_equal_filters` gives: records sorted
stably by digest, so a family split into ranges of digests yields the same pairs in the
same order, range after range.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit, uint64

from linkage.compiled.mix import mix64
from linkage.splitmix import GOLDEN, mix

MAX_GROUP = 5000  # records of one salt group in one run, beyond which it is left out


@dataclass(frozen=True, slots=True, repr=False)
class GroupPairs:
    """Candidate pairs (left < right, rows of the pool) and what was left out."""

    left: npt.NDArray[np.int64]
    right: npt.NDArray[np.int64]
    left_out: int  # records in groups over MAX_GROUP


def filter_digests(filters: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint64]:
    """A 64-bit digest of every row (0 for an all-zero row: a record not in the family)."""
    width = filters.shape[1]
    padded = np.zeros((len(filters), -(-width // 8) * 8), dtype=np.uint8)
    padded[:, :width] = filters
    words = padded.view(np.uint64)
    digest = np.full(len(filters), GOLDEN, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for column in range(words.shape[1]):
            digest = mix(digest ^ words[:, column]) + GOLDEN
    digest[~filters.any(axis=1)] = 0
    return digest


def pairs_of_equal_filters(
    filters: npt.NDArray[np.uint8], agency: npt.NDArray[np.int64]
) -> GroupPairs:
    """Every pair of records of different agencies whose filters are equal.

    Args:
        filters: One family's record filters, a row per record (pool order: by agency).
        agency: Each record's agency index.
    """
    digest = filter_digests(filters)
    order = np.argsort(digest, kind="stable")
    ordered = digest[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    sizes = np.diff(np.r_[starts, len(ordered)])
    wanted = (sizes >= 2) & (sizes <= MAX_GROUP) & (ordered[starts] != 0)
    left_out = int(sizes[(sizes > MAX_GROUP) & (ordered[starts] != 0)].sum())
    group_of = np.repeat(np.arange(len(starts)), sizes)
    position = np.arange(len(ordered))
    keep = wanted[group_of]
    # Each kept position pairs with every later position of its group.
    later = np.where(keep, starts[group_of] + sizes[group_of] - position - 1, 0)
    total = int(later.sum())
    first = np.repeat(position, later)
    offset = np.arange(total) - np.repeat(np.cumsum(later) - later, later)
    second = first + offset + 1
    a, b = order[first], order[second]
    cross = agency[a] != agency[b]
    a, b = a[cross], b[cross]
    return GroupPairs(np.minimum(a, b), np.maximum(a, b), left_out)


def family_digests(
    filters: npt.NDArray[np.uint8], families: int
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.bool_]]:
    """`filter_digests` of every family's part of every row, and which parts are not zero.

    Args:
        filters: The pool's filters, each row the families' filters side by side.
        families: How many families share a row (equal widths).

    Returns:
        Digests and presence, both records x families.
    """
    digests = np.zeros((len(filters), families), dtype=np.uint64)
    present = np.zeros((len(filters), families), dtype=np.bool_)
    width = filters.shape[1] // families
    rows = np.ascontiguousarray(filters)
    if not len(filters):
        return digests, present
    if width % 8 == 0:  # whole words: read them as such
        _word_digests(rows.view(np.uint64), width // 8, digests, present)
    else:
        _digests(rows, width, digests, present)
    return digests, present


@njit(cache=True)
def _word_digests(
    words: npt.NDArray[np.uint64],
    width: int,
    digests: npt.NDArray[np.uint64],
    present: npt.NDArray[np.bool_],
) -> None:
    for row in range(words.shape[0]):
        for family in range(digests.shape[1]):
            digest, seen = GOLDEN, uint64(0)
            for column in range(family * width, (family + 1) * width):
                seen |= words[row, column]
                digest = mix64(digest ^ words[row, column]) + GOLDEN
            digests[row, family] = digest if seen else uint64(0)
            present[row, family] = seen != 0


@njit(cache=True)
def _digests(
    filters: npt.NDArray[np.uint8],
    width: int,
    digests: npt.NDArray[np.uint64],
    present: npt.NDArray[np.bool_],
) -> None:
    # Bytes of a part read as little-endian 64-bit words, the last one zero-padded: what
    # filter_digests' view of its padded rows gives on the machines numpy supports here.
    for row in range(filters.shape[0]):
        for family in range(digests.shape[1]):
            base = family * width
            digest, seen = GOLDEN, uint64(0)
            for start in range(0, width, 8):
                word = uint64(0)
                for byte in range(min(8, width - start)):
                    word |= uint64(filters[row, base + start + byte]) << uint64(8 * byte)
                seen |= word
                digest = mix64(digest ^ word) + GOLDEN
            digests[row, family] = digest if seen else uint64(0)
            present[row, family] = seen != 0


def pairs_of_equal_digests(
    digest: npt.NDArray[np.uint64], agency: npt.NDArray[np.int64]
) -> GroupPairs:
    """`pairs_of_equal_filters` from the rows' digests (0: not in the family), compiled."""
    order = np.argsort(digest, kind="stable")
    ordered = digest[order]
    counts = np.zeros(2, dtype=np.int64)  # pairs, records left out
    _group_pairs(ordered, order, agency, MAX_GROUP, counts, None, None)
    left = np.zeros(counts[0], dtype=np.int64)
    right = np.zeros(counts[0], dtype=np.int64)
    _group_pairs(ordered, order, agency, MAX_GROUP, counts, left, right)
    return GroupPairs(left, right, int(counts[1]))


@njit(cache=True)
def _group_pairs(
    ordered: npt.NDArray[np.uint64],
    order: npt.NDArray[np.int64],
    agency: npt.NDArray[np.int64],
    max_group: int,
    counts: npt.NDArray[np.int64],
    left: npt.NDArray[np.int64] | None,
    right: npt.NDArray[np.int64] | None,
) -> None:
    # Counts the pairs (left None), else writes them: for each position of a group, every
    # later position of it, cross-agency only. Rows within a group are ascending (stable
    # sort), so each pair is already (smaller, larger).
    found, left_out, start, size = 0, 0, 0, len(ordered)
    while start < size:
        stop = start + 1
        while stop < size and ordered[stop] == ordered[start]:
            stop += 1
        if ordered[start] != 0:
            if stop - start > max_group:
                left_out += stop - start
            else:
                for first in range(start, stop):
                    a = order[first]
                    for second in range(first + 1, stop):
                        b = order[second]
                        if agency[a] != agency[b]:
                            if left is not None and right is not None:
                                left[found], right[found] = a, b
                            found += 1
        start = stop
    counts[0], counts[1] = found, left_out
