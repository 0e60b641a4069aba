"""Choosing the Dice threshold without labels, and estimating precision and recall.

A sample of records on one side is compared with every record on the other, and each
pair above a chance floor is put in one of three classes:

* the sampled record's best link (one per record): found(t) of them reach threshold t;
* the other record's best link but not the sampled one's: most often a second record of
  the same person (the police meet a person twice), counted as true: extra(t);
* neither end's best link: chance agreement, chance(t) of them.

Chance links are rare and nearly independent, so a record without a counterpart gets one
at t with probability c = 1 - exp(-chance(t) / n). A record's best link is true for
M(t) = (found(t) - n c) / (1 - c) records. Expected true links are M + extra; expected
pairwise precision is that over all pairs reaching t, expected recall that over its
maximum.

Known weakness: when nothing but chance separates records (unstructured filters) and the
chance floor sits at the top of the unrelated scores, the best links of records without a
counterpart on the other side land in "extra" and the threshold comes out too low. On
data with structure (FEBRL, the synthetic agencies) the estimates track the labels.

The chance rate comes from the data (as Fellegi-Sunter "u" probabilities from
unrelated pairs), not from a model of matches; nothing needs a labelled pair.

The default threshold is the antimode of the pair similarities above the chance floor: the
emptiest stretch between unrelated-but-alike records and records of one person. The floor
(median plus six robust standard deviations of random pairs, kept within 0.3-0.95) is
itself a bar: where the antimode lies below it, as on the synthetic agencies (floors
0.685-0.695), the floor decides; on FEBRL4 (floor 0.538) the antimode does (0.675).
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from linkage.match.dice import dice_pairs

SAMPLE_RECORDS = 5000  # a whole side when it is smaller: the right-best classes need it
RANDOM_PAIRS = 20_000
GRID = np.round(np.arange(0.30, 0.996, 0.005), 3)


@dataclass(frozen=True, slots=True)
class ScoreProfile:
    """Counts of a sample on a grid of thresholds (see the module docstring)."""

    records: int
    thresholds: npt.NDArray[np.float64]
    found: npt.NDArray[np.float64]
    extra: npt.NDArray[np.float64]
    chance: npt.NDArray[np.float64]
    pairs: npt.NDArray[np.float64]
    histogram: npt.NDArray[np.float64]  # pairs per 0.01 of similarity, from thresholds[0]

    def true_links(self) -> npt.NDArray[np.float64]:
        """Expected true links reaching each threshold (see the module docstring)."""
        size = max(self.records, 1)
        by_chance = 1.0 - np.exp(-self.chance / size)
        best_true = np.clip(
            (self.found - size * by_chance) / np.maximum(1.0 - by_chance, 1e-12), 0.0, self.found
        )
        links: npt.NDArray[np.float64] = best_true + self.extra
        return links

    def similarities(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """(each grid threshold, pairs of the sample from it to the next), for band planning.

        All pairs the full comparison of the sample finds, true links and alike records
        alike: pair completeness is measured against them.
        """
        per_step = np.clip(self.pairs - np.append(self.pairs[1:], 0.0), 0.0, None)
        return self.thresholds, per_step

    def estimate(self, threshold: float) -> tuple[float, float]:
        """Expected (precision, recall) of links at or above `threshold`."""
        index = min(
            int(np.searchsorted(self.thresholds, threshold - 1e-9)), len(self.thresholds) - 1
        )
        precision, recall = self._curves()
        return float(precision[index]), float(recall[index])

    def threshold(self) -> float:
        """The antimode: the least populated similarity between chance and the match mode.

        Pairs above the chance floor form two populations, unrelated records that resemble
        each other (relatives, namesakes) just above the floor and one person's records
        near the top; the threshold is the emptiest stretch between them (histogram in
        steps of 0.01, smoothed over 0.05).
        """
        window = 5 if self.histogram.sum() >= 5000 else 9  # sparse counts need more smoothing
        smooth = np.convolve(self.histogram, np.ones(window) / window, mode="same")
        if not smooth.any():
            return float(self.thresholds[-1])
        third = len(smooth) // 3
        mode = third + int(np.argmax(smooth[third:]))
        trough = smooth[: mode + 1]
        # The middle of the stretch within 10% of the mode's height of the lowest point:
        # sparse histograms have flat empty stretches, and their first bin is arbitrary.
        low = np.flatnonzero(trough <= trough.min() + 0.1 * (smooth[mode] - trough.min()))
        valley = int(np.median(low))
        return round(float(self.thresholds[0]) + 0.01 * valley, 3)

    def _curves(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        links = self.true_links()
        total = links.max(initial=0.0)
        precision = np.divide(links, self.pairs, out=np.ones_like(links), where=self.pairs > 0)
        recall = links / total if total > 0 else np.zeros_like(links)
        return np.minimum(precision, 1.0), recall


def score_profile(
    left: npt.NDArray[np.uint8],
    right: npt.NDArray[np.uint8],
    *,
    sample: int = SAMPLE_RECORDS,
    seed: int = 0,
) -> ScoreProfile:
    """Count best scores and pairs of up to `sample` left records against all of `right`."""
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(left), size=min(sample, len(left)), replace=False))
    floor = chance_floor(left, right, rng=rng)
    pairs = dice_pairs(left[rows], right, threshold=floor)
    best_left = np.zeros(len(rows))
    np.maximum.at(best_left, pairs.left, pairs.score)
    best_right = np.zeros(len(right))
    np.maximum.at(best_right, pairs.right, pairs.score)
    is_left_best = pairs.score >= best_left[pairs.left]
    is_right_best = pairs.score >= best_right[pairs.right]
    grid = GRID[floor <= GRID]
    counts, _ = np.histogram(pairs.score, bins=np.arange(grid[0], 1.0 + 1e-9, 0.01))
    return ScoreProfile(
        records=len(rows),
        thresholds=grid,
        found=_at_least(best_left[best_left > 0], grid),
        extra=_at_least(pairs.score[is_right_best & ~is_left_best], grid),
        chance=_at_least(pairs.score[~is_right_best & ~is_left_best], grid),
        pairs=_at_least(pairs.score, grid),
        histogram=counts.astype(np.float64),
    )


def _at_least(
    scores: npt.NDArray[np.float64], grid: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    ordered = np.sort(scores)
    counts: npt.NDArray[np.float64] = (
        len(ordered) - np.searchsorted(ordered, grid, side="left")
    ).astype(np.float64)
    return counts


def chance_floor(
    left: npt.NDArray[np.uint8], right: npt.NDArray[np.uint8], *, rng: np.random.Generator
) -> float:
    """A similarity well above what random pairs score (at least 0.3).

    Median plus six robust standard deviations of random pairs: robust, because among few
    records a visible share of random pairs are true matches and a plain quantile would
    land among them. Comparing the sample only above this floor keeps the pair count small
    whatever the filters' fill, while alike-but-unrelated records are still counted.
    """
    a = left[rng.integers(0, len(left), RANDOM_PAIRS)]
    b = right[rng.integers(0, len(right), RANDOM_PAIRS)]
    common = np.unpackbits(a & b, axis=1).sum(axis=1)
    total = np.unpackbits(a, axis=1).sum(axis=1) + np.unpackbits(b, axis=1).sum(axis=1)
    dice = np.divide(2.0 * common, total, out=np.zeros(len(total)), where=total > 0)
    median = float(np.median(dice))
    spread = 1.4826 * float(np.median(np.abs(dice - median)))
    return float(min(0.95, max(0.3, round(median + 6 * spread, 3))))


def pooled(profiles: list[ScoreProfile]) -> ScoreProfile:
    """One profile from several (one per pair of agencies), on their common grid."""
    grid = max((p.thresholds for p in profiles), key=lambda g: float(g[0]))

    def total(name: str) -> npt.NDArray[np.float64]:
        summed: npt.NDArray[np.float64] = np.sum(
            [_on(p, grid, getattr(p, name)) for p in profiles], axis=0
        )
        return summed

    width = min(len(p.histogram) for p in profiles)
    return ScoreProfile(
        records=sum(p.records for p in profiles),
        histogram=np.sum([p.histogram[len(p.histogram) - width :] for p in profiles], axis=0),
        thresholds=grid,
        found=total("found"),
        extra=total("extra"),
        chance=total("chance"),
        pairs=total("pairs"),
    )


def _on(
    profile: ScoreProfile, grid: npt.NDArray[np.float64], values: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    return values[np.searchsorted(profile.thresholds, grid - 1e-9)]
