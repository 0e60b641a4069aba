"""Choosing the Dice threshold without labels, and estimating precision and recall.

Take a sample of records on one side and compare each with every record on the other.
Two things are counted at every threshold t:

* found(t): sampled records whose best similarity reaches t;
* pairs(t): all (record, other) pairs reaching t.

Unrelated pairs reaching t are rare and nearly independent, so the number a record has is
close to Poisson with mean lambda(t) = (pairs(t) - M(t)) / n, where M(t) is the number of
records whose true counterpart reaches t. A record without a counterpart then reaches t by
chance with probability 1 - exp(-lambda), which gives

    found(t) = M(t) + (n - M(t)) (1 - exp(-(pairs(t) - M(t)) / n)),

solved for M(t) by fixed-point iteration. M(t) / pairs(t) is the expected pairwise precision
and M(t) / max M the expected recall; the default threshold maximises the expected F1. The
chance level comes from the data itself (as Fellegi-Sunter "u" probabilities estimated from
random pairs), not from a model of what matches look like. Nothing needs a labelled pair.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from linkage.match.dice import dice_pairs

SAMPLE_RECORDS = 2000
RANDOM_PAIRS = 20_000
GRID = np.round(np.arange(0.30, 0.996, 0.005), 3)


@dataclass(frozen=True, slots=True)
class ScoreProfile:
    """Counts of a sample on a grid of thresholds: records found and pairs reaching each."""

    records: int
    thresholds: npt.NDArray[np.float64]
    found: npt.NDArray[np.float64]  # sampled records whose best score reaches the threshold
    pairs: npt.NDArray[np.float64]  # pairs reaching the threshold

    def true_links(self) -> npt.NDArray[np.float64]:
        """Expected records whose true counterpart reaches each threshold."""
        links = np.zeros_like(self.found)
        size = max(self.records, 1)
        for _ in range(50):
            chance = 1.0 - np.exp(-np.maximum(self.pairs - links, 0.0) / size)
            links = np.clip(
                (self.found - size * chance) / np.maximum(1.0 - chance, 1e-12), 0.0, self.found
            )
        return links

    def estimate(self, threshold: float) -> tuple[float, float]:
        """Expected (precision, recall) of links at or above `threshold`."""
        index = int(np.searchsorted(self.thresholds, threshold - 1e-9))
        index = min(index, len(self.thresholds) - 1)
        links = self.true_links()
        total = float(links.max(initial=0.0))
        pairs = float(self.pairs[index])
        precision = float(links[index] / pairs) if pairs else 1.0
        return precision, float(links[index] / total) if total else 0.0

    def threshold(self) -> float:
        """The threshold of highest expected F1."""
        links = self.true_links()
        total = links.max(initial=0.0)
        if total <= 0:
            return float(self.thresholds[-1])
        precision = np.divide(links, self.pairs, out=np.ones_like(links), where=self.pairs > 0)
        recall = links / total
        f1 = np.divide(
            2 * precision * recall,
            precision + recall,
            out=np.zeros_like(recall),
            where=precision + recall > 0,
        )
        return float(self.thresholds[int(np.argmax(f1))])


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
    best = np.zeros(len(rows))
    np.maximum.at(best, pairs.left, pairs.score)
    grid = GRID[floor <= GRID]
    found = (best[None, :] >= grid[:, None]).sum(axis=1).astype(np.float64)
    counted = np.searchsorted(np.sort(pairs.score), grid, side="left")
    return ScoreProfile(
        records=len(rows),
        thresholds=grid,
        found=found,
        pairs=(len(pairs) - counted).astype(np.float64),
    )


def chance_floor(
    left: npt.NDArray[np.uint8], right: npt.NDArray[np.uint8], *, rng: np.random.Generator
) -> float:
    """A similarity that random pairs exceed about once in a thousand (at least 0.3).

    Comparing the sample against the other side only above this floor keeps the pair count
    small whatever the filters' fill, while chance pairs above it are still counted.
    """
    a = left[rng.integers(0, len(left), RANDOM_PAIRS)]
    b = right[rng.integers(0, len(right), RANDOM_PAIRS)]
    common = np.unpackbits(a & b, axis=1).sum(axis=1)
    total = np.unpackbits(a, axis=1).sum(axis=1) + np.unpackbits(b, axis=1).sum(axis=1)
    dice = np.divide(2.0 * common, total, out=np.zeros(len(total)), where=total > 0)
    return float(max(0.3, np.round(np.quantile(dice, 0.999), 3)))


def pooled(profiles: list[ScoreProfile]) -> ScoreProfile:
    """One profile from several (one per pair of agencies), on their common grid."""
    grid = max((p.thresholds for p in profiles), key=lambda g: float(g[0]))
    return ScoreProfile(
        records=sum(p.records for p in profiles),
        thresholds=grid,
        found=sum((_on(p, grid, p.found) for p in profiles), np.zeros(len(grid))),
        pairs=sum((_on(p, grid, p.pairs) for p in profiles), np.zeros(len(grid))),
    )


def _on(
    profile: ScoreProfile, grid: npt.NDArray[np.float64], values: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    return values[np.searchsorted(profile.thresholds, grid - 1e-9)]
