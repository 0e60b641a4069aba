"""Candidate pairs a large salted run scores below its floor: counted, not held pair by pair.

What: in a run with more than `PRUNE_OVER` candidate pairs (counted with repeats over the
salt families), a family's pairs whose posterior is below `PRUNE_FLOOR` are not expanded
into the per-pair arrays the run keeps (record rows, posteriors, weights, sort orders:
`engine._family_scores`). They stay in their family's compact arrays (three int32 a
pair, `group_tasks.FamilyLevels`), and the run asks of them only what it needs:

- their number and posterior sum, for the label-free estimates (`PosteriorProfile`);
- their weights, for the report's weight histogram;
- the scores of those whose two records end up in one larger component, for the
  coherence check (`grouping`): scanned family by family, a chunk at a time, once the
  components are known.

Why: at 10,000,000 records a side the hardened FEBRL schema's families gave 157.9 million
candidate pairs on recombined FEBRL sides (215.6 million on near-twin copies), most of
them people who share a salt group (a date of birth and a coarse name key) and little
else. Expanded, they took about 275 bytes a pair in the caller: 59 GB for the 215.6
million, and the run was killed at 23.7 GB. Below
the floor a pair cannot be linked (the threshold is never below `MIN_POSTERIOR`, nor
below a threshold the run is given), so only the estimates change, and by little: a pair
below the floor in several families counts once in each, and a pair kept in one family
also counts the lower scores it had in others; both add posteriors below the floor to the
estimates' denominator. Runs of up to `PRUNE_OVER` pairs keep every pair (floor 0):
their hits and estimates are exactly what they were.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from linkage.match.fields import FieldScores
from linkage.match.group_tasks import FamilyLevels
from linkage.match.grouping import ScoredPairs
from linkage.match.scoring import MIN_POSTERIOR, PosteriorTail

PRUNE_OVER = 20_000_000  # candidate pairs (with repeats) above which the floor applies
PRUNE_FLOOR = 0.01  # posterior below which a pair is counted, not held
SCAN_PAIRS = 1 << 24  # pairs looked at together when the components ask (bounds memory)


def floor_for(pairs: int, threshold: float | None) -> float:
    """The run's floor: 0 (keep all) up to `PRUNE_OVER` pairs, else `PRUNE_FLOOR`.

    Never above a threshold the run is given, nor above `MIN_POSTERIOR`.
    """
    if pairs <= PRUNE_OVER:
        return 0.0
    return min(PRUNE_FLOOR, MIN_POSTERIOR, threshold if threshold is not None else 1.0)


@dataclass(frozen=True, slots=True, repr=False)
class BelowFloor:
    """The pairs each family scored below the floor, in its compact arrays."""

    families: Sequence[FamilyLevels]
    scores: Sequence[FieldScores]  # a row per level pattern
    floor: float

    def tail(self) -> PosteriorTail:
        """How many pairs are below the floor and their posteriors' sum."""
        pairs, total = 0, 0.0
        for found, scores, below in self._each():
            counts = found.levels.counts[below]
            pairs += int(counts.sum())
            total += float(counts @ scores.posterior[below])
        return PosteriorTail(pairs=pairs, posterior_sum=total)

    def weights(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """The weights below the floor, a value per pattern, and how many pairs have each."""
        found = list(self._each())
        if not found:
            return np.zeros(0), np.zeros(0)
        weight = np.concatenate([scores.weight[below] for _, scores, below in found])
        pairs = np.concatenate([f.levels.counts[below] for f, _, below in found])
        return weight, pairs

    def inside(self, component: npt.NDArray[np.int64], big: npt.NDArray[np.bool_]) -> ScoredPairs:
        """The pairs below the floor whose records are both in one `big` component.

        Records are pool rows (left, right, posterior); a pair may appear once per family
        that scored it.
        """
        lefts, rights, scored = [], [], []
        for found, scores, below in self._each():
            for start in range(0, len(found.pattern), SCAN_PAIRS):
                pattern = found.pattern[start : start + SCAN_PAIRS]
                left = found.rows[found.left[start : start + SCAN_PAIRS]]
                right = found.rows[found.right[start : start + SCAN_PAIRS]]
                at = component[left]
                hit = np.flatnonzero(below[pattern] & big[at] & (at == component[right]))
                lefts.append(left[hit])
                rights.append(right[hit])
                scored.append(scores.posterior[pattern[hit]])
        if not lefts:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty.copy(), np.zeros(0)
        return np.concatenate(lefts), np.concatenate(rights), np.concatenate(scored)

    def _each(
        self,
    ) -> Sequence[tuple[FamilyLevels, FieldScores, npt.NDArray[np.bool_]]]:
        # Per family with any, which of its level patterns are below the floor.
        each = [
            (found, scores, scores.posterior < self.floor)
            for found, scores in zip(self.families, self.scores, strict=True)
        ]
        return [(found, scores, below) for found, scores, below in each if below.any()]


def best_of(pairs: ScoredPairs) -> ScoredPairs:
    """Each (left, right) once, with its highest score."""
    left, right, score = pairs
    if not len(left):
        return pairs
    order = np.lexsort((-score, right, left))
    left, right, score = left[order], right[order], score[order]
    first = np.ones(len(left), dtype=bool)
    first[1:] = (left[1:] != left[:-1]) | (right[1:] != right[:-1])
    return left[first], right[first], score[first]
