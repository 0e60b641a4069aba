import numpy as np
import pytest

from linkage.match.dice import dice_pairs
from linkage.match.threshold import ScoreProfile, pooled, score_profile
from tests.linkage.test_blocking import planted


def test_threshold_falls_between_noise_and_planted_pairs_without_labels() -> None:
    left, right = planted(3000, seed=5)  # a tenth of the records have a noisy counterpart
    everything = dice_pairs(left, right, threshold=0.3)
    planted_pairs = everything.left == everything.right
    noise_top = everything.score[~planted_pairs].max()
    planted_bottom = everything.score[planted_pairs & (everything.left < 300)].min()

    profile = score_profile(left, right, sample=1000)
    threshold = profile.threshold()
    precision, recall = profile.estimate(threshold)

    assert noise_top - 0.02 < threshold < planted_bottom
    assert precision > 0.95
    assert recall > 0.95


def test_estimates_follow_the_counts() -> None:
    # 100 sampled records; 40 true counterparts reach every threshold, no chance pairs
    grid = np.array([0.5, 0.6, 0.7])
    profile = ScoreProfile(
        records=100,
        thresholds=grid,
        found=np.array([40.0, 40.0, 40.0]),
        pairs=np.array([40.0, 40.0, 40.0]),
    )

    assert profile.estimate(0.6) == pytest.approx((1.0, 1.0))
    assert profile.threshold() == 0.5


def test_chance_pairs_lower_the_expected_precision() -> None:
    grid = np.array([0.5, 0.6])
    profile = ScoreProfile(
        records=1000,
        thresholds=grid,
        found=np.array([300.0, 100.0]),
        pairs=np.array([400.0, 100.0]),
    )

    precision_low, _ = profile.estimate(0.5)
    precision_high, _ = profile.estimate(0.6)

    assert precision_low < 0.5
    assert precision_high > 0.98
    assert profile.threshold() == 0.6


def test_pooling_adds_counts_on_the_common_grid() -> None:
    one = ScoreProfile(
        records=10,
        thresholds=np.array([0.5, 0.6]),
        found=np.array([4.0, 2.0]),
        pairs=np.array([5.0, 2.0]),
    )
    two = ScoreProfile(
        records=10, thresholds=np.array([0.6]), found=np.array([3.0]), pairs=np.array([3.0])
    )

    both = pooled([one, two])

    assert both.records == 20
    assert both.thresholds.tolist() == [0.6]
    assert both.found.tolist() == [5.0]
    assert both.pairs.tolist() == [5.0]
