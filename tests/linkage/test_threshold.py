from pathlib import Path

import numpy as np
import pytest

from keys import LinkageSecret, ReferenceKey
from linkage.agency import encode_csv, read_refmap
from linkage.batch import read_batch
from linkage.evaluate import evaluate
from linkage.match.engine import match_batches
from linkage.match.threshold import ScoreProfile, pooled
from linkage.schema import load_schema
from linkage.synth import generate


def test_threshold_chosen_without_labels_links_the_synthetic_agencies_well(
    tmp_path: Path,
) -> None:
    generate(tmp_path, persons=400, seed=11)
    secret = LinkageSecret(project="threshold", value=bytes(range(32)))
    batches, refmaps = [], {}
    for agency in ("gemeente", "politie", "fiu", "kmar"):
        key = ReferenceKey(agency=agency, value=bytes(32))
        summary = encode_csv(
            tmp_path / f"{agency}.csv",
            schema=load_schema(),
            secret=secret,
            ref_key=key,
            out=tmp_path / f"{agency}.arrow",
        )
        batches.append(read_batch(summary.batch_path))
        refmaps[agency] = read_refmap(summary.refmap_path)

    hits, report = match_batches(batches)
    quality = evaluate(hits, tmp_path / "truth.csv", refmaps)

    # A posterior cut: never below even odds, and short of certainty.
    assert 0.5 <= report.threshold < 1.0
    assert quality.pair_f1 >= 0.9
    assert quality.group_precision >= 0.95
    assert report.estimated_precision is not None
    assert abs(report.estimated_precision - quality.pair_precision) < 0.15


def profile(
    found: list[float],
    pairs: list[float],
    *,
    chance: list[float] | None = None,
    extra: list[float] | None = None,
    records: int = 100,
) -> ScoreProfile:
    zeros = [0.0] * len(found)
    return ScoreProfile(
        records=records,
        thresholds=np.array([0.5, 0.6, 0.7][: len(found)]),
        found=np.array(found),
        extra=np.array(extra or zeros),
        chance=np.array(chance or zeros),
        pairs=np.array(pairs),
        histogram=np.zeros(50),
    )


def test_best_links_without_chance_links_are_all_true() -> None:
    counts = profile([40.0, 40.0, 40.0], [40.0, 40.0, 40.0])

    assert counts.estimate(0.6) == pytest.approx((1.0, 1.0))


def test_chance_links_lower_the_expected_precision() -> None:
    # at 0.5: 300 records found, 400 pairs, 300 of them chance links; at 0.6: clean
    counts = profile([300.0, 100.0], [400.0, 100.0], chance=[300.0, 0.0], records=1000)

    low, high = counts.estimate(0.5), counts.estimate(0.6)

    assert low[0] < 0.5
    assert high == pytest.approx((1.0, 1.0))


def test_second_records_of_one_person_count_as_true_links() -> None:
    counts = profile([50.0], [80.0], extra=[30.0])

    assert counts.estimate(0.5) == pytest.approx((1.0, 1.0))


def test_the_threshold_is_the_emptiest_stretch_between_chance_and_matches() -> None:
    histogram = np.array([90, 60, 30, 10, 4, 1, 0, 0, 1, 3, 8, 20, 40, 60, 50, 30], float)
    counts = ScoreProfile(
        records=100,
        thresholds=np.array([0.6]),
        found=np.zeros(1),
        extra=np.zeros(1),
        chance=np.zeros(1),
        pairs=np.zeros(1),
        histogram=histogram,
    )

    assert 0.64 <= counts.threshold() <= 0.69


def test_pooling_adds_counts_on_the_common_grid() -> None:
    one = profile([4.0, 2.0], [5.0, 2.0], records=10)
    two = ScoreProfile(
        records=10,
        thresholds=np.array([0.6]),
        found=np.array([3.0]),
        extra=np.array([0.0]),
        chance=np.array([1.0]),
        pairs=np.array([3.0]),
        histogram=np.ones(40),
    )

    both = pooled([one, two])

    assert both.records == 20
    assert both.thresholds.tolist() == [0.6]
    assert both.found.tolist() == [5.0]
    assert both.chance.tolist() == [1.0]
    assert both.pairs.tolist() == [5.0]


def test_similarities_spread_every_pair_of_the_sample_over_the_grid() -> None:
    # 100 best links reach 0.5, 70 reach 0.6, 20 reach 0.7; 10 more pairs reach 0.6 by chance
    counts = profile([100.0, 70.0, 20.0], [110.0, 80.0, 20.0], chance=[10.0, 10.0, 0.0])

    grid, pairs = counts.similarities()

    assert grid.tolist() == pytest.approx([0.5, 0.6, 0.7])
    assert pairs.tolist() == pytest.approx([30.0, 60.0, 20.0])
