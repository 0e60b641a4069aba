import json

import numpy as np
import pytest

from linkage.match.layout import LAYOUT_FORMAT, ComparisonLayout
from linkage.match.levels import LevelPlan
from linkage.match.scoring import (
    CUTS,
    MIN_POSTERIOR,
    FamilyPairs,
    PosteriorProfile,
    agreed,
    fit,
    fit_families,
    posterior,
    weight_histogram,
)

# Five comparisons: two names (bloom, 4 levels), a date (4 levels), a phone and an id.
METHODS = ["bloom", "bloom", "date", "exact", "exact"]
M = np.array(
    [
        [0.05, 0.03, 0.07, 0.85, 0.0],
        [0.04, 0.02, 0.04, 0.90, 0.0],
        [0.04, 0.04, 0.02, 0.90, 0.0],
        [0.20, 0.80, 0.0, 0.0, 0.0],
        [0.05, 0.95, 0.0, 0.0, 0.0],
    ]
)
R = np.array(  # relatives: same surname and phone, other given name and date
    [
        [0.85, 0.08, 0.04, 0.03, 0.0],
        [0.10, 0.05, 0.05, 0.80, 0.0],
        [0.85, 0.12, 0.01, 0.02, 0.0],
        [0.50, 0.50, 0.0, 0.0, 0.0],
        [0.99, 0.01, 0.0, 0.0, 0.0],
    ]
)
U = np.array(
    [
        [0.97, 0.02, 0.007, 0.003, 0.0],
        [0.96, 0.03, 0.007, 0.003, 0.0],
        [0.97, 0.029, 0.0005, 0.0005, 0.0],
        [0.999, 0.001, 0.0, 0.0, 0.0],
        [0.9995, 0.0005, 0.0, 0.0, 0.0],
    ]
)


def plan(personal: tuple[int, ...] = ()) -> LevelPlan:
    entries, offset = [], 1
    for index, method in enumerate(METHODS):
        words = {"bloom": 2, "date": 3, "exact": 1}[method]
        entry = {"name": f"c{index}", "method": method, "offset": offset, "words": words}
        if index in personal:
            entry["personal"] = True
        entries.append(entry | {"crosswise": None})
        offset += words
    document = {"format": LAYOUT_FORMAT, "words": offset, "comparisons": entries}
    return LevelPlan.of(ComparisonLayout.parse(json.dumps(document)))


def draw(rng: np.random.Generator, table: np.ndarray, count: int, missing: float) -> np.ndarray:
    """Levels 1.. drawn from each row of `table` (level 1 = column 0), some missing."""
    columns = []
    for row in table:
        real = row[row > 0]
        level = 1 + rng.choice(len(real), size=count, p=real / real.sum())
        level[rng.random(count) < missing] = 0
        columns.append(level)
    return np.stack(columns, axis=1).astype(np.int8)


@pytest.fixture(scope="module")
def simulated() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    matches, related = draw(rng, M, 6000, 0.2), draw(rng, R, 2000, 0.2)
    chance = draw(rng, U, 400, 0.2)
    levels = np.concatenate([matches, related, chance])
    truth = np.repeat([True, False, False], [6000, 2000, 400])
    return levels, draw(rng, U, 200_000, 0.2), truth


def test_em_with_fixed_u_recovers_m_and_the_share_of_matches(simulated) -> None:
    levels, random_levels, truth = simulated
    start = truth ^ (np.random.default_rng(1).random(len(truth)) < 0.2)  # a noisy first guess

    model = fit(plan(), levels, random_levels, start)

    for index, method in enumerate(METHODS):
        real = M[index][M[index] > 0]
        assert np.abs(model.m[index, 1 : 1 + len(real)] - real).max() < 0.03, method
        assert np.abs(model.u[index, 1 : 1 + len(real)] - U[index][: len(real)]).max() < 0.01
    assert model.prior == pytest.approx(6000 / 8400, abs=0.02)


def test_the_posterior_separates_matches_from_relatives(simulated) -> None:
    levels, random_levels, truth = simulated

    model = fit(plan(), levels, random_levels, truth)
    linked = posterior(model.match_weight(levels)) >= MIN_POSTERIOR

    assert (linked & truth).sum() / truth.sum() > 0.97
    assert (linked & ~truth).sum() / linked.sum() < 0.02


def test_a_missing_level_weighs_nothing(simulated) -> None:
    levels, random_levels, truth = simulated
    model = fit(plan(), levels, random_levels, truth)

    assert (model.weights[:, 0] == 0).all()
    assert model.weights[2, 4] > model.weights[0, 4] > 0  # a date counts more than a name


def test_expected_precision_and_recall_follow_the_posteriors() -> None:
    profile = PosteriorProfile.of(np.array([0.99, 0.95, 0.9, 0.6, 0.2, 0.01]))

    precision, recall = profile.estimate(0.9)

    assert precision == pytest.approx((0.99 + 0.95 + 0.9) / 3)
    assert recall == pytest.approx((0.99 + 0.95 + 0.9) / 3.65)
    assert MIN_POSTERIOR <= profile.threshold() <= 0.9
    starts, counts = profile.histogram(bins=10)
    assert counts.sum() == 6 and starts[0] == 0.0


def test_agreed_names_the_agreeing_comparisons_only() -> None:
    levels = np.array([[4, 3, 3, 2, 0], [1, 0, 2, 1, 1]], dtype=np.int8)

    assert agreed(plan(), levels) == [("c0", "c2", "c3"), ()]


def _family(
    rng: np.random.Generator, matches: int, relatives: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    levels = np.concatenate([draw(rng, M, matches, 0.05), draw(rng, R, relatives, 0.05)])
    return levels, draw(rng, U, 20_000, 0.05), np.arange(len(levels)) < matches


def test_families_pool_what_matches_look_like_where_their_salt_is_silent() -> None:
    rng = np.random.default_rng(7)
    families = [FamilyPairs(*_family(rng, 3000, 3000)), FamilyPairs(*_family(rng, 300, 10))]
    shared = np.array([[True, True, False, True, True], [True, True, False, True, True]])

    models = fit_families(plan(), [f.patterns(plan()) for f in families], shared)
    alone = [fit(plan(), f.levels, f.random_levels, f.start) for f in families]

    # Pooled comparisons: one m for both families, between what each learned alone.
    for index in (0, 1, 3, 4):
        np.testing.assert_array_equal(models[0].m[index], models[1].m[index])
    # The date (read by the salts here): each family keeps its own m.
    assert not np.array_equal(models[0].m[2], models[1].m[2])
    # The small family's m for the name now rests on 3,300 matches, not 300: closer to
    # the truth than what it learned alone.
    truth = M[0, :4] / M[0, :4].sum()
    pooled_error = np.abs(models[1].m[0, 1:5] - truth).sum()
    alone_error = np.abs(alone[1].m[0, 1:5] - truth).sum()
    assert pooled_error < alone_error


def test_the_related_class_agrees_on_a_personal_identifier_only_by_chance() -> None:
    # A family salted by the document number (c4): every pair agrees on it, and nearly all
    # are one person, some with a name or date error a relative would show too.
    rng = np.random.default_rng(11)
    matches = draw(rng, M, 3000, 0.05)
    matches[:, 4] = 2
    family = FamilyPairs(matches, draw(rng, U, 20_000, 0.05), np.ones(3000, dtype=bool))
    no = np.zeros((1, 5), dtype=bool)

    held = fit_families(plan(personal=(4,)), [family.patterns(plan(personal=(4,)))], no)[0]
    free = fit_families(plan(), [family.patterns(plan())], no)[0]

    np.testing.assert_array_equal(held.r[4], held.u[4])
    assert not np.array_equal(held.r[3], held.u[3])  # a phone is shared by households
    linked_held = posterior(held.match_weight(matches)) >= MIN_POSTERIOR
    linked_free = posterior(free.match_weight(matches)) >= MIN_POSTERIOR
    assert linked_held.mean() > 0.99
    assert linked_free.mean() < linked_held.mean()


def test_the_cuts_estimate_every_threshold_from_all_candidates() -> None:
    profile = PosteriorProfile.of(np.array([0.999, 0.99, 0.97, 0.9, 0.8, 0.6, 0.3, 0.1]))

    cuts = profile.cuts(recall_scale=0.9)

    assert [cut[0] for cut in cuts] == list(CUTS)
    kept = [cut[1] for cut in cuts]
    assert kept[0] == 6 and kept == sorted(kept, reverse=True)  # 0.5 keeps six
    precision = [cut[2] for cut in cuts if cut[1]]
    assert precision == sorted(precision)  # a higher cut keeps surer pairs
    assert cuts[0][3] == pytest.approx(0.9 * profile.estimate(0.5)[1], abs=1e-6)


def test_the_weight_histogram_counts_every_pair_the_ends_included() -> None:
    weight = np.array([-500.0, -3.0, 0.0, 1.9, 2.0, 37.0, 900.0])

    bins = weight_histogram(weight)

    assert sum(count for _, count in bins) == len(weight)
    assert bins[0][1] == 1 and bins[-1][1] == 1  # the far values fall in the end bins


def test_em_started_from_agreement_keeps_strangers_of_a_full_salt_group_apart() -> None:
    # A family salted by the date (c2): every pair agrees on it. Seven in ten candidates
    # are strangers whom the salt brought together, the rest matches.
    rng = np.random.default_rng(5)
    strangers, matches = draw(rng, U, 7000, 0.05), draw(rng, M, 3000, 0.05)
    strangers[:, 2] = matches[:, 2] = 4
    levels = np.concatenate([strangers, matches])
    random_levels = draw(rng, U, 20_000, 0.05)
    no = np.zeros((1, 5), dtype=bool)

    def linked(start: np.ndarray | None) -> np.ndarray:
        family = FamilyPairs(levels, random_levels, start)
        model = fit_families(plan(), [family.patterns(plan())], no)[0]
        return posterior(model.match_weight(levels)) >= MIN_POSTERIOR

    started = linked(None)  # `agreement_start`
    all_matches = linked(np.ones(len(levels), dtype=bool))

    assert started[7000:].mean() > 0.95 and started[:7000].mean() < 0.01
    # Started from every candidate as a match, EM took the strangers for the matches.
    assert all_matches[:7000].mean() > 0.9 and all_matches[7000:].mean() < 0.1
