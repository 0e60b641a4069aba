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
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

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
