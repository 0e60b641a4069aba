"""The matching run: batches of several agencies in, groups spanning k agencies out."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import numpy.typing as npt

from linkage.batch import Batch
from linkage.errors import LinkageError
from linkage.hits import Group, Hits, Link, Member
from linkage.match.blocking import BandPlan, lsh_pairs, plan_bands
from linkage.match.dice import DicePairs, dice_pairs
from linkage.match.grouping import group_records
from linkage.match.threshold import ScoreProfile, pooled, score_profile

ALL_PAIRS_LIMIT = 400_000_000  # compare everything below this many pairs (seconds of work)
BLOCK_ROWS = 100_000  # records of one side per all-pairs task: what a Dask worker gets
# An LSH task sorts the whole other side once per band, so its blocks are much larger.
LSH_BLOCK_ROWS = 1_000_000


@dataclass(frozen=True, slots=True)
class MatchSettings:
    """Parameters of a matching run."""

    threshold: float | None = None  # None: chosen from the data (match.threshold)
    min_agencies: int = 2
    cap: int = 3  # links a record keeps into each other agency
    blocking: str = "auto"  # "auto": LSH above ALL_PAIRS_LIMIT pairs; "lsh"; "none"


@dataclass(frozen=True, slots=True)
class MatchReport:
    """Counts of a run, for logs and progress: never a reference or a filter."""

    records: dict[str, int]
    threshold: float
    estimated_precision: float | None  # when the threshold was chosen from the data
    estimated_recall: float | None
    comparisons: int
    all_pairs: int
    pairs_at_threshold: int
    groups: int
    blocking: dict[str, str] = field(default_factory=dict)  # agency pair -> method used


@dataclass(frozen=True, slots=True, repr=False)
class _Pool:
    agencies: tuple[str, ...]
    agency: npt.NDArray[np.int64]  # agency index of each record
    references: tuple[str, ...]
    filters: npt.NDArray[np.uint8]
    starts: npt.NDArray[np.int64]  # first record of each agency


@dataclass(frozen=True, slots=True)
class CompareTask:
    """One block of comparisons: records [left_start, left_stop) against [right_start, ...)."""

    left_start: int
    left_stop: int
    right_start: int
    right_stop: int
    threshold: float
    plan: BandPlan | None  # None: compare all pairs


def run_task(filters: npt.NDArray[np.uint8], task: CompareTask) -> tuple[DicePairs, int]:
    """Run one block; pairs come back with indices into `filters`, with the work done."""
    left = filters[task.left_start : task.left_stop]
    right = filters[task.right_start : task.right_stop]
    if task.plan is None:
        found, comparisons = (
            dice_pairs(left, right, threshold=task.threshold),
            left.shape[0] * right.shape[0],
        )
    else:
        found, report = lsh_pairs(left, right, threshold=task.threshold, plan=task.plan)
        comparisons = report.candidates
    return DicePairs(
        left=found.left + task.left_start, right=found.right + task.right_start, score=found.score
    ), int(comparisons)


TaskDone = Callable[[], None]  # a runner calls it once per finished task
Runner = Callable[
    [npt.NDArray[np.uint8], Sequence[CompareTask], TaskDone], list[tuple[DicePairs, int]]
]
Progress = Callable[[str, float], None]  # stage name, fraction of the whole run done


def _nothing() -> None:
    return None


def run_here(
    filters: npt.NDArray[np.uint8], tasks: Sequence[CompareTask], done: TaskDone = _nothing
) -> list[tuple[DicePairs, int]]:
    """The in-process runner: tasks one after another (each uses every core)."""
    results = []
    for task in tasks:
        results.append(run_task(filters, task))
        done()
    return results


def match_batches(
    batches: Sequence[Batch],
    settings: MatchSettings | None = None,
    *,
    runner: Runner = run_here,
    progress: Progress | None = None,
) -> tuple[Hits, MatchReport]:
    """Find the persons that appear in the batches of at least `min_agencies` agencies.

    Batches of one agency are pooled. Every pair of agencies is compared (all pairs, or LSH
    candidates for large inputs), then records are grouped (see `grouping`).

    Args:
        batches: Batches made with the same schema and key; one agency may have several.
        settings: Threshold, k, per-agency cap and blocking.
        runner: Runs the comparison tasks: in this process by default, or on a Dask
            cluster (`linkage.match.distributed.dask_runner`). Results are identical.
        progress: Called with a stage name and the fraction of the run done (0..1) at
            each stage change and after each comparison task; counts only, no data.

    Returns:
        The hits and a report of the work done.

    Raises:
        LinkageError: The batches cannot be compared (schema, key or length differ).
    """
    settings = settings or MatchSettings()
    report_progress = progress or _ignore_progress
    pool = _pool(batches)
    estimate: tuple[float | None, float | None] = (None, None)
    if settings.threshold is None:
        report_progress("choosing threshold", 0.0)
        profile = _profile(pool)
        threshold = profile.threshold()
        estimate = profile.estimate(threshold)
    else:
        threshold = settings.threshold
    pairs, comparisons, methods = _compare(pool, settings, threshold, runner, report_progress)
    report_progress("grouping", _COMPARED)
    grouping = group_records(
        pool.agency, pairs.left, pairs.right, pairs.score, threshold=threshold, cap=settings.cap
    )
    groups = _groups(pool, grouping.group, pairs, settings.min_agencies)
    sizes = np.diff(np.append(pool.starts, len(pool.agency)))
    total = sum(int(a) * int(b) for a, b in combinations(sizes.tolist(), 2))
    report = MatchReport(
        records=dict(zip(pool.agencies, sizes.tolist(), strict=True)),
        threshold=threshold,
        estimated_precision=estimate[0],
        estimated_recall=estimate[1],
        comparisons=comparisons,
        all_pairs=total,
        pairs_at_threshold=len(pairs),
        groups=len(groups),
        blocking=methods,
    )
    hits = Hits(threshold=threshold, min_agencies=settings.min_agencies, groups=tuple(groups))
    report_progress("matched", 1.0)
    return hits, report


# Shares of the whole run in `progress`: choosing the threshold, comparing, grouping.
_COMPARING = 0.05
_COMPARED = 0.9


def _ignore_progress(stage: str, fraction: float) -> None:
    return None


def profile_batches(batches: Sequence[Batch]) -> ScoreProfile:
    """The similarity profile behind the label-free threshold, for threshold tooling."""
    return _profile(_pool(batches))


def _profile(pool: _Pool) -> ScoreProfile:
    return pooled([score_profile(left, right) for left, right in _sides(pool)])


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


def _pool(batches: Sequence[Batch]) -> _Pool:
    check_compatible(batches)
    agencies = tuple(sorted({batch.agency for batch in batches}))
    ordered = sorted(batches, key=lambda batch: agencies.index(batch.agency))
    references = tuple(ref for batch in ordered for ref in batch.references)
    agency = np.concatenate([np.full(len(b), agencies.index(b.agency), np.int64) for b in ordered])
    if len(set(zip(agency.tolist(), references, strict=True))) != len(references):
        raise LinkageError("an agency's batches repeat a reference; upload each record once")
    starts = np.searchsorted(agency, np.arange(len(agencies)))
    return _Pool(
        agencies=agencies,
        agency=agency,
        references=references,
        filters=np.concatenate([b.filters for b in ordered]),
        starts=starts,
    )


def _sides(pool: _Pool) -> list[tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]]:
    """The filters of every pair of agencies, in agency order."""
    bounds = np.append(pool.starts, len(pool.agency))
    return [
        (pool.filters[bounds[a] : bounds[a + 1]], pool.filters[bounds[b] : bounds[b + 1]])
        for a, b in combinations(range(len(pool.agencies)), 2)
    ]


def _tasks(
    pool: _Pool, settings: MatchSettings, threshold: float
) -> tuple[list[CompareTask], dict[str, str]]:
    tasks: list[CompareTask] = []
    methods: dict[str, str] = {}
    bounds = np.append(pool.starts, len(pool.agency)).tolist()
    agency_pairs = combinations(range(len(pool.agencies)), 2)
    for (a, b), (left, right) in zip(agency_pairs, _sides(pool), strict=True):
        use_lsh = settings.blocking == "lsh" or (
            settings.blocking == "auto" and len(left) * len(right) > ALL_PAIRS_LIMIT
        )
        # One plan for the whole agency pair, so blocks of it find exactly what the pair
        # would find in one piece.
        plan = plan_bands(left, right, threshold=threshold) if use_lsh else None
        methods[f"{pool.agencies[a]}-{pool.agencies[b]}"] = "lsh" if use_lsh else "all pairs"
        step = LSH_BLOCK_ROWS if use_lsh else BLOCK_ROWS
        tasks.extend(
            CompareTask(
                start, min(start + step, bounds[a + 1]), bounds[b], bounds[b + 1], threshold, plan
            )
            for start in range(bounds[a], bounds[a + 1], step)
        )
    return tasks, methods


def _compare(
    pool: _Pool, settings: MatchSettings, threshold: float, runner: Runner, progress: Progress
) -> tuple[DicePairs, int, dict[str, str]]:
    tasks, methods = _tasks(pool, settings, threshold)
    finished = 0

    def done() -> None:
        nonlocal finished
        finished += 1
        progress("comparing", _COMPARING + (_COMPARED - _COMPARING) * finished / len(tasks))

    progress("comparing", _COMPARING)
    results = runner(pool.filters, tasks, done)
    pieces = [pairs for pairs, _ in results]
    comparisons = sum(count for _, count in results)
    if not pieces:
        empty = np.zeros(0, np.int64)
        return DicePairs(empty, empty, np.zeros(0)), 0, methods
    return (
        DicePairs(
            left=np.concatenate([p.left for p in pieces]),
            right=np.concatenate([p.right for p in pieces]),
            score=np.concatenate([p.score for p in pieces]),
        ),
        comparisons,
        methods,
    )


def _groups(
    pool: _Pool, group: npt.NDArray[np.int64], pairs: DicePairs, min_agencies: int
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
        out.append(
            Group(
                members=tuple(
                    Member(pool.agencies[pool.agency[m]], pool.references[m]) for m in members
                ),
                links=tuple(
                    Link(
                        position[int(pairs.left[i])],
                        position[int(pairs.right[i])],
                        float(pairs.score[i]),
                    )
                    for i in links_of.get(number, [])
                ),
            )
        )
    return out
