import numpy as np
import pytest

from linkage.match import blocking
from linkage.match.blocking import BandPlan, lsh_pairs, plan_bands, share_a_band
from linkage.match.dice import DicePairs, dice_pairs


def planted(rows: int, *, fill: float = 0.35, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two random sides; the first tenth of `right` are noisy copies of `left`'s."""
    rng = np.random.default_rng(seed)
    left = rng.random((rows, 1024)) < fill
    right = rng.random((rows, 1024)) < fill
    for index in range(rows // 10):
        row = left[index].copy()
        flips = int(rng.integers(5, 80))
        row[rng.choice(np.flatnonzero(row), flips, replace=False)] = False
        row[rng.choice(np.flatnonzero(~row), flips, replace=False)] = True
        right[index] = row
    return (
        np.packbits(left, axis=1, bitorder="little"),
        np.packbits(right, axis=1, bitorder="little"),
    )


def as_set(pairs) -> set[tuple[int, int, float]]:
    return set(
        zip(pairs.left.tolist(), pairs.right.tolist(), pairs.score.round(12).tolist(), strict=True)
    )


def test_blocking_finds_nearly_all_pairs_of_the_full_comparison_and_nothing_else() -> None:
    left, right = planted(3000)

    full = as_set(dice_pairs(left, right, threshold=0.8))
    found, report = lsh_pairs(left, right, threshold=0.8)

    assert as_set(found) <= full
    assert len(as_set(found)) >= 0.99 * len(full)
    assert len(found) == len(as_set(found))  # no pair twice
    assert report.reduction_ratio > 0.95


def test_deduplication_reports_each_pair_once_in_order() -> None:
    left, right = planted(2000, seed=3)
    both = np.concatenate([left, right])

    found, _ = lsh_pairs(both, threshold=0.8)

    assert np.all(found.left < found.right)
    assert as_set(found) <= as_set(dice_pairs(both, threshold=0.8))
    assert len(found) >= 0.99 * len(dice_pairs(both, threshold=0.8))


def test_an_explicit_plan_is_used_and_reported() -> None:
    left, right = planted(500)

    _, report = lsh_pairs(left, right, threshold=0.8, plan=BandPlan(bands=3, hashes_per_band=5))

    assert report.plan == BandPlan(bands=3, hashes_per_band=5)
    assert report.all_pairs == 500 * 500


@pytest.mark.parametrize("threshold", [0.7, 0.8, 0.9])
def test_bigger_inputs_get_longer_bands(threshold: float) -> None:
    small, large = planted(200), planted(20000)

    plan_small = plan_bands(*small, threshold=threshold)
    plan_large = plan_bands(*large, threshold=threshold)

    assert plan_large.hashes_per_band > plan_small.hashes_per_band
    assert plan_large.bands >= plan_small.bands


def test_a_pair_is_kept_exactly_when_it_shares_a_band_and_reaches_the_threshold() -> None:
    left, right = planted(1500, seed=5)
    plan = BandPlan(bands=40, hashes_per_band=6, seed=3)
    full = dice_pairs(left, right, threshold=0.7)

    found, _ = lsh_pairs(left, right, threshold=0.7, plan=plan)
    shared = share_a_band(plan, left[full.left], right[full.right])

    assert 0 < shared.sum() < len(full)  # the check can tell both kinds apart here
    assert as_set(found) == as_set(
        DicePairs(full.left[shared], full.right[shared], full.score[shared])
    )


def test_gathering_the_bands_in_small_steps_gives_the_same_pairs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    left, right = planted(2000, seed=2)
    plan = BandPlan(bands=30, hashes_per_band=4)
    whole, whole_report = lsh_pairs(left, right, threshold=0.6, plan=plan)

    monkeypatch.setattr(blocking, "COMPACT_PAIRS", 1)
    stepwise, stepwise_report = lsh_pairs(left, right, threshold=0.6, plan=plan)

    assert len(whole) > 100
    assert stepwise_report == whole_report
    for name in ("left", "right", "score"):
        assert np.array_equal(getattr(stepwise, name), getattr(whole, name))


def test_pairs_known_to_lie_well_above_the_threshold_need_fewer_bands() -> None:
    left, right = planted(5000, seed=4)
    at_threshold = (np.array([0.8]), np.array([1.0]))
    well_above = (np.array([0.8, 0.95]), np.array([1.0, 99.0]))

    plain = plan_bands(left, right, threshold=0.8)
    same = plan_bands(left, right, threshold=0.8, found=at_threshold)
    fewer = plan_bands(left, right, threshold=0.8, found=well_above)

    assert same == plain
    assert fewer.bands < plain.bands
    assert plan_bands(left, right, threshold=0.8, found=well_above) == fewer  # deterministic


def test_longer_bands_are_taken_when_they_meet_the_reduction_target_affordably() -> None:
    records = 1_000_000
    budget = (1 - blocking.TARGET_REDUCTION) * records
    fastest = blocking._Option(hashes=8, bands=50, collisions=20.0, distinct=2 * budget)
    meeting = blocking._Option(hashes=10, bands=300, collisions=2.0, distinct=0.9 * budget)
    too_dear = blocking._Option(hashes=13, bands=1990, collisions=0.5, distinct=0.5 * budget)

    assert meeting.cost <= blocking.MAX_SLOWDOWN * fastest.cost < too_dear.cost
    assert blocking._cheapest([fastest, meeting], records) == meeting
    assert blocking._cheapest([fastest, too_dear], records) == fastest
    assert blocking._cheapest([fastest], records) == fastest


def pair_at(dice: float, ones: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two 1024-bit filters of `ones` bits each whose Dice similarity is `dice`."""
    common = round(dice * ones)
    positions = rng.permutation(1024)[: 2 * ones - common]
    left, right = np.zeros(1024, bool), np.zeros(1024, bool)
    left[positions[:ones]] = True
    right[positions[:common]] = True
    right[positions[ones:]] = True
    return (
        np.packbits(left, bitorder="little")[None, :],
        np.packbits(right, bitorder="little")[None, :],
    )


@pytest.mark.parametrize("ones", [60, 200, 450])
def test_a_pair_shares_a_band_as_often_as_its_dice_says_however_full_its_filters(
    ones: int,
) -> None:
    # MinHash: a band of r collides with probability J^r, J = s / (2 - s), whatever the
    # fill; bit sampling found heavy filters at the threshold less often than light ones.
    rng = np.random.default_rng(ones)
    left, right = pair_at(0.8, ones, rng)
    plan = BandPlan(bands=1, hashes_per_band=2)
    shared = [
        share_a_band(BandPlan(bands=1, hashes_per_band=2, seed=seed), left, right)[0]
        for seed in range(3000)
    ]
    expected = blocking.band_hit(0.8, plan.hashes_per_band)  # 0.444

    assert np.mean(shared) == pytest.approx(expected, abs=4 * np.sqrt(expected / 3000))


def test_empty_filters_are_never_candidates() -> None:
    left, right = planted(300, seed=6)
    left[:20], right[:20] = 0, 0

    rows, cols = blocking.band_candidates(BandPlan(bands=1, hashes_per_band=1), left, right, 0)

    assert len(rows) > 0
    assert not np.any(rows < 20) and not np.any(cols < 20)
    nothing, report = lsh_pairs(left[:20], right[:20], threshold=0.8)  # planned on them
    assert len(nothing) == 0 and report.candidates == 0


def test_the_plan_estimates_the_candidates_it_will_make() -> None:
    left, right = planted(6000, fill=0.4, seed=8)
    plan = plan_bands(left, right, threshold=0.8)
    sample = blocking._PairSample.of(left, right, plan.seed)
    codes = [
        rows * len(right) + cols
        for rows, cols in (
            blocking.band_candidates(plan, left, right, band) for band in range(plan.bands)
        )
    ]

    made = sum(map(len, codes)) / len(left)
    distinct = len(np.unique(np.concatenate(codes))) / len(left)

    assert made == pytest.approx(plan.bands * sample.per_band(plan.hashes_per_band), rel=0.2)
    assert distinct == pytest.approx(sample.distinct(plan.hashes_per_band, plan.bands), rel=0.2)
