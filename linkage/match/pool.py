"""A run's batches pooled: every record of every agency in one array, in agency order.

Also turns grouping's per-record group numbers back into hits (agencies and references).

The pool keeps each batch's filters and comparison words as the batch holds them, and
joins them into one array only when some step asks for `filters` or `comparisons`: salt
families with group filters never do (`group_tasks` reads the parts), which spares a copy
of every encoding (about 3.8 GB at 1,000,000 records a side with the hardened schema).
With group filters the pool also holds each record's family digests, all that such
families compare; batches read as digests (`DigestedBatch`) bring nothing else, and their
pool has no filters at all.
"""

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import numpy.typing as npt

from linkage.batch import Batch, DigestedBatch, MatchBatch, TakenWords
from linkage.errors import LinkageError
from linkage.hits import Group, Link, Member, agreed_on
from linkage.match.dice import DicePairs
from linkage.match.fields import layout_of
from linkage.match.groups import family_digests
from linkage.match.layout import ComparisonLayout


class RunWords:
    """A run's comparison words family by family (one array per batch), let go when done.

    Salt families with group filters read one family's words at a time (`group_tasks`).
    A family's words are taken from each batch (`linkage.batch.TakenWords`) when first
    asked for and kept until `release`: words a digested batch handed over are then freed,
    and spilled ones are read back from disk only then, so a run holds the words of the
    families it is comparing, not all. Other batches' words are views of the batch and
    stay with it.
    """

    __slots__ = ("_batches", "_held", "_released")

    def __init__(self, batches: Sequence[TakenWords]) -> None:
        self._batches = tuple(batches)
        self._held: dict[int, tuple[npt.NDArray[np.uint64], ...]] = {}
        self._released: set[int] = set()

    def family(self, family: int) -> tuple[npt.NDArray[np.uint64], ...]:
        """One family's words, an array per batch (records x words).

        Raises:
            LinkageError: The family was released.
        """
        if family in self._released:
            raise LinkageError(f"salt family {family + 1}'s comparison words were let go already")
        if family not in self._held:
            self._held[family] = tuple(batch.family(family) for batch in self._batches)
        return self._held[family]

    def release(self, family: int) -> None:
        """Let go of one family's words: nothing of this run reads them again."""
        self._released.add(family)
        if self._held.pop(family, None) is None:
            for batch in self._batches:
                batch.drop(family)

    def __repr__(self) -> str:
        return f"RunWords(held={sorted(self._held)}, released={sorted(self._released)})"


@dataclass(frozen=True, slots=True, repr=False)
class Pool:
    """The records of all batches, agency by agency (filters, comparisons, references)."""

    agencies: tuple[str, ...]
    agency: npt.NDArray[np.int64]  # agency index of each record
    references: tuple[str, ...]
    filter_parts: tuple[npt.NDArray[np.uint8], ...]  # consecutive records' filters, in order
    starts: npt.NDArray[np.int64]  # first record of each agency
    layout: ComparisonLayout | None = None  # when every batch carries comparisons
    # records x layout words, in parts as `filter_parts` (when `layout` is not None)
    comparison_parts: tuple[npt.NDArray[np.uint64], ...] = ()
    # records x families, in parts as `filter_parts` (when the layout has group filters)
    digest_parts: tuple[npt.NDArray[np.uint64], ...] = ()
    # each family's words, in parts as `filter_parts` (when the layout has group filters)
    family_words: RunWords | None = None
    _joined: dict[str, Any] = field(default_factory=dict, compare=False)  # parts, joined

    @property
    def filters(self) -> npt.NDArray[np.uint8]:
        """Every record's filter, one array (joined from the parts once, then kept)."""
        if not self.filter_parts and len(self.agency):
            raise LinkageError("the batches were read as family digests: no filters to compare")
        return self._join("filters", self.filter_parts)

    @property
    def comparisons(self) -> npt.NDArray[np.uint64] | None:
        """Every record's comparison words, one array; None without comparisons."""
        if self.layout is None:
            return None
        if not self.comparison_parts and len(self.agency):
            raise LinkageError("the batches were read as family digests: words by family only")
        return self._join("comparisons", self.comparison_parts)

    def _join(self, name: str, parts: tuple[npt.NDArray[Any], ...]) -> npt.NDArray[Any]:
        if name not in self._joined:
            self._joined[name] = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return self._joined[name]  # type: ignore[no-any-return]

    def part_bounds(self) -> npt.NDArray[np.int64]:
        """First record of each part, and the number of records last."""
        parts = self.filter_parts or self.digest_parts
        return np.cumsum([0, *(len(part) for part in parts)])


def record_counts(pool: Pool) -> dict[str, int]:
    """Records per agency."""
    sizes = np.diff(np.append(pool.starts, len(pool.agency)))
    return dict(zip(pool.agencies, sizes.tolist(), strict=True))


def all_pairs(pool: Pool) -> int:
    """Cross-agency record pairs: what comparing everything would cost."""
    sizes = np.diff(np.append(pool.starts, len(pool.agency))).tolist()
    return sum(int(a) * int(b) for a, b in combinations(sizes, 2))


def check_compatible(batches: Sequence[MatchBatch]) -> None:
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


def pool_batches(batches: Sequence[MatchBatch]) -> Pool:
    """One pool of the batches, agencies sorted by name; refuses incompatible batches.

    Batches read as digests (`DigestedBatch`) pool only with a layout of group filters,
    which is the only kind they are made of; a pool holding one has no filters.
    """
    check_compatible(batches)
    agencies = tuple(sorted({batch.agency for batch in batches}))
    ordered = sorted(batches, key=lambda batch: agencies.index(batch.agency))
    references = tuple(ref for batch in ordered for ref in batch.references)
    agency = np.concatenate([np.full(len(b), agencies.index(b.agency), np.int64) for b in ordered])
    _refuse_repeats(ordered)
    starts = np.searchsorted(agency, np.arange(len(agencies)))
    layout = layout_of(ordered)
    whole = all(isinstance(b, Batch) for b in ordered)
    grouped = layout is not None and layout.group_filters
    return Pool(
        agencies=agencies,
        agency=agency,
        references=references,
        filter_parts=tuple(b.filters for b in ordered if isinstance(b, Batch)) if whole else (),
        starts=starts,
        layout=layout,
        comparison_parts=_comparison_words(ordered) if layout is not None and whole else (),
        digest_parts=_digests(ordered, layout.families) if layout is not None and grouped else (),
        # Last: taking a digested batch's words is what no other check may follow.
        family_words=_run_words(ordered, layout) if layout is not None and grouped else None,
    )


def _run_words(batches: Sequence[MatchBatch], layout: ComparisonLayout) -> RunWords:
    """Each batch's words family by family: taken from digested batches, viewed in others."""
    taken: list[TakenWords] = []
    width = layout.words
    for batch in batches:
        if isinstance(batch, DigestedBatch):
            taken.append(batch.comparisons.take())
        elif batch.comparisons is not None:
            words = np.ascontiguousarray(batch.comparisons.values).view(np.uint64)
            taken.append(
                TakenWords([words[:, f * width : (f + 1) * width] for f in range(layout.families)])
            )
    return RunWords(taken)


def _digests(batches: Sequence[MatchBatch], families: int) -> tuple[npt.NDArray[np.uint64], ...]:
    return tuple(batch_digests(b, families) for b in batches)


def batch_digests(batch: MatchBatch, families: int) -> npt.NDArray[np.uint64]:
    """A batch's family digests (records x families): as read, or from its filters."""
    if isinstance(batch, DigestedBatch):
        return batch.digests
    return family_digests(batch.filters, families)[0]


def _refuse_repeats(batches: Sequence[MatchBatch]) -> None:
    """Refuse an agency whose batches share a reference (each batch's own are distinct)."""
    by_agency: dict[str, list[MatchBatch]] = {}
    for batch in batches:
        by_agency.setdefault(batch.agency, []).append(batch)
    for mine in by_agency.values():
        if len(mine) > 1 and len(set().union(*(b.references for b in mine))) != sum(map(len, mine)):
            raise LinkageError("an agency's batches repeat a reference; upload each record once")


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
        filter_parts=(np.ascontiguousarray(filters[rows]),),
        starts=np.searchsorted(agency, np.arange(len(present))),
        layout=one,
        comparison_parts=(
            np.ascontiguousarray(words[rows, family * one.words : (family + 1) * one.words]),
        ),
    )
    return sub, rows


def _comparison_words(batches: Sequence[MatchBatch]) -> tuple[npt.NDArray[np.uint64], ...]:
    return tuple(
        np.ascontiguousarray(b.comparisons.values).view(np.uint64)
        for b in batches
        if isinstance(b, Batch) and b.comparisons is not None
    )


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
    levels: Sequence[str] | None = None,
) -> list[Group]:
    """Groups of `min_agencies` agencies or more, in group order, as hits.

    A group's members are its records in pool order; its links are the pairs inside it,
    in pair order, by member position. Everything but the objects themselves is worked
    out on arrays: a run of 1,000,000 records has about as many groups.
    """
    records = np.flatnonzero(group >= 0)
    numbers = group[records]
    order = np.argsort(numbers, kind="stable")  # by group, then record
    records, numbers = records[order], numbers[order]
    starts = np.flatnonzero(np.r_[True, numbers[1:] != numbers[:-1]]) if len(numbers) else order
    ends = np.append(starts[1:], len(records))
    slot = np.zeros(len(group), dtype=np.int64)  # each record's position in its group
    slot[records] = np.arange(len(records)) - np.repeat(starts, ends - starts)
    wanted = _agency_counts(pool.agency[records], numbers, starts) >= min_agencies
    inside = np.flatnonzero((group[pairs.left] >= 0) & (group[pairs.left] == group[pairs.right]))
    by_group = inside[np.argsort(group[pairs.left[inside]], kind="stable")]
    link_group = group[pairs.left[by_group]]
    link_starts = np.searchsorted(link_group, numbers[starts[wanted]])
    link_ends = np.searchsorted(link_group, numbers[starts[wanted]], side="right")
    links_at = (by_group, link_starts, link_ends)
    with _no_collection():  # millions of small objects, none of them garbage
        return _groups(
            pool, records, slot, starts[wanted], ends[wanted], pairs, (agreed, levels), links_at
        )


def _groups(
    pool: Pool,
    records: npt.NDArray[np.int64],
    slot: npt.NDArray[np.int64],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    pairs: DicePairs,
    evidence: tuple[Sequence[tuple[str, ...]] | None, Sequence[str] | None],
    links_at: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]],
) -> list[Group]:
    """The groups' objects: members [start, end) of `records`, links from `links_at`."""
    by_group, link_starts, link_ends = links_at
    names = np.array(pool.agencies, dtype=object)[pool.agency[records]].tolist()
    references = pool.references
    members = list(map(Member, names, [references[r] for r in records.tolist()]))
    agreed, levels = evidence
    pair_agreed = (
        [agreed[index] for index in by_group.tolist()]
        if agreed is not None
        else [()] * len(by_group)
    )
    pair_levels = (
        [levels[index] for index in by_group.tolist()]
        if levels is not None
        else [""] * len(by_group)
    )
    links = list(
        map(
            Link,
            slot[pairs.left[by_group]].tolist(),
            slot[pairs.right[by_group]].tolist(),
            pairs.score[by_group].tolist(),
            pair_agreed,
            pair_levels,
        )
    )
    out = []
    agreed_one: dict[tuple[str, ...], tuple[str, ...]] = {}  # a lone link's names, deduplicated
    for start, end, link_start, link_end in zip(
        starts.tolist(), ends.tolist(), link_starts.tolist(), link_ends.tolist(), strict=True
    ):
        group_links = tuple(links[link_start:link_end])
        if len(group_links) == 1:
            lone = group_links[0].agreed
            fields = agreed_one.get(lone)
            if fields is None:
                fields = agreed_one[lone] = agreed_on(group_links)
        else:
            fields = agreed_on(group_links)
        out.append(
            Group(members=tuple(members[start:end]), links=group_links, agreed_fields=fields)
        )
    return out


def _agency_counts(
    agency: npt.NDArray[np.int64], numbers: npt.NDArray[np.int64], starts: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Distinct agencies of each group (records sorted by group, runs from `starts`)."""
    if not len(numbers):
        return np.zeros(0, dtype=np.int64)
    run = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(numbers))))
    holds = np.zeros((len(starts), int(agency.max()) + 1), dtype=bool)
    holds[run, agency] = True
    counts: npt.NDArray[np.int64] = holds.sum(axis=1)
    return counts


@contextmanager
def _no_collection() -> Iterator[None]:
    """Python's cycle collector paused while a run's hits are built.

    It would scan every object made so far, again and again, while a million groups are
    made (half of the time, measured), and none of them is part of a cycle.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
