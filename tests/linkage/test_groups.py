"""Candidates of group-filter families: every cross-agency pair of equal filters, once."""

from itertools import combinations
from pathlib import Path

import numpy as np

from linkage.match import groups
from linkage.match.engine import match_batches
from linkage.match.groups import pairs_of_equal_filters


def _filters(labels: list[int]) -> np.ndarray:
    rng = np.random.default_rng(0)
    shapes = {label: rng.integers(1, 255, 16, dtype=np.uint8) for label in set(labels)}
    return np.array([shapes[label] if label else np.zeros(16, np.uint8) for label in labels])


def test_pairs_are_the_cross_agency_pairs_of_equal_filters() -> None:
    labels = [1, 2, 1, 0, 1, 2, 3, 0]
    agency = np.array([0, 0, 1, 1, 2, 2, 2, 1])
    found = pairs_of_equal_filters(_filters(labels), agency)

    expected = {
        (i, j)
        for i, j in combinations(range(len(labels)), 2)
        if labels[i] and labels[i] == labels[j] and agency[i] != agency[j]
    }
    assert set(zip(found.left.tolist(), found.right.tolist(), strict=True)) == expected
    assert len(found.left) == len(expected) and found.left_out == 0


def test_an_oversized_group_is_left_out_and_counted(monkeypatch: object) -> None:
    monkeypatch.setattr(groups, "MAX_GROUP", 3)  # type: ignore[attr-defined]
    labels = [1, 1, 1, 1, 2, 2]
    agency = np.array([0, 1, 0, 1, 0, 1])
    found = pairs_of_equal_filters(_filters(labels), agency)

    assert found.left_out == 4
    assert list(zip(found.left.tolist(), found.right.tolist(), strict=True)) == [(4, 5)]


def test_a_default_run_finds_candidates_by_salt_groups(tmp_path: Path) -> None:
    from tests.linkage.field_data import synth_batches

    _, report = match_batches(synth_batches(tmp_path).batches)

    assert report.blocking and all("salt groups" in m for m in report.blocking.values())
    assert report.comparisons < report.all_pairs / 100
