"""Field-aware scoring of a run's candidate pairs: levels, the learned model, posteriors.

The record-level CLK finds candidates (at a threshold below its own label-free one, so
that pairs it would miss can still be saved by their fields); this module scores them
field by field (`levels`, `scoring`). Pure and deterministic: random pairs come from a
seeded generator, and the same candidates give the same scores on every runner.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import numpy.typing as npt

from linkage.batch import MatchBatch
from linkage.errors import LinkageError
from linkage.match.layout import ComparisonLayout
from linkage.match.levels import LevelPlan, pair_levels
from linkage.match.scoring import (
    RANDOM_PAIRS,
    FamilyPairs,
    FieldModel,
    PosteriorProfile,
    agreed,
    fit_families,
    level_digits,
    posterior,
)

CANDIDATE_MARGIN = 0.1  # candidates reach the CLK's label-free threshold minus this
CANDIDATE_FLOOR = 0.5
CANDIDATE_GROWTH = 1.5  # kept candidates per pair at the CLK threshold, at most


@dataclass(frozen=True, slots=True, repr=False)
class FieldScores:
    """The model and, per candidate pair, its levels, match weight and posterior.

    Or per distinct level pattern, for salt families' blocks (`group_tasks.score_levels`).
    """

    model: FieldModel
    levels: npt.NDArray[np.int8]
    weight: npt.NDArray[np.float64]
    posterior: npt.NDArray[np.float64]

    @property
    def profile(self) -> PosteriorProfile:
        """Expected precision and recall per posterior cut (threshold tooling)."""
        return PosteriorProfile.of(self.posterior)

    def agreed(self, pairs: npt.NDArray[np.int64]) -> list[tuple[str, ...]]:
        """Agreed comparison names of the given candidate pairs (indices)."""
        return agreed(self.model.plan, self.levels[pairs])

    def level_text(self, pairs: npt.NDArray[np.int64]) -> list[str]:
        """The level each comparison reached on the given pairs, a digit each (`Link`)."""
        return level_digits(self.levels[pairs])


def layout_of(batches: Sequence[MatchBatch]) -> ComparisonLayout | None:
    """The comparison layout all batches share, or None when one has no comparisons.

    Raises:
        LinkageError: Batches carry comparisons of different layouts.
    """
    layouts = {b.comparisons.layout if b.comparisons else None for b in batches}
    if None in layouts:
        return None
    if len(layouts) > 1:
        raise LinkageError("the batches' comparison layouts differ: they cannot be compared")
    return ComparisonLayout.parse(layouts.pop() or "")


def candidate_threshold(clk_threshold: float) -> float:
    """The lowest CLK similarity at which candidates are compared for field scoring."""
    return round(max(CANDIDATE_FLOOR, min(clk_threshold - CANDIDATE_MARGIN, clk_threshold)), 3)


def kept_threshold(scores: npt.NDArray[np.float64], clk_threshold: float, floor: float) -> float:
    """The CLK similarity down to which compared candidates are kept for field scoring.

    The lowest one (at or above `floor`) that keeps at most `CANDIDATE_GROWTH` times the
    pairs reaching the CLK's own threshold. Below the CLK threshold, pairs are mostly
    alike non-matches; past some share of them, EM's relatives class fits them instead
    of the households it is for, and precision drops (on the synthetic agencies F1 0.978
    at 1.4 times, 0.954 at 4.9 times; with a hardened CLK the band is wider still).
    """
    ordered = np.sort(scores)[::-1]
    allowed = int(CANDIDATE_GROWTH * np.count_nonzero(ordered >= clk_threshold))
    if allowed >= len(ordered):
        return floor
    # Just above the first score past the allowance: ties there are all left out.
    return max(floor, float(np.nextafter(ordered[allowed], np.inf)))


def random_pairs(
    starts: npt.NDArray[np.int64], records: int, count: int = RANDOM_PAIRS, seed: int = 0
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Random record pairs of different agencies, each agency pair by its share of all pairs."""
    bounds = np.append(starts, records)
    sizes = np.diff(bounds)
    agency_pairs = list(combinations(range(len(sizes)), 2))
    weight = np.array([sizes[a] * sizes[b] for a, b in agency_pairs], dtype=np.float64)
    if not len(agency_pairs) or weight.sum() == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy()
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(agency_pairs), size=count, p=weight / weight.sum())
    first = np.array([a for a, _ in agency_pairs])[chosen]
    second = np.array([b for _, b in agency_pairs])[chosen]
    left = bounds[first] + (rng.random(count) * sizes[first]).astype(np.int64)
    right = bounds[second] + (rng.random(count) * sizes[second]).astype(np.int64)
    return left, right


def score_pairs(
    layout: ComparisonLayout,
    values: npt.NDArray[np.uint64],
    starts: npt.NDArray[np.int64],
    pairs: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]],
    clk_threshold: float,
) -> FieldScores:
    """Levels, learned model and posteriors of candidate pairs (left, right, CLK score).

    EM starts from the candidates whose CLK score reaches `clk_threshold`.
    """
    left, right, clk_score = pairs
    found = FamilyCandidates(values, starts, left, right, clk_score >= clk_threshold)
    return score_families(layout, [found], np.zeros((1, len(layout.entries)), dtype=bool))[0]


@dataclass(frozen=True, slots=True, repr=False)
class FamilyCandidates:
    """One salt family's encodings (rows by agency) and candidate pairs, with EM's start."""

    values: npt.NDArray[np.uint64]
    starts: npt.NDArray[np.int64]  # first row of each agency
    left: npt.NDArray[np.int64]
    right: npt.NDArray[np.int64]
    # Candidates taken as matches in EM's first round; None: `scoring.agreement_start`.
    start: npt.NDArray[np.bool_] | None


def score_families(
    layout: ComparisonLayout,
    families: Sequence[FamilyCandidates],
    shared: npt.NDArray[np.bool_],
) -> list[FieldScores]:
    """Levels, models learned together (`scoring.fit_families`) and posteriors per family.

    Args:
        layout: One family's comparison layout (the same in every family).
        families: Each family's encodings and candidates.
        shared: families x comparisons: where matches' levels are pooled over families.
    """
    plan = LevelPlan.of(layout)
    inputs = []
    for found in families:
        random_left, random_right = random_pairs(found.starts, len(found.values))
        inputs.append(
            FamilyPairs(
                levels=pair_levels(plan, found.values, found.left, found.right),
                random_levels=pair_levels(plan, found.values, random_left, random_right),
                start=found.start,
            )
        )
    return learned_scores(plan, inputs, shared)


def learned_scores(
    plan: LevelPlan, families: Sequence[FamilyPairs], shared: npt.NDArray[np.bool_]
) -> list[FieldScores]:
    """Models learned together on the families' levels, and each family's scores."""
    models = fit_families(plan, [family.patterns(plan) for family in families], shared)
    out = []
    for family, model in zip(families, models, strict=True):
        weight = model.match_weight(family.levels)
        out.append(
            FieldScores(
                model=model, levels=family.levels, weight=weight, posterior=posterior(weight)
            )
        )
    return out
