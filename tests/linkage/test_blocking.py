import numpy as np
import pytest

from linkage.match.blocking import BandPlan, lsh_pairs, plan_bands
from linkage.match.dice import dice_pairs


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

    _, report = lsh_pairs(left, right, threshold=0.8, plan=BandPlan(bands=3, bits_per_band=20))

    assert report.plan == BandPlan(bands=3, bits_per_band=20)
    assert report.all_pairs == 500 * 500


@pytest.mark.parametrize("threshold", [0.7, 0.8, 0.9])
def test_bigger_inputs_get_longer_bands(threshold: float) -> None:
    small, large = planted(200), planted(20000)

    plan_small = plan_bands(*small, threshold=threshold)
    plan_large = plan_bands(*large, threshold=threshold)

    assert plan_large.bits_per_band > plan_small.bits_per_band
    assert plan_large.bands >= plan_small.bands
