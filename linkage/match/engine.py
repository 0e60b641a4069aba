"""The matching run: batches of several agencies in, groups spanning k agencies out."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from linkage.batch import Batch, MatchBatch
from linkage.errors import LinkageError
from linkage.hits import Hits
from linkage.match.blocking import BandPlan, Similarities, lsh_pairs, plan_bands
from linkage.match.coverage import estimate_coverage
from linkage.match.dice import DicePairs, dice_pairs
from linkage.match.fields import (
    CANDIDATE_FLOOR,
    FieldScores,
    candidate_threshold,
    kept_threshold,
    score_pairs,
)
from linkage.match.floor import BelowFloor, best_of, floor_for
from linkage.match.group_tasks import FamilyLevels, family_levels, score_levels
from linkage.match.grouping import ComparedInside, group_records, pairs_inside
from linkage.match.layout import ComparisonLayout
from linkage.match.levels import LEVEL_NAMES
from linkage.match.pool import (
    Pool,
    agency_sides,
    all_pairs,
    family_pool,
    hit_groups,
    pool_batches,
    record_counts,
)
from linkage.match.scoring import (
    PosteriorProfile,
    PosteriorTail,
    weight_histogram,
)
from linkage.match.tasks import Runner as Runner
from linkage.match.tasks import TaskDone as TaskDone
from linkage.match.tasks import run_here as run_here
from linkage.match.threshold import ScoreProfile, pooled, score_profile

ALL_PAIRS_LIMIT = 400_000_000  # compare everything below this many pairs (seconds of work)
BLOCK_ROWS = 100_000  # records of one side per all-pairs task: what a Dask worker gets
# An LSH task sorts the whole other side once per band, so its blocks are much larger.
LSH_BLOCK_ROWS = 1_000_000


@dataclass(frozen=True, slots=True)
class MatchSettings:
    """Parameters of a matching run."""

    # Dice (clk scoring) or match posterior (fields); None: chosen from the data, no labels
    threshold: float | None = None
    min_agencies: int = 2
    cap: int = 3  # links a record keeps into each other agency
    blocking: str = "auto"  # "auto": LSH above ALL_PAIRS_LIMIT pairs; "lsh"; "none"
    # "fields": Fellegi-Sunter on per-field encodings (`match.fields`), threshold on the
    # posterior; "clk": Dice of the record-level filters; "auto": fields when every batch
    # carries comparison encodings.
    scoring: str = "auto"
    # Salt families with group filters: pool what matches look like over the families
    # whose salt does not read a comparison (`scoring.fit_families`). Off by default: on
    # the synthetic agencies it raised F1 (hard 0.948 -> 0.956), but on FEBRL at 100,000
    # records a side precision fell 0.9999 -> 0.984, at 1,000,000 to 0.80 (benchmarks).
    pool_families: bool = False


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
    scoring: str = "clk"  # what was used: "clk" or "fields"
    candidate_threshold: float | None = None  # fields: the CLK similarity of candidates
    # fields: (comparison, level, m, u, weight in bits) per level; statistics, no record
    field_weights: tuple[tuple[str, str, float, float, float], ...] = ()
    prior: float | None = None  # fields: the learned share of matches among candidates
    # What estimated_recall counts: "all pairs" (salt families' capture-recapture, with
    # its 95% interval, `linkage.match.coverage`) or "compared pairs" only (no estimate of
    # the pairs never compared could be made: say so, never a confident number).
    recall_basis: str = "compared pairs"
    recall_interval: tuple[float, float] | None = None
    # fields: every candidate pair's match weight, as (bin start in bits, pairs) per 4-bit
    # bin, and (posterior cut, pairs kept, expected precision, expected recall) per cut:
    # what a threshold elsewhere would give, counts only (`scoring.PosteriorProfile.cuts`).
    weight_histogram: tuple[tuple[float, int], ...] = ()
    cuts: tuple[tuple[float, int, float, float], ...] = ()
    # fields: what explains a link (`Link.levels`): each comparison's level names in digit
    # order, per family (salted) each class's level probabilities (family, comparison,
    # level, m, r, u) and the classes' shares (family, matches, related, chance).
    comparison_levels: tuple[tuple[str, tuple[str, ...]], ...] = ()
    class_models: tuple[tuple[str, str, str, float, float, float], ...] = ()
    class_shares: tuple[tuple[str, float, float, float], ...] = ()


@dataclass(frozen=True, slots=True)
class CompareTask:
    """One block of comparisons: records [left_start, left_stop) against [right_start, ...)."""

    left_start: int
    left_stop: int
    right_start: int
    right_stop: int
    threshold: float
    plan: BandPlan | None  # None: compare all pairs

    def run(self, filters: npt.NDArray[np.uint8]) -> tuple[DicePairs, int]:
        """The block's pairs (`run_task`): what a runner calls."""
        return run_task(filters, self)


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


Progress = Callable[[str, float], None]  # stage name, fraction of the whole run done


def match_batches(
    batches: Sequence[MatchBatch],
    settings: MatchSettings | None = None,
    *,
    runner: Runner = run_here,
    progress: Progress | None = None,
) -> tuple[Hits, MatchReport]:
    """Find the persons that appear in the batches of at least `min_agencies` agencies.

    Batches of one agency are pooled. Every pair of agencies is compared (all pairs, or LSH
    candidates for large inputs), then records are grouped (see `grouping`). When every
    batch carries comparison encodings (and `settings.scoring` allows), candidates are
    taken below the CLK threshold and scored field by field (`fields`): links then carry
    match posteriors and the names of the comparisons that agreed.

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
    pool = pool_batches(batches)
    if _fields_wanted(pool, settings.scoring):
        return _match_fields(pool, settings, runner, report_progress)
    estimate: tuple[float | None, float | None] = (None, None)
    planned: _Planned | None = None  # a given threshold: bands for a pair right at it
    if settings.threshold is None:
        report_progress("choosing threshold", 0.0)
        profile = _profile(pool)
        threshold = profile.threshold()
        estimate = profile.estimate(threshold)
        planned = (threshold, profile.similarities())
    else:
        threshold = settings.threshold
    pairs, comparisons, methods = _compare(
        pool, settings, threshold, runner, report_progress, planned
    )
    report_progress("grouping", _COMPARED)
    grouping = group_records(
        pool.agency, pairs.left, pairs.right, pairs.score, threshold=threshold, cap=settings.cap
    )
    groups = hit_groups(pool, grouping.group, pairs, settings.min_agencies)
    report = MatchReport(
        records=record_counts(pool),
        threshold=threshold,
        estimated_precision=estimate[0],
        estimated_recall=estimate[1],
        comparisons=comparisons,
        all_pairs=all_pairs(pool),
        pairs_at_threshold=len(pairs),
        groups=len(groups),
        blocking=methods,
    )
    hits = Hits(threshold=threshold, min_agencies=settings.min_agencies, groups=tuple(groups))
    report_progress("matched", 1.0)
    return hits, report


def _fields_wanted(pool: Pool, scoring: str) -> bool:
    if scoring not in ("auto", "clk", "fields"):
        raise LinkageError("scoring must be auto, clk or fields")
    if scoring == "fields" and pool.layout is None:
        raise LinkageError("field scoring needs comparison encodings in every batch")
    return scoring != "clk" and pool.layout is not None


def _match_fields(
    pool: Pool, settings: MatchSettings, runner: Runner, progress: Progress
) -> tuple[Hits, MatchReport]:
    """Candidates from the CLK, then Fellegi-Sunter scores, posterior cut and grouping."""
    progress("choosing threshold", 0.0)
    scored = _scored(pool, settings, runner, progress)
    profile = PosteriorProfile.of(scored.posterior, scored.tail())
    threshold = settings.threshold if settings.threshold is not None else profile.threshold()
    progress("grouping", _COMPARED)
    keep = np.flatnonzero(scored.posterior >= threshold)
    linked = DicePairs(scored.left[keep], scored.right[keep], scored.posterior[keep])
    grouping = group_records(
        pool.agency,
        linked.left,
        linked.right,
        linked.score,
        threshold=threshold,
        cap=settings.cap,
        rank=scored.weight[keep],
        # Salt families compare only records that share a salt: the others are unknown.
        compared=scored.compared() if scored.families else None,
    )
    groups = hit_groups(
        pool,
        grouping.group,
        linked,
        settings.min_agencies,
        scored.agreed(keep),
        scored.levels(keep),
    )
    precision, recall = profile.estimate(threshold)
    compared_recall = recall
    basis, interval = "compared pairs", None
    if scored.runners_up is not None:
        # How many families linked each linked pair: its best posterior did, and so did
        # each runner-up at or above the threshold.
        captures = 1 + (scored.runners_up[keep] >= threshold).sum(axis=1)
        coverage = estimate_coverage(captures, scored.occasions)
        if coverage is not None:
            basis, interval = "all pairs", (coverage.low, coverage.high)
            recall = min(recall, coverage.recall)
    report = MatchReport(
        records=record_counts(pool),
        threshold=threshold,
        estimated_precision=precision,
        estimated_recall=recall,
        comparisons=scored.comparisons,
        all_pairs=all_pairs(pool),
        pairs_at_threshold=len(keep),
        groups=len(groups),
        blocking=scored.methods,
        scoring="fields",
        candidate_threshold=scored.candidate_threshold,
        field_weights=scored.field_weights,
        prior=scored.prior,
        recall_basis=basis,
        recall_interval=interval,
        weight_histogram=scored.weight_histogram(),
        comparison_levels=comparison_levels(pool.layout),
        class_models=scored.class_models,
        class_shares=scored.class_shares,
        cuts=profile.cuts(recall / compared_recall if compared_recall > 0 else 1.0),
    )
    hits = Hits(threshold=threshold, min_agencies=settings.min_agencies, groups=tuple(groups))
    progress("matched", 1.0)
    return hits, report


Agreed = Callable[[npt.NDArray[np.int64]], list[tuple[str, ...]]]
_T = TypeVar("_T")
Levels = Callable[[npt.NDArray[np.int64]], list[str]]


def _no_levels(indices: npt.NDArray[np.int64]) -> list[str]:
    return [""] * len(indices)


def comparison_levels(
    layout: ComparisonLayout | None,
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each comparison's level names, in the order of `Link.levels`' digits."""
    if layout is None:
        return ()
    return tuple((entry.name, LEVEL_NAMES[entry.method]) for entry in layout.entries)


@dataclass(frozen=True, slots=True, repr=False)
class _Scored:
    """Scored candidate pairs of the whole pool (one family's, or every family's best)."""

    left: npt.NDArray[np.int64]
    right: npt.NDArray[np.int64]
    posterior: npt.NDArray[np.float64]
    weight: npt.NDArray[np.float64]
    agreed: Agreed  # agreed comparison names of pairs (indices into the above)
    comparisons: int
    methods: dict[str, str]
    candidate_threshold: float
    field_weights: tuple[tuple[str, str, float, float, float], ...]
    prior: float
    families: bool = False  # scored family by family: pairs without a shared salt unknown
    # Per pair, its second and third best posterior over the families (-1: none), and
    # the number of families: capture frequencies for the recall estimate (`coverage`).
    runners_up: npt.NDArray[np.float64] | None = None
    occasions: int = 1
    # Per pair "FAMILY:DIGITS" (`Link.levels`), and the models that explain them.
    levels: Levels = _no_levels
    class_models: tuple[tuple[str, str, str, float, float, float], ...] = ()
    class_shares: tuple[tuple[str, float, float, float], ...] = ()
    # Pairs scored below a large run's floor, not in the arrays above (`floor`).
    below: BelowFloor | None = None

    def tail(self) -> PosteriorTail:
        """The pairs below the floor, for the estimates (none in most runs)."""
        return self.below.tail() if self.below is not None else PosteriorTail()

    def weight_histogram(self) -> tuple[tuple[float, int], ...]:
        """The match weights of all candidate pairs, those below the floor included."""
        if self.below is None:
            return weight_histogram(self.weight)
        weight, pairs = self.below.weights()
        return weight_histogram(
            np.concatenate([self.weight, weight]),
            np.concatenate([np.ones(len(self.weight)), pairs]),
        )

    def compared(self) -> ComparedInside:
        """Every compared pair inside the larger components, each once with its best score."""
        held = (self.left, self.right, self.posterior)
        below = self.below
        if below is None:
            return lambda component, big: pairs_inside(held, component, big)

        def inside(component: npt.NDArray[np.int64], big: npt.NDArray[np.bool_]) -> _Pairs:
            left, right, score = zip(
                pairs_inside(held, component, big), below.inside(component, big), strict=True
            )
            return best_of((np.concatenate(left), np.concatenate(right), np.concatenate(score)))

        return inside

    @classmethod
    def of(cls, scored: "ScoredCandidates") -> "_Scored":
        """A run's candidates with their scores, a row each."""
        pairs = scored.pairs
        return cls.of_rows(
            pairs.left,
            pairs.right,
            scored.scores,
            scored.comparisons,
            scored.methods,
            candidate_threshold=scored.candidate_threshold,
        )

    @classmethod
    def of_rows(
        cls,
        left: npt.NDArray[np.int64],
        right: npt.NDArray[np.int64],
        scores: FieldScores,
        comparisons: int,
        methods: dict[str, str],
        *,
        candidate_threshold: float = 1.0,
        row: npt.NDArray[np.int32] | None = None,
    ) -> "_Scored":
        """Pairs whose scores are rows of `scores`: pair i's is row `row[i]` (None: row i)."""

        def rows(indices: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
            return indices if row is None else row[indices].astype(np.int64)

        model = scores.model
        return cls(
            left=left,
            right=right,
            posterior=scores.posterior if row is None else scores.posterior[row],
            weight=scores.weight if row is None else scores.weight[row],
            agreed=lambda indices: scores.agreed(rows(indices)),
            levels=lambda indices: [":" + text for text in scores.level_text(rows(indices))],
            class_models=tuple(("", *line) for line in model.class_rows()),
            class_shares=(("", *model.shares),),
            comparisons=comparisons,
            methods=methods,
            candidate_threshold=candidate_threshold,
            field_weights=tuple(model.rows()),
            prior=model.prior,
        )


def _scored(pool: Pool, settings: MatchSettings, runner: Runner, progress: Progress) -> _Scored:
    """The pool's candidates with their field scores: family by family when salted."""
    if pool.layout is not None and pool.layout.families > 1:
        return _family_scores(pool, settings, runner, progress)
    return _Scored.of(_field_scores(pool, settings, runner, progress))


def _family_scores(
    pool: Pool, settings: MatchSettings, runner: Runner, progress: Progress
) -> _Scored:
    """Each salt family matched on its own (`linkage.salting`); a pair keeps its best score.

    Inside a family only records with equal salts are alike, so each family is blocked,
    scored and its model learned as a run of its own; a pair found in several families
    counts once, with the posterior of the family that scored it highest.
    """
    layout = pool.layout
    if layout is None:
        raise LinkageError("salt families need comparison encodings in every batch")
    parts, below = (
        _grouped_families(pool, layout, settings, runner, progress)
        if layout.group_filters
        else (_valued_families(pool, layout, settings, runner, progress), None)
    )
    if not parts:
        return _no_candidates()
    left = np.concatenate([rows[s.left] for _, rows, s in parts])
    right = np.concatenate([rows[s.right] for _, rows, s in parts])
    posterior = np.concatenate([s.posterior for _, _, s in parts])
    source = np.concatenate([np.full(len(s.left), i) for i, (_, _, s) in enumerate(parts)])
    within = np.concatenate([np.arange(len(s.left)) for _, _, s in parts])
    # Best first within each pair, then the first of each pair.
    order = np.lexsort((-posterior, right, left))
    first = np.ones(len(order), dtype=bool)
    first[1:] = (left[order][1:] != left[order][:-1]) | (right[order][1:] != right[order][:-1])
    best = order[first]
    weight = np.concatenate([s.weight for _, _, s in parts])

    def gathered(
        indices: npt.NDArray[np.int64],
        pick: Callable[[int, _Scored, npt.NDArray[np.int64]], list[_T]],
        empty: _T,
    ) -> list[_T]:
        """Per chosen pair, what its best family's scores say of it (`pick`)."""
        chosen = best[indices]
        out = [empty] * len(chosen)
        for part, (family, _, scored) in enumerate(parts):
            mine = np.flatnonzero(source[chosen] == part)
            found = pick(family, scored, within[chosen[mine]])
            for slot, value in zip(mine.tolist(), found, strict=True):
                out[slot] = value
        return out

    def agreed(indices: npt.NDArray[np.int64]) -> list[tuple[str, ...]]:
        return gathered(indices, lambda _, scored, rows: scored.agreed(rows), ())

    def levels(indices: npt.NDArray[np.int64]) -> list[str]:
        # A family's own text starts with ":"; the family's name goes in front.
        return gathered(
            indices,
            lambda family, scored, rows: [
                layout.family_names[family] + text for text in scored.levels(rows)
            ],
            "",
        )

    counts = np.array([len(s.left) for _, _, s in parts], dtype=np.float64)
    return _Scored(
        left=left[best],
        right=right[best],
        posterior=posterior[best],
        weight=weight[best],
        agreed=agreed,
        levels=levels,
        class_models=tuple(
            (layout.family_names[family], *row[1:])
            for family, _, s in parts
            for row in s.class_models
        ),
        class_shares=tuple(
            (layout.family_names[family], *row[1:])
            for family, _, s in parts
            for row in s.class_shares
        ),
        comparisons=sum(s.comparisons for _, _, s in parts),
        methods={
            f"{layout.family_names[family]} {pair}": method
            for family, _, s in parts
            for pair, method in s.methods.items()
        },
        candidate_threshold=min(s.candidate_threshold for _, _, s in parts),
        field_weights=tuple(
            (f"{layout.family_names[family]}/{row[0]}", *row[1:])
            for family, _, s in parts
            for row in s.field_weights
        ),
        prior=float(np.average([s.prior for _, _, s in parts], weights=counts + 1e-9)),
        families=True,
        runners_up=_runners_up(posterior[order], np.flatnonzero(first)),
        occasions=len(parts),
        below=below,
    )


_Family = tuple[int, npt.NDArray[np.int64], _Scored]  # family, its rows in the pool, scores
_Pairs = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]


def _valued_families(
    pool: Pool,
    layout: ComparisonLayout,
    settings: MatchSettings,
    runner: Runner,
    progress: Progress,
) -> list[_Family]:
    """Families with value filters: each blocked by its filters and scored on its own."""
    parts: list[_Family] = []
    for family in range(layout.families):
        sub, rows = family_pool(pool, family)
        if len(sub.agencies) < 2:
            continue  # nobody to compare with in this family
        share = _family_progress(progress, family, layout.family_names)
        share("choosing threshold", 0.0)
        parts.append((family, rows, _Scored.of(_field_scores(sub, settings, runner, share))))
    return parts


def _grouped_families(
    pool: Pool,
    layout: ComparisonLayout,
    settings: MatchSettings,
    runner: Runner,
    progress: Progress,
) -> tuple[list[_Family], BelowFloor | None]:
    """Families with group filters: the pairs of each group, scored family by family.

    Pairs and their levels come from block tasks on the runner (`group_tasks`); with
    `settings.pool_families`, the families' models are learned together, matches' levels
    pooled where a family's salt does not read the field (`scoring.fit_families`). In a
    large run, the pairs below the floor stay in their families' compact arrays (`floor`).
    """

    def share(family: int, stage: str, fraction: float) -> None:
        _family_progress(progress, family, layout.family_names)(stage, fraction * _COMPARED)

    found = family_levels(pool, layout, runner, share)
    if not found:
        return [], None
    progress("learning weights", _COMPARED)
    scores = score_levels(layout, found, pooled=settings.pool_families)
    floor = floor_for(sum(len(f.pattern) for f in found), settings.threshold)
    parts = [
        (f.family, f.rows, _held_scores(f, s, floor)) for f, s in zip(found, scores, strict=True)
    ]
    return parts, BelowFloor(found, scores, floor) if floor > 0 else None


def _held_scores(found: FamilyLevels, scores: FieldScores, floor: float) -> _Scored:
    """A family's pairs whose posterior reaches `floor`, with their scores.

    Records are indices into the family's records, as the other families' parts.
    """
    kept = np.flatnonzero((scores.posterior >= floor)[found.pattern])
    return _Scored.of_rows(
        found.left[kept].astype(np.int64),
        found.right[kept].astype(np.int64),
        scores,
        len(found.pattern),
        found.methods,
        row=found.pattern[kept],
    )


def _runners_up(
    posterior: npt.NDArray[np.float64], starts: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """Per pair (runs of entries from `starts`, best first), its 2nd and 3rd posterior."""
    sizes = np.diff(np.append(starts, len(posterior)))
    rank = np.arange(len(posterior)) - np.repeat(starts, sizes)
    pair = np.repeat(np.arange(len(starts)), sizes)
    out = np.full((len(starts), 2), -1.0)
    for column in (0, 1):
        at = rank == column + 1
        out[pair[at], column] = posterior[at]
    return out


def _family_progress(progress: Progress, family: int, names: Sequence[str]) -> Progress:
    """Progress of one family's run as a share of the whole, its stage naming the family."""
    label = f"salt family {family + 1} of {len(names)}: {names[family]}"

    def share(stage: str, fraction: float) -> None:
        done = (family + fraction / _COMPARED) / len(names) * _COMPARED
        progress(f"{stage} ({label})", min(_COMPARED, done))

    return share


def _no_candidates() -> _Scored:
    empty = np.zeros(0, dtype=np.int64)
    return _Scored(
        left=empty,
        right=empty,
        posterior=np.zeros(0),
        weight=np.zeros(0),
        agreed=lambda indices: [],
        comparisons=0,
        methods={},
        candidate_threshold=CANDIDATE_FLOOR,
        field_weights=(),
        prior=0.0,
    )


@dataclass(frozen=True, slots=True, repr=False)
class ScoredCandidates:
    """A run's candidate pairs with their field scores, before any threshold."""

    pairs: DicePairs
    scores: FieldScores
    candidate_threshold: float
    comparisons: int
    methods: dict[str, str]


def _field_scores(
    pool: Pool, settings: MatchSettings, runner: Runner, progress: Progress
) -> ScoredCandidates:
    layout, values = pool.layout, pool.comparisons
    if layout is None or values is None:
        raise LinkageError("field scoring needs comparison encodings in every batch")
    profile = _profile(pool)
    clk_threshold = profile.threshold()
    candidates = candidate_threshold(clk_threshold)
    pairs, comparisons, methods = _compare(
        pool, settings, candidates, runner, progress, (clk_threshold, profile.similarities())
    )
    candidates = kept_threshold(pairs.score, clk_threshold, candidates)
    keep = pairs.score >= candidates
    pairs = DicePairs(pairs.left[keep], pairs.right[keep], pairs.score[keep])
    scores = score_pairs(
        layout,
        values,
        pool.starts,
        (pairs.left, pairs.right, pairs.score),
        clk_threshold,
    )
    return ScoredCandidates(pairs, scores, candidates, comparisons, methods)


# Shares of the whole run in `progress`: choosing the threshold, comparing, grouping.
_COMPARING = 0.05
_COMPARED = 0.9


def _ignore_progress(stage: str, fraction: float) -> None:
    return None


def profile_batches(batches: Sequence[Batch]) -> ScoreProfile:
    """The similarity profile behind the label-free threshold, for threshold tooling."""
    return _profile(pool_batches(batches))


@dataclass(frozen=True, slots=True, repr=False)
class ScoreSummary:
    """What threshold tooling shows of a run's field scores: weights, prior, posteriors.

    `left`, `right` and `posterior` are the candidate pairs (record indices into
    `records`, each an (agency, reference)) with their posteriors: what benchmarks need to
    measure pair completeness and the label-free estimates against a truth.
    """

    field_weights: tuple[tuple[str, str, float, float, float], ...]
    prior: float
    profile: PosteriorProfile
    records: tuple[tuple[str, str], ...] = ()
    left: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    right: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    posterior: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))


def score_batches(batches: Sequence[Batch], settings: MatchSettings | None = None) -> ScoreSummary:
    """The learned weights and the candidates' posteriors, as a run would score them.

    With salt families, every family's weights (named family/comparison) and the
    posteriors of the pairs after each has kept its best score.
    """
    settings = settings or MatchSettings()
    pool = pool_batches(batches)
    _fields_wanted(pool, "fields")
    scored = _scored(pool, settings, run_here, _ignore_progress)
    records = tuple(
        (pool.agencies[agency], reference)
        for agency, reference in zip(pool.agency.tolist(), pool.references, strict=True)
    )
    return ScoreSummary(
        scored.field_weights,
        scored.prior,
        PosteriorProfile.of(scored.posterior, scored.tail()),
        records,
        scored.left,
        scored.right,
        scored.posterior,
    )


def _profile(pool: Pool) -> ScoreProfile:
    return pooled([score_profile(left, right) for left, right in agency_sides(pool)])


# The threshold bands are planned for, with the similarities of the pairs to be found
# (those the threshold profile's full comparison of a sample finds) where the run has them.
_Planned = tuple[float, Similarities | None]


def _tasks(
    pool: Pool, settings: MatchSettings, threshold: float, planned: _Planned
) -> tuple[list[CompareTask], dict[str, str]]:
    tasks: list[CompareTask] = []
    methods: dict[str, str] = {}
    bounds = np.append(pool.starts, len(pool.agency)).tolist()
    agency_pairs = combinations(range(len(pool.agencies)), 2)
    for (a, b), (left, right) in zip(agency_pairs, agency_sides(pool), strict=True):
        use_lsh = settings.blocking == "lsh" or (
            settings.blocking == "auto" and len(left) * len(right) > ALL_PAIRS_LIMIT
        )
        # One plan for the whole agency pair, so blocks of it find exactly what the pair
        # would find in one piece. Field scoring keeps candidates below the CLK threshold,
        # but bands for that lower similarity would cost several times the comparisons;
        # with the CLK threshold's bands such pairs are found less surely, at the CLK
        # path's cost.
        plan = plan_bands(left, right, threshold=planned[0], found=planned[1]) if use_lsh else None
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
    pool: Pool,
    settings: MatchSettings,
    threshold: float,
    runner: Runner,
    progress: Progress,
    planned: _Planned | None = None,
) -> tuple[DicePairs, int, dict[str, str]]:
    tasks, methods = _tasks(pool, settings, threshold, planned or (threshold, None))
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
