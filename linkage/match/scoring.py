"""Fellegi-Sunter scoring of candidate pairs, with weights learned without labels.

Each comparison level l of comparison c has a probability m[c, l] among pairs of one
person and u[c, l] among unrelated pairs; a pair's match weight is the sum over its
comparisons of log2(m / u) (Fellegi and Sunter 1969), and "missing" counts 0 whatever
the other side holds. With the prior share of matches, the weight gives a posterior.

* u comes from random pairs of records of different agencies (seeded, so runs repeat):
  almost all of them are unrelated, so their level frequencies are the chance rates.
  Plain EM would estimate u on the candidate pairs too, and as those were chosen for
  looking alike it learns "shares a surname" rather than "same person".
* m and the prior come from EM on the candidate pairs with u held fixed, started from the
  pairs that the record-level similarity already links.

The threshold is chosen without labels too: the posterior cut that maximises the model's
expected F1 over the candidates, never below 0.5. Expected precision at a cut is the mean
posterior of the pairs above it; expected recall is their posterior sum over all.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from linkage.match.levels import AGREED_LEVELS, LEVEL_NAMES, MAX_LEVELS, LevelPlan

EM_ROUNDS = 200
EM_TOLERANCE = 1e-7
RANDOM_PAIRS = 200_000
MIN_POSTERIOR = 0.5  # never link a pair the model thinks more likely unrelated
_PSEUDO = 0.5  # pseudo-count per level: no level is impossible
_PACKED_COLUMNS = 27  # 5**27 < 2**63: level patterns of up to 27 comparisons fit an int64


@dataclass(frozen=True, slots=True)
class FieldModel:
    """Learned level probabilities of the three classes and their shares among candidates.

    Classes: matches (m), related or alike non-matches (r: relatives, namesakes, one
    household), chance (u, fixed from random pairs). Weights in bits are log2(m / u).
    """

    plan: LevelPlan
    m: npt.NDArray[np.float64]  # comparisons x MAX_LEVELS (level 0, missing, unused)
    r: npt.NDArray[np.float64]
    u: npt.NDArray[np.float64]
    shares: tuple[float, float, float]  # matches, related, chance among the candidates
    rounds: int

    @property
    def prior(self) -> float:
        """Share of the candidate pairs that are matches."""
        return self.shares[0]

    @property
    def weights(self) -> npt.NDArray[np.float64]:
        """log2(m / u) per comparison and level; 0 for missing and for unused levels."""
        return _log_ratio(self.m, self.u)

    def class_logs(self, levels: npt.NDArray[np.int8]) -> npt.NDArray[np.float64]:
        """Natural log of share x likelihood of each pair under each class: pairs x 3."""
        return np.stack(
            [
                np.log(share) + _sum_weights(_log(table), levels)
                for share, table in zip(self.shares, (self.m, self.r, self.u), strict=True)
            ],
            axis=1,
        )

    def match_weight(self, levels: npt.NDArray[np.int8]) -> npt.NDArray[np.float64]:
        """Log2-odds of a match against both other classes, per pair."""
        patterns, inverse = level_patterns(levels)
        return self.pattern_weight(patterns)[inverse]

    def pattern_weight(self, levels: npt.NDArray[np.int8]) -> npt.NDArray[np.float64]:
        """`match_weight` of rows taken one by one (distinct patterns: no sorting)."""
        logs = self.class_logs(levels)
        rest = np.logaddexp(logs[:, 1], logs[:, 2])
        bits: npt.NDArray[np.float64] = (logs[:, 0] - rest) / np.log(2.0)
        return bits

    def class_rows(self) -> list[tuple[str, str, float, float, float]]:
        """(comparison, level, m, r, u) for every level but missing: what explains a link."""
        out = []
        for index, entry in enumerate(self.plan.layout.entries):
            for level, name in enumerate(LEVEL_NAMES[entry.method][1:], 1):
                out.append(
                    (
                        entry.name,
                        name,
                        float(self.m[index, level]),
                        float(self.r[index, level]),
                        float(self.u[index, level]),
                    )
                )
        return out

    def rows(self) -> list[tuple[str, str, float, float, float]]:
        """(comparison, level, m, u, weight) for every level but missing: a printable table."""
        out = []
        weights = self.weights
        for index, entry in enumerate(self.plan.layout.entries):
            for level, name in enumerate(LEVEL_NAMES[entry.method][1:], 1):
                m, u = float(self.m[index, level]), float(self.u[index, level])
                out.append((entry.name, name, m, u, float(weights[index, level])))
        return out


def _log(table: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    logs: npt.NDArray[np.float64] = np.log(np.where(table > 0, table, 1.0))
    return logs


def _log_ratio(
    top: npt.NDArray[np.float64], bottom: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    out = np.zeros_like(top)
    used = (top > 0) & (bottom > 0)
    out[used] = np.log2(top[used] / bottom[used])
    out[:, 0] = 0.0
    return out


def posterior(weight: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Posterior probability of a match from a match weight in bits."""
    result: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp2(-np.clip(weight, -1000, 1000)))
    return result


def _sum_weights(
    table: npt.NDArray[np.float64], levels: npt.NDArray[np.int8]
) -> npt.NDArray[np.float64]:
    flat = levels.astype(np.int64) + MAX_LEVELS * np.arange(levels.shape[1])
    summed: npt.NDArray[np.float64] = table.ravel()[flat].sum(axis=1)
    return summed


def level_counts(
    levels: npt.NDArray[np.int8], weight: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Weighted level counts, missing left out; comparisons x levels."""
    columns = levels.shape[1]
    flat = (levels.astype(np.int64) + MAX_LEVELS * np.arange(columns)).ravel()
    weights = np.repeat(np.asarray(weight, dtype=np.float64), columns)
    counts = np.bincount(flat, weights=weights, minlength=columns * MAX_LEVELS).astype(np.float64)
    counts = counts.reshape(columns, MAX_LEVELS)
    counts[:, 0] = 0.0
    return counts


def smoothed(counts: npt.NDArray[np.float64], plan: LevelPlan) -> npt.NDArray[np.float64]:
    """Level frequencies from level counts, with a pseudo-count on every real level."""
    real = np.arange(MAX_LEVELS)[None, :] < plan.level_counts[:, None]
    counts = np.where(real, counts + _PSEUDO, 0.0)
    counts[:, 0] = 0.0
    totals = counts.sum(axis=1, keepdims=True)
    frequencies: npt.NDArray[np.float64] = counts / np.maximum(totals, 1e-300)
    return frequencies


def level_frequencies(
    levels: npt.NDArray[np.int8], weight: npt.NDArray[np.float64], plan: LevelPlan
) -> npt.NDArray[np.float64]:
    """Weighted level frequencies among non-missing values, smoothed; comparisons x levels."""
    return smoothed(level_counts(levels, weight), plan)


def fit(
    plan: LevelPlan,
    levels: npt.NDArray[np.int8],
    random_levels: npt.NDArray[np.int8],
    start: npt.NDArray[np.bool_],
) -> FieldModel:
    """Learn m, r and the class shares by EM on candidate pairs, with u from random pairs.

    Three classes, not two (Winkler 1993, for census households): candidates were chosen
    for looking alike, so besides matches and chance pairs they hold relatives and
    namesakes, who agree on surname, address and phone together. With only two classes
    and fixed u, EM must call them matches; a class of their own takes them.

    Args:
        plan: The comparisons.
        levels: Levels of the candidate pairs.
        random_levels: Levels of random cross-agency pairs (for u).
        start: The candidates taken as matches in the first round (from the CLK score).

    Returns:
        The fitted model.
    """
    none = np.zeros((1, len(plan.layout.entries)), dtype=bool)
    return fit_families(plan, [FamilyPairs(levels, random_levels, start).patterns(plan)], none)[0]


@dataclass(frozen=True, slots=True, repr=False)
class LevelPatterns:
    """One salt family's (or a whole run's) candidates as what EM reads of them.

    EM sees a candidate only through its level pattern, so a family's candidates are its
    distinct patterns (in `level_patterns` order), how many pairs show each, and the
    share of those that start as matches; the random pairs' levels give u.
    """

    patterns: npt.NDArray[np.int8]  # distinct level patterns, one row each
    counts: npt.NDArray[np.float64]  # pairs per pattern
    start: npt.NDArray[np.float64]  # per pattern, the share of its pairs EM starts as matches
    random_levels: npt.NDArray[np.int8]  # of random cross-agency pairs: u


@dataclass(frozen=True, slots=True, repr=False)
class FamilyPairs:
    """One salt family's (or a whole run's) candidate levels, random levels and EM start."""

    levels: npt.NDArray[np.int8]
    random_levels: npt.NDArray[np.int8]  # of random cross-agency pairs: u
    # The candidates taken as matches in the first round; None: `agreement_start`.
    start: npt.NDArray[np.bool_] | None

    def patterns(self, plan: LevelPlan) -> LevelPatterns:
        """The pairs as EM reads them: distinct patterns, counts and starting shares."""
        patterns, inverse = level_patterns(self.levels)
        counts = np.bincount(inverse, minlength=len(patterns)).astype(np.float64)
        if self.start is None:
            share = agreement_start(plan, patterns, self.random_levels)
        else:
            started = np.bincount(inverse, weights=self.start, minlength=len(patterns))
            share = started / np.maximum(counts, 1.0)
        return LevelPatterns(patterns, counts, share, self.random_levels)


def fit_families(
    plan: LevelPlan, families: Sequence[LevelPatterns], shared: npt.NDArray[np.bool_]
) -> list[FieldModel]:
    """EM over several salt families at once, matches' levels pooled where the salt is silent.

    Each family has its own classes and shares (its salt decides who meets whom), but a
    true match's errors do not depend on which salt brought the pair together: a date of
    birth is mistyped as often between records that share a phone as between records that
    share a document number. So where a family's salt does not read a comparison's field
    (`shared[f, c]`), that comparison's m is one estimate pooled over all such families.
    Alone, a family whose candidates are nearly all matches (one document number) cannot
    tell a true match with a rare error from a relative, and its related class takes
    them; pooled, the evidence of every family decides. A comparison the salt reads (the
    date in a family salted by the date) keeps the family's own m: there it agrees by
    construction.

    Args:
        plan: The comparisons (the same layout in every family).
        families: Per family, its pairs' level patterns, random pairs' levels and EM start.
        shared: families x comparisons: True where the family's salt does not read it.

    Returns:
        One fitted model per family, in order.
    """
    found = [(family.patterns, family.counts) for family in families]
    us = [level_frequencies(f.random_levels, np.ones(len(f.random_levels)), plan) for f in families]
    guesses = []
    for family in families:
        first = np.clip(family.start, 0.05, 0.95)
        guesses.append(np.stack([first, 0.9 * (1.0 - first), 0.1 * (1.0 - first)], axis=1))
    models = _m_steps(plan, found, guesses, us, shared, 0)
    if not any(len(patterns) for patterns, _ in found):  # nothing to learn m from
        return models
    for round_number in range(1, EM_ROUNDS + 1):
        models = _m_steps(plan, found, guesses, us, shared, round_number)
        change, updated = 0.0, []
        for model, (patterns, _), guess in zip(models, found, guesses, strict=True):
            if not len(patterns):
                updated.append(guess)
                continue
            logs = model.class_logs(patterns)
            posterior = np.exp(logs - np.logaddexp.reduce(logs, axis=1, keepdims=True))
            change = max(change, float(np.abs(posterior - guess).max()))
            updated.append(posterior)
        if change < EM_TOLERANCE:
            break
        guesses = updated
    return models


def level_patterns(
    levels: npt.NDArray[np.int8],
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int32]]:
    """The distinct rows of `levels` in one fixed order, and each pair's row among them.

    The order depends on the patterns alone, so tables made from parts of a family's
    pairs merge into the table of the whole (`group_tasks`): EM sums over patterns in
    this order and gives the same model either way.
    """
    if not len(levels):
        return levels, np.zeros(0, np.int32)
    if levels.shape[1] > _PACKED_COLUMNS:
        patterns, inverse = np.unique(levels, axis=0, return_inverse=True)
        return patterns, inverse.reshape(-1).astype(np.int32)
    # One int64 per pair (base MAX_LEVELS digits): sorting numbers beats sorting rows.
    radix = MAX_LEVELS ** np.arange(levels.shape[1], dtype=np.int64)
    _, first, inverse = np.unique(
        levels.astype(np.int64) @ radix, return_index=True, return_inverse=True
    )
    return levels[first], inverse.reshape(-1).astype(np.int32)


def _m_steps(
    plan: LevelPlan,
    found: Sequence[tuple[npt.NDArray[np.int8], npt.NDArray[np.float64]]],
    guesses: Sequence[npt.NDArray[np.float64]],
    us: Sequence[npt.NDArray[np.float64]],
    shared: npt.NDArray[np.bool_],
    rounds: int,
) -> list[FieldModel]:
    """Every family's model from its guesses, m pooled over the families where shared."""
    own = [
        level_counts(patterns, guess[:, 0] * counts)
        for (patterns, counts), guess in zip(found, guesses, strict=True)
    ]
    pooled = np.zeros_like(own[0])
    for family, counts in enumerate(own):
        pooled += np.where(shared[family][:, None], counts, 0.0)
    models = []
    for family, ((patterns, counts), guess) in enumerate(zip(found, guesses, strict=True)):
        total = counts.sum()
        shares = counts @ guess / total if total else np.full(3, 1 / 3)
        shares = np.clip(shares, 1e-9, 1.0)
        models.append(
            FieldModel(
                plan=plan,
                m=smoothed(np.where(shared[family][:, None], pooled, own[family]), plan),
                r=_related(
                    level_frequencies(patterns, guess[:, 1] * counts, plan), us[family], plan
                ),
                u=us[family],
                shares=(float(shares[0]), float(shares[1]), float(shares[2])),
                rounds=rounds,
            )
        )
    return models


START_AGREEMENT = 0.9  # EM's first m: this share of matches on each comparison's top level


def agreement_start(
    plan: LevelPlan, patterns: npt.NDArray[np.int8], random_levels: npt.NDArray[np.int8]
) -> npt.NDArray[np.float64]:
    """EM's first guess of each pattern's match share, from the patterns alone.

    The posterior at even odds under a first m that puts `START_AGREEMENT` of matches on
    each comparison's top level (the rest spread over its other levels) and u from the
    random pairs: pairs that agree on much are matches, pairs that agree on little are
    not. Why not "every candidate a match" (a salt group's pairs all agree on its salt):
    once a population fills salt groups with strangers, most candidates of a family are
    strangers who share a date of birth and a coarse name key, and EM started from all of
    them as matches kept them as the match class, the true matches as the other: on
    recombined FEBRL sides of 3,000,000 records three of the seven families did so, and
    precision fell to nothing (`benchmarks/README.md`).
    """
    u = level_frequencies(random_levels, np.ones(len(random_levels)), plan)
    first = np.zeros_like(u)
    for index, levels in enumerate(plan.level_counts.tolist()):
        first[index, 1 : levels - 1] = (1.0 - START_AGREEMENT) / max(1, levels - 2)
        first[index, levels - 1] = START_AGREEMENT
    return posterior(_sum_weights(_log_ratio(first, u), patterns))


def _related(
    r: npt.NDArray[np.float64], u: npt.NDArray[np.float64], plan: LevelPlan
) -> npt.NDArray[np.float64]:
    """The related class's levels, with those of personal identifiers taken from chance.

    Relatives, namesakes and housemates share a surname, an address, a phone, even a date
    of birth (twins), but not a document number: where they agree on one, it is by
    chance. Left free, the related class learns such agreement too (in a family salted
    by the document every pair agrees on it) and takes the true matches that have an
    error elsewhere: a nickname, a surname cut short, a phone typo.
    """
    personal = np.array([entry.personal for entry in plan.layout.entries], dtype=bool)
    return np.where(personal[:, None], u, r)


def level_digits(levels: npt.NDArray[np.int8]) -> list[str]:
    """Each pair's levels as one digit per comparison, in layout order (0: missing).

    One string per distinct level pattern, shared by its pairs.
    """
    patterns, inverse = level_patterns(levels)
    text = ["".join(str(int(level)) for level in row) for row in patterns]
    return [text[i] for i in inverse.tolist()]


def agreed(plan: LevelPlan, levels: npt.NDArray[np.int8]) -> list[tuple[str, ...]]:
    """For each pair, the names of the comparisons that agreed (agree, or a swapped date).

    One tuple per distinct level pattern, shared by its pairs: a million links hold a few
    thousand tuples.
    """
    agreeing = np.zeros((plan.level_counts.shape[0], MAX_LEVELS), dtype=bool)
    for index, entry in enumerate(plan.layout.entries):
        names = LEVEL_NAMES[entry.method]
        for level in AGREED_LEVELS[entry.method]:
            agreeing[index, names.index(level)] = True
    patterns, inverse = level_patterns(levels)
    flat = patterns.astype(np.int64) + MAX_LEVELS * np.arange(levels.shape[1])
    names = plan.layout.names
    shared = [tuple(names[i] for i in np.flatnonzero(row)) for row in agreeing.ravel()[flat]]
    return [shared[i] for i in inverse.tolist()]


CUTS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999)  # posterior thresholds
WEIGHT_BINS = np.arange(-40.0, 104.0, 4.0)  # match weight histogram edges, bits


def weight_histogram(
    weight: npt.NDArray[np.float64], pairs: npt.NDArray[np.float64] | None = None
) -> tuple[tuple[float, int], ...]:
    """(bin start in bits, candidate pairs) per 4-bit bin; the ends take what lies beyond.

    `pairs`: how many candidate pairs each weight stands for (default one each).
    """
    clipped = np.clip(weight, WEIGHT_BINS[0], WEIGHT_BINS[-1] - 1e-9)
    counts, _ = np.histogram(clipped, bins=WEIGHT_BINS, weights=pairs)
    counts = np.rint(counts).astype(np.int64)
    return tuple(
        (float(edge), int(count)) for edge, count in zip(WEIGHT_BINS, counts, strict=False)
    )


@dataclass(frozen=True, slots=True)
class PosteriorTail:
    """Candidate pairs scored below a run's floor and not held (`floor`).

    How many there were and their posteriors' sum: all the estimates need of them.
    """

    pairs: int = 0
    posterior_sum: float = 0.0


@dataclass(frozen=True, slots=True)
class PosteriorProfile:
    """Expected precision and recall of each posterior cut, from the model (no labels)."""

    posteriors: npt.NDArray[np.float64]  # of the candidate pairs, in decreasing order
    tail: PosteriorTail = PosteriorTail()  # pairs below every cut, not in `posteriors`

    @classmethod
    def of(
        cls, posteriors: npt.NDArray[np.float64], tail: PosteriorTail | None = None
    ) -> "PosteriorProfile":
        """The profile of the candidates' posteriors (and of those counted in `tail`)."""
        return cls(posteriors=np.sort(posteriors)[::-1].copy(), tail=tail or PosteriorTail())

    def estimate(self, threshold: float) -> tuple[float, float]:
        """Expected (precision, recall) of linking the pairs at or above `threshold`."""
        above = self.posteriors[self.posteriors >= threshold]
        total = float(self.posteriors.sum()) + self.tail.posterior_sum
        if not len(above) or total <= 0:
            return 1.0, 0.0
        return float(above.mean()), float(above.sum()) / total

    def threshold(self) -> float:
        """The cut with the highest expected F1, never below `MIN_POSTERIOR`."""
        if not len(self.posteriors):
            return MIN_POSTERIOR
        found = np.cumsum(self.posteriors)
        expected = found[-1] + self.tail.posterior_sum  # + 0.0 without a tail: exact
        f1 = 2.0 * found / (np.arange(1, len(found) + 1) + expected)
        best = float(self.posteriors[int(np.argmax(f1))])
        return round(max(MIN_POSTERIOR, min(best, 0.999)), 3)

    def cuts(self, recall_scale: float = 1.0) -> tuple[tuple[float, int, float, float], ...]:
        """(cut, pairs kept, expected precision, expected recall) at each of `CUTS`.

        `recall_scale` carries what the compared pairs miss: the run's recall over all
        pairs divided by the posteriors' own recall at its threshold (1: compared only).
        """
        out = []
        for cut in CUTS:
            precision, recall = self.estimate(cut)
            kept = int(np.count_nonzero(self.posteriors >= cut))
            out.append((cut, kept, round(precision, 6), round(recall * recall_scale, 6)))
        return tuple(out)

    def histogram(self, bins: int = 20) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """Candidate pairs per posterior bin: (bin starts, counts)."""
        counts, edges = np.histogram(self.posteriors, bins=bins, range=(0.0, 1.0))
        counts[0] += self.tail.pairs  # the tail lies below the floor, far below one bin
        return edges[:-1], counts
