"""A run's batches pooled: every record of every agency in one array, in agency order.

Also turns grouping's per-record group numbers back into hits (agencies and references).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import numpy.typing as npt

from linkage.batch import Batch
from linkage.errors import LinkageError
from linkage.hits import Group, Link, Member, agreed_on
from linkage.match.dice import DicePairs
from linkage.match.fields import layout_of
from linkage.match.layout import ComparisonLayout


@dataclass(frozen=True, slots=True, repr=False)
class Pool:
    """The records of all batches, agency by agency (filters, comparisons, references)."""

    agencies: tuple[str, ...]
    agency: npt.NDArray[np.int64]  # agency index of each record
    references: tuple[str, ...]
    filters: npt.NDArray[np.uint8]
    starts: npt.NDArray[np.int64]  # first record of each agency
    layout: ComparisonLayout | None = None  # when every batch carries comparisons
    comparisons: npt.NDArray[np.uint64] | None = None  # records x layout words


def record_counts(pool: Pool) -> dict[str, int]:
    """Records per agency."""
    sizes = np.diff(np.append(pool.starts, len(pool.agency)))
    return dict(zip(pool.agencies, sizes.tolist(), strict=True))


def all_pairs(pool: Pool) -> int:
    """Cross-agency record pairs: what comparing everything would cost."""
    sizes = np.diff(np.append(pool.starts, len(pool.agency))).tolist()
    return sum(int(a) * int(b) for a, b in combinations(sizes, 2))


def check_compatible(batches: Sequence[Batch]) -> None:
    """Refuse batches that cannot be compared, naming the first one that differs."""
    if not batches:
        raise LinkageError("no batches to match")
    first = batches[0]
    for batch in batches[1:]:
        for name in ("schema_fingerprint", "key_check", "filter_bits"):
            if getattr(batch, name) != getattr(first, name):
                raise LinkageError(
                    f"batch of agency {batch.agency} has another {name.replace('_', ' ')} "
                    f"than the batch of agency {first.agency}: they cannot be compared"
                )


def pool_batches(batches: Sequence[Batch]) -> Pool:
    """One pool of the batches, agencies sorted by name; refuses incompatible batches."""
    check_compatible(batches)
    agencies = tuple(sorted({batch.agency for batch in batches}))
    ordered = sorted(batches, key=lambda batch: agencies.index(batch.agency))
    references = tuple(ref for batch in ordered for ref in batch.references)
    agency = np.concatenate([np.full(len(b), agencies.index(b.agency), np.int64) for b in ordered])
    if len(set(zip(agency.tolist(), references, strict=True))) != len(references):
        raise LinkageError("an agency's batches repeat a reference; upload each record once")
    starts = np.searchsorted(agency, np.arange(len(agencies)))
    layout = layout_of(ordered)
    return Pool(
        agencies=agencies,
        agency=agency,
        references=references,
        filters=np.concatenate([b.filters for b in ordered]),
        starts=starts,
        layout=layout,
        comparisons=_comparison_words(ordered) if layout is not None else None,
    )


def family_pool(pool: Pool, family: int) -> tuple[Pool, npt.NDArray[np.int64]]:
    """One salt family's encodings of the records that have them, and their rows in `pool`.

    Agencies without a record in the family are left out of it (nothing to compare).
    """
    layout, words = pool.layout, pool.comparisons
    if layout is None or words is None:
        raise LinkageError("salt families need comparison encodings in every batch")
    width = pool.filters.shape[1] // layout.families
    filters = pool.filters[:, family * width : (family + 1) * width]
    rows = np.flatnonzero(filters.any(axis=1))
    present = np.unique(pool.agency[rows])
    agency = np.searchsorted(present, pool.agency[rows])
    one = layout.one_family()
    sub = Pool(
        agencies=tuple(pool.agencies[a] for a in present.tolist()),
        agency=agency,
        references=tuple(pool.references[row] for row in rows.tolist()),
        filters=np.ascontiguousarray(filters[rows]),
        starts=np.searchsorted(agency, np.arange(len(present))),
        layout=one,
        comparisons=np.ascontiguousarray(
            words[rows, family * one.words : (family + 1) * one.words]
        ),
    )
    return sub, rows


def _comparison_words(batches: Sequence[Batch]) -> npt.NDArray[np.uint64]:
    values = np.concatenate([b.comparisons.values for b in batches if b.comparisons is not None])
    return np.ascontiguousarray(values).view(np.uint64)


def agency_sides(pool: Pool) -> list[tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]]:
    """The filters of every pair of agencies, in agency order."""
    bounds = np.append(pool.starts, len(pool.agency))
    return [
        (pool.filters[bounds[a] : bounds[a + 1]], pool.filters[bounds[b] : bounds[b + 1]])
        for a, b in combinations(range(len(pool.agencies)), 2)
    ]


def hit_groups(
    pool: Pool,
    group: npt.NDArray[np.int64],
    pairs: DicePairs,
    min_agencies: int,
    agreed: Sequence[tuple[str, ...]] | None = None,
) -> list[Group]:
    inside = (group[pairs.left] >= 0) & (group[pairs.left] == group[pairs.right])
    links_of: dict[int, list[int]] = {}
    for index in np.flatnonzero(inside).tolist():
        links_of.setdefault(int(group[pairs.left[index]]), []).append(index)
    members_of: dict[int, list[int]] = {}
    for record in np.flatnonzero(group >= 0).tolist():
        members_of.setdefault(int(group[record]), []).append(record)
    out = []
    for number in sorted(members_of):
        members = members_of[number]
        if len({int(pool.agency[m]) for m in members}) < min_agencies:
            continue
        position = {record: slot for slot, record in enumerate(members)}
        links = tuple(
            Link(
                position[int(pairs.left[i])],
                position[int(pairs.right[i])],
                float(pairs.score[i]),
                agreed[i] if agreed is not None else (),
            )
            for i in links_of.get(number, [])
        )
        out.append(
            Group(
                members=tuple(
                    Member(pool.agencies[pool.agency[m]], pool.references[m]) for m in members
                ),
                links=links,
                agreed_fields=agreed_on(links),
            )
        )
    return out
