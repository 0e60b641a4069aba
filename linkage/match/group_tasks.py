"""Salt families with group filters, cut into independent block tasks for a runner.

What: in a family with group filters the candidates are the cross-agency pairs of equal
filters (`groups`). Equal filters have equal digests, so a family's records split by
digest range into blocks that share no pair: each block sorts its own digests, lists its
pairs and computes their comparison levels (`levels`), the costly part. One more task per
family computes the levels of its random pairs (the chance rates, `fields.random_pairs`).
Every family's tasks go to the runner at once (`tasks`): in this process one after
another, or spread over a Dask cluster's workers (`distributed`). The models are then
learned on the caller's side from all families' levels together (`scoring.fit_families`).

Why: levels are most of a salted run's matching time and each pair's levels depend on
its two records only, so blocks run anywhere, in any order. Ranges are taken in digest
order and each block sorts stably, so the blocks' pairs, one range after the other, are
exactly `pairs_of_equal_filters`' pairs in its order: the hits are the same on every
runner and for any number of blocks (`tests/linkage/test_group_tasks.py`).

Memory: a block holds references to the pool's arrays and copies its own records'
comparison words only when it runs; pickled for a cluster it carries those rows alone
(`__reduce__`), never the whole pool. Tasks run family by family, and once a family's
last result is in, its words are let go (`Pool.family_words`): for batches read as
digests that frees them, and the run ends its comparing step without any. A block's
pairs come back as three int32 each (two records and a level pattern, `BlockPairs`),
12 bytes a candidate: a run of 10,000,000 records a side has about 215 million.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import numpy.typing as npt

from linkage.errors import LinkageError
from linkage.match.fields import FieldScores, random_pairs
from linkage.match.groups import GroupPairs, pairs_of_equal_digests
from linkage.match.layout import ComparisonLayout
from linkage.match.levels import LevelPlan, pair_levels
from linkage.match.pool import Pool, RunWords
from linkage.match.scoring import (
    LevelPatterns,
    agreement_start,
    fit_families,
    level_patterns,
    posterior,
)
from linkage.match.tasks import Runner, threads_allowed

BLOCK_RECORDS = 250_000  # a family's records per block task, about (digest ranges)
MAX_AGENCIES = 127  # a block holds its records' agencies as int8

# family, stage ("choosing threshold" once, then "comparing"), share of its tasks done
FamilyProgress = Callable[[int, str, float], None]


@dataclass(frozen=True, slots=True, repr=False)
class BlockPairs:
    """A block's pairs (indices into its family's records), their levels, records left out.

    Levels travel as the block's distinct patterns and each pair's pattern: 12 bytes a
    pair with the indices, where rows of levels and int64 indices took 25 and more.
    """

    left: npt.NDArray[np.int32]
    right: npt.NDArray[np.int32]
    patterns: npt.NDArray[np.int8]  # the block's distinct level patterns (`level_patterns`)
    pattern: npt.NDArray[np.int32]  # each pair's row in `patterns`
    left_out: int

    @classmethod
    def of(
        cls,
        left: npt.NDArray[np.int64] | npt.NDArray[np.int32],
        right: npt.NDArray[np.int64] | npt.NDArray[np.int32],
        levels: npt.NDArray[np.int8],
        left_out: int,
    ) -> "BlockPairs":
        """Pairs with their levels, the levels packed as patterns."""
        patterns, pattern = level_patterns(levels)
        return cls(left.astype(np.int32), right.astype(np.int32), patterns, pattern, left_out)

    @property
    def levels(self) -> npt.NDArray[np.int8]:
        """Each pair's levels, a row each."""
        return self.patterns[self.pattern]


@dataclass(frozen=True, slots=True, repr=False)
class _Words:
    """Comparison words of some records of one family: `rows` of the family's parts.

    The parts are the run's (`Pool.family_words`: an array per batch, first rows `bounds`),
    looked up only when the words are taken, so a family's words can be let go once its
    tasks are done; or, in a task sent to a worker, the records' own rows (`packed`).
    """

    source: RunWords | tuple[npt.NDArray[np.uint64], ...]
    family: int
    bounds: npt.NDArray[np.int64]
    rows: npt.NDArray[np.int32]  # pool rows (int32: a run holds far fewer than 2**31)

    def take(self) -> npt.NDArray[np.uint64]:
        """The records' words, a row each, in `rows` order."""
        parts = self.source if isinstance(self.source, tuple) else self.source.family(self.family)
        out = np.empty((len(self.rows), parts[0].shape[1]), dtype=np.uint64)
        part = np.searchsorted(self.bounds, self.rows, side="right") - 1
        for index, words in enumerate(parts):
            mine = np.flatnonzero(part == index)
            if len(mine):
                out[mine] = words[self.rows[mine] - self.bounds[index]]
        return out

    def of(self, rows: npt.NDArray[np.int64] | npt.NDArray[np.int32]) -> "_Words":
        """Some of these records (indices into `rows`)."""
        return _Words(self.source, self.family, self.bounds, self.rows[rows])

    def packed(self) -> "_Words":
        """The same records as an array of their own (what a worker is sent)."""
        count = len(self.rows)
        rows = np.arange(count, dtype=np.int32)
        return _Words((self.take(),), self.family, np.array([0, count]), rows)


@dataclass(frozen=True, slots=True, repr=False)
class GroupBlock:
    """Records of one family whose digests fall in one range: their pairs and levels."""

    family: int
    plan: LevelPlan
    # 13 bytes a record: all of a run's blocks are made before the first runs.
    members: npt.NDArray[np.int32]  # indices into the family's records, ascending
    digest: npt.NDArray[np.uint64]  # the members' digests
    agency: npt.NDArray[np.int8]  # the members' agencies (among the family's)
    words: _Words  # the members' comparison words

    def run(self, shared: None) -> BlockPairs:
        """The block's pairs of equal digests and their levels."""
        found: GroupPairs = pairs_of_equal_digests(self.digest, self.agency.astype(np.int64))
        words, threads = self.words.take(), threads_allowed()
        levels = pair_levels(self.plan, words, found.left, found.right, threads=threads)
        return BlockPairs.of(
            self.members[found.left], self.members[found.right], levels, found.left_out
        )

    def __reduce__(self) -> tuple[Any, ...]:
        fields = (self.family, self.plan, self.members, self.digest, self.agency)
        return (GroupBlock, (*fields, self.words.packed()))


@dataclass(frozen=True, slots=True, repr=False)
class RandomLevels:
    """Levels of one family's random cross-agency pairs (for the chance rates)."""

    family: int
    plan: LevelPlan
    left: npt.NDArray[np.int64]  # indices into `words`' records
    right: npt.NDArray[np.int64]
    words: _Words

    def run(self, shared: None) -> BlockPairs:
        """The pairs' levels."""
        words, threads = self.words.take(), threads_allowed()
        levels = pair_levels(self.plan, words, self.left, self.right, threads=threads)
        return BlockPairs.of(self.left, self.right, levels, 0)

    def __reduce__(self) -> tuple[Any, ...]:
        # Only the records the pairs touch travel, the pairs renumbered among them.
        used, inverse = np.unique(np.concatenate([self.left, self.right]), return_inverse=True)
        half = len(self.left)
        fields = (self.family, self.plan, inverse[:half], inverse[half:])
        return (RandomLevels, (*fields, self.words.of(used).packed()))


@dataclass(frozen=True, slots=True, repr=False)
class FamilyLevels:
    """One family's candidates with their level patterns, ready for the models to be learned.

    A pair is three int32 (12 bytes): at national scale a family holds tens of millions.
    """

    family: int
    rows: npt.NDArray[np.int64]  # the family's records: their rows in the pool
    left: npt.NDArray[np.int32]  # each pair's records: indices into `rows`
    right: npt.NDArray[np.int32]
    pattern: npt.NDArray[np.int32]  # each pair's row in `levels.patterns`
    methods: dict[str, str]  # agency pair -> "salt groups" (with records left out)
    levels: LevelPatterns  # the distinct patterns, their counts, EM's start, random levels


def family_levels(
    pool: Pool, layout: ComparisonLayout, runner: Runner, progress: FamilyProgress
) -> list[FamilyLevels]:
    """Every family's pairs of equal group filters and their levels, through the runner.

    Families with records of fewer than two agencies are left out (nobody to compare).
    """
    if pool.layout is None or pool.family_words is None:
        raise LinkageError("salt families need comparison encodings in every batch")
    one = layout.one_family()
    plan = LevelPlan.of(one)
    bounds = pool.part_bounds()
    families, tasks = [], []
    for family in range(layout.families):
        # A family's column at a time: all of them at once are 8 bytes a record and family.
        digests = np.concatenate([part[:, family] for part in pool.digest_parts])
        rows = np.flatnonzero(digests)  # `family_digests`: 0 for a record not in the family
        agencies, agency = _renumbered(pool.agency[rows], len(pool.agencies))
        if len(agencies) < 2:
            continue
        if len(agencies) > MAX_AGENCIES:
            raise LinkageError(f"a run compares at most {MAX_AGENCIES} agencies")
        source = _Words(pool.family_words, family, bounds, rows.astype(np.int32))
        mine = _tasks(family, plan, digests[rows], agency, source)
        families.append((family, rows, agencies, len(mine)))
        tasks.extend(mine)
    results: list[BlockPairs | None] = list(
        runner(None, tasks, _counter(tasks, progress, pool.family_words.release))
    )
    out, at = [], 0
    for family, rows, agencies, count in families:
        blocks = [block for block in results[at : at + count] if block is not None]
        results[at : at + count] = [None] * count  # each family's blocks let go once joined
        out.append(_family(pool, plan, family, rows, agencies, blocks))
        at += count
    return out


def score_levels(
    layout: ComparisonLayout, families: Sequence[FamilyLevels], *, pooled: bool = False
) -> list[FieldScores]:
    """Each family's model learned on its levels (together, with `pooled`), and its scores.

    The steps of `fields.score_families` after its levels, on the blocks' level patterns:
    the same models, and per distinct pattern (the scores' rows: index them with
    `FamilyLevels.pattern`) the weight and posterior its pairs would get.
    """
    plan = LevelPlan.of(layout.one_family())
    shared = layout.shared_matches()[[found.family for found in families]]
    if not pooled:
        shared[:] = False
    models = fit_families(plan, [found.levels for found in families], shared)
    out = []
    for found, model in zip(families, models, strict=True):
        weight = model.pattern_weight(found.levels.patterns)
        out.append(FieldScores(model, found.levels.patterns, weight, posterior(weight)))
    return out


def _renumbered(
    agency: npt.NDArray[np.int64], agencies: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The agencies present (pool numbers, ascending) and each record's among them."""
    present = np.flatnonzero(np.bincount(agency, minlength=agencies))
    number = np.zeros(agencies, dtype=np.int64)
    number[present] = np.arange(len(present))
    return present, number[agency]


def _tasks(
    family: int,
    plan: LevelPlan,
    digest: npt.NDArray[np.uint64],
    agency: npt.NDArray[np.int64],
    source: _Words,
) -> list[GroupBlock | RandomLevels]:
    """A family's block tasks, in digest order, then its random pairs' task."""
    blocks = max(1, -(-len(digest) // BLOCK_RECORDS))
    # A block is a range of digest values: monotone in the digest, so blocks in order
    # are the family sorted by digest. Digests are uniform: blocks about equal.
    block = ((digest >> np.uint64(40)).astype(np.int64) * blocks) >> 24
    # Stable, so records stay ascending within a block; 16-bit keys sort by radix.
    order = np.argsort(block.astype(np.int16 if blocks < 2**15 else np.int64), kind="stable")
    bounds = np.searchsorted(block[order], np.arange(blocks + 1))
    tasks: list[GroupBlock | RandomLevels] = []
    for start, stop in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        members = order[start:stop].astype(np.int32)
        words = source.of(members)
        small = agency[members].astype(np.int8)
        tasks.append(GroupBlock(family, plan, members, digest[members], small, words))
    starts = np.searchsorted(agency, np.arange(int(agency.max()) + 1))
    left, right = random_pairs(starts, len(agency))
    tasks.append(RandomLevels(family, plan, left, right, source))
    return tasks


def _counter(
    tasks: Sequence[GroupBlock | RandomLevels],
    progress: FamilyProgress,
    release: Callable[[int], None],
) -> Callable[[], None]:
    """`done` for the runner: each family's share of its tasks, stage named on its first.

    After a family's last task its words are `release`d (results come in task order).
    """
    families = [task.family for task in tasks]
    totals = {family: families.count(family) for family in set(families)}
    finished: dict[int, int] = {}

    def done() -> None:
        family = families[sum(finished.values())]
        if family not in finished:
            progress(family, "choosing threshold", 0.0)
        finished[family] = finished.get(family, 0) + 1
        if finished[family] == totals[family]:
            release(family)
        progress(family, "comparing", finished[family] / totals[family])

    return done


def _family(
    pool: Pool,
    plan: LevelPlan,
    family: int,
    rows: npt.NDArray[np.int64],
    agencies: npt.NDArray[np.int64],
    blocks: Sequence[BlockPairs],
) -> FamilyLevels:
    """A family's blocks put together, in task order (digest ranges, then random pairs).

    The blocks' pattern tables merge into the family's (`level_patterns` orders patterns
    by value alone), each pair's pattern renumbered into it.
    """
    pairs, random = blocks[:-1], blocks[-1]
    patterns, merged = level_patterns(np.concatenate([b.patterns for b in pairs]))
    offsets = np.cumsum([0] + [len(b.patterns) for b in pairs])
    pattern = np.concatenate(
        [merged[at + b.pattern] for at, b in zip(offsets.tolist(), pairs, strict=False)]
    )
    left = np.concatenate([b.left for b in pairs])
    right = np.concatenate([b.right for b in pairs])
    left_out = sum(b.left_out for b in pairs)
    method = "salt groups" + (f" ({left_out} records in oversized groups)" if left_out else "")
    names = [pool.agencies[a] for a in agencies.tolist()]
    methods = {f"{a}-{b}": method for a, b in combinations(names, 2)}
    counts = np.bincount(pattern, minlength=len(patterns)).astype(np.float64)
    start = agreement_start(plan, patterns, random.levels)  # EM's first round
    found = LevelPatterns(patterns, counts, start, random.levels)
    return FamilyLevels(family, rows, left, right, pattern, methods, found)
