"""Label-free recall that counts the pairs never compared: two-source capture-recapture.

What: a run's posteriors say how many of the *compared* pairs are matches, but nothing
about a person's records that shared no salt family and so were never compared; an
estimate built on posteriors alone is optimistic exactly where data are hardest (missing
dates, distorted names). Salt families that read disjoint fields are independent lines of
evidence: a pair linked through names and dates (source A) and a pair linked through a
phone or a document (source B) fail for unrelated reasons. The linked pairs seen by A, by
B and by both give the number of true pairs (Chapman's form of the Lincoln-Petersen
estimator) and so the share of them the run linked, with an interval.

Why: an analyst must know how much is missing, and where the model cannot tell (too few
pairs seen by both sources, or no independent source in the schema), it says so instead
of printing a confident number.

Assumption, stated: a true pair's chance of being linked through one source does not
depend on the other source. Where both fail together more often (a hurried registration
missing the date and the phone), two sources overestimate recall. With three sources
(names and dates, phone, document in the person schema) a log-linear model that allows
every two of them to depend on each other gives a second estimate; the lower of the two is
printed and the interval spans both. The benchmark measures how close that comes
(`benchmarks/quality_settings.py`).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

MIN_OVERLAP = 20.0  # pairs seen by both sources, below which the estimate is not given
MIN_STRATUM_OVERLAP = 10.0  # a stratum with fewer is estimated with the pooled recall
Z_95 = 1.96


@dataclass(frozen=True, slots=True)
class Coverage:
    """The estimated share of true pairs linked, with a 95% interval."""

    recall: float
    low: float
    high: float
    first: float  # linked pairs seen by source A, weighted by posterior
    second: float  # by source B
    both: float


@dataclass(frozen=True, slots=True)
class _Counts:
    first: float
    second: float
    both: float
    linked: float

    def total(self) -> tuple[float, float]:
        """Chapman's estimate of the true pairs, and its variance."""
        a, b, ab = self.first, self.second, self.both
        total = (a + 1) * (b + 1) / (ab + 1) - 1
        variance = (a + 1) * (b + 1) * (a - ab) * (b - ab) / ((ab + 1) ** 2 * (ab + 2))
        return max(total, self.linked), max(variance, 0.0)


def _counts(
    first: npt.NDArray[np.bool_],
    second: npt.NDArray[np.bool_],
    weight: npt.NDArray[np.float64],
) -> _Counts:
    return _Counts(
        first=float(weight[first].sum()),
        second=float(weight[second].sum()),
        both=float(weight[first & second].sum()),
        linked=float(weight[first | second].sum()),
    )


def estimate_coverage(
    sources: Sequence[npt.NDArray[np.float64]],
    posterior: npt.NDArray[np.float64],
    threshold: float,
    strata: npt.NDArray[np.int64] | None = None,
) -> Coverage | None:
    """Recall of the pairs at or above `threshold`, from independent sources of evidence.

    Args:
        sources: Per source (the first: the largest, names and dates), per pair its best
            posterior in a family of that source (-1: not scored there).
        posterior: Per pair, its posterior (the best over all families).
        threshold: The run's posterior cut.
        strata: Per pair, a stratum (e.g. the pair of agencies): agencies differ in how
            complete and how clean their records are, which makes the sources fail
            together across agencies; estimated stratum by stratum, the estimate does not
            mix them. A stratum with too few pairs seen by both takes the pooled recall.

    Returns:
        The estimate, or None when too few linked pairs were seen by two sources.
    """
    # A source captures a pair when it links it on its own (its best posterior there
    # reaches the threshold); each linked pair counts as its chance of being a match.
    weight = np.clip(posterior, 0.0, 1.0) * (posterior >= threshold)
    seen = [source >= threshold for source in sources]
    two = _two_sources(seen[0], np.logical_or.reduce(seen[1:]), weight, strata)
    if two is None or len(seen) != 3:
        return two
    three = _three_sources(seen, weight)
    if three is None:
        return two
    # Two models of how the sources depend on each other: where they disagree, the lower
    # recall is printed and the interval spans both.
    return replace(
        two,
        recall=min(two.recall, three),
        low=min(two.low, three),
        high=max(two.high, three),
    )


def _three_sources(
    seen: Sequence[npt.NDArray[np.bool_]], weight: npt.NDArray[np.float64]
) -> float | None:
    """Recall from three sources, every two-way dependence allowed (log-linear model)."""
    cells = {}
    for a in (0, 1):
        for b in (0, 1):
            for c in (0, 1):
                mask = (seen[0] == a) & (seen[1] == b) & (seen[2] == c)
                cells[a, b, c] = float(weight[mask].sum())
    denominator = cells[1, 1, 0] * cells[1, 0, 1] * cells[0, 1, 1]
    if min(cells[1, 1, 1], denominator) <= 0:
        return None
    unseen = cells[1, 1, 1] * cells[1, 0, 0] * cells[0, 1, 0] * cells[0, 0, 1] / denominator
    linked = float(weight.sum())
    return linked / (linked + unseen)


def _two_sources(
    in_first: npt.NDArray[np.bool_],
    in_second: npt.NDArray[np.bool_],
    weight: npt.NDArray[np.float64],
    strata: npt.NDArray[np.int64] | None,
) -> Coverage | None:
    """Chapman's estimate, stratum by stratum, with its 95% interval."""
    pooled = _counts(in_first, in_second, weight)
    if pooled.both < MIN_OVERLAP:
        return None
    pooled_total, _ = pooled.total()
    pooled_recall = pooled.linked / pooled_total
    total, variance = 0.0, 0.0
    for stratum in np.unique(strata) if strata is not None else [None]:
        mine = np.ones(len(weight), bool) if stratum is None else strata == stratum
        counts = _counts(in_first & mine, in_second & mine, weight * mine)
        if counts.both >= MIN_STRATUM_OVERLAP:
            part, part_variance = counts.total()
        else:
            part, part_variance = counts.linked / pooled_recall, 0.0
        total += part
        variance += part_variance
    spread = Z_95 * math.sqrt(variance)
    linked = pooled.linked
    return Coverage(
        recall=min(1.0, linked / max(total, linked)),
        low=min(1.0, linked / max(total + spread, linked)),
        high=min(1.0, linked / max(total - spread, linked)),
        first=pooled.first,
        second=pooled.second,
        both=pooled.both,
    )
