"""A large salted run counts the pairs below its floor instead of holding them."""

import numpy as np
import pytest

from linkage.match import floor
from linkage.match.engine import match_batches, score_batches
from linkage.match.floor import PRUNE_FLOOR, best_of, floor_for
from tests.linkage.field_data import SynthBatches, synth_batches


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> SynthBatches:
    return synth_batches(tmp_path_factory.mktemp("synth"))


def test_the_floor_applies_to_large_runs_only_and_never_above_a_given_threshold() -> None:
    assert floor_for(floor.PRUNE_OVER, None) == 0.0
    assert floor_for(floor.PRUNE_OVER + 1, None) == PRUNE_FLOOR
    assert floor_for(floor.PRUNE_OVER + 1, 0.004) == 0.004


def test_a_run_with_a_floor_links_what_it_links_without_one(
    synth: SynthBatches, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole_hits, whole = match_batches(synth.batches)
    all_pairs = score_batches(synth.batches)
    monkeypatch.setattr(floor, "PRUNE_OVER", 0)
    monkeypatch.setattr(floor, "SCAN_PAIRS", 1000)  # several chunks per family

    hits, report = match_batches(synth.batches)
    held = score_batches(synth.batches)

    # The strangers far below the floor are counted, not held.
    tail = held.profile.tail
    assert len(held.posterior) < len(all_pairs.posterior)
    assert tail.pairs >= len(all_pairs.posterior) - len(held.posterior)
    assert (all_pairs.posterior < PRUNE_FLOOR).sum() == len(all_pairs.posterior) - len(
        held.posterior
    )
    # The same hits; the coherence check saw the pairs below the floor too.
    assert hits == whole_hits and len(hits.groups) > 100
    assert report.threshold == whole.threshold
    # The estimates count a pair below the floor once per family that scored it: a hair
    # more expected matches in all, so a hair less recall.
    assert report.estimated_precision == whole.estimated_precision
    assert whole.estimated_recall - 1e-3 < report.estimated_recall <= whole.estimated_recall
    # Each held pair once, at its best family's weight; below the floor, once per family.
    assert sum(n for _, n in whole.weight_histogram) == len(all_pairs.posterior)
    assert sum(n for _, n in report.weight_histogram) == len(held.posterior) + tail.pairs


def test_the_best_of_repeated_pairs_is_kept_once() -> None:
    left = np.array([3, 1, 3, 1, 2])
    right = np.array([7, 5, 7, 6, 5])
    score = np.array([0.2, 0.5, 0.9, 0.1, 0.3])

    kept = best_of((left, right, score))

    assert [list(map(float, part)) for part in kept] == [
        [1, 1, 2, 3],
        [5, 6, 5, 7],
        [0.5, 0.1, 0.3, 0.9],
    ]
