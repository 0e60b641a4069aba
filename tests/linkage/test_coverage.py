"""Label-free recall over all pairs: two independent sources of salt families."""

from pathlib import Path

import numpy as np
import pytest

from benchmarks.agencies import encode_agencies
from linkage.comparisons import comparison_layout
from linkage.match.coverage import estimate_coverage
from linkage.match.engine import match_batches
from linkage.schema import load_schema
from linkage.synth import generate


def _captures(
    true_pairs: int, p_first: float, p_second: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linked true pairs seen by two independent sources (posteriors 1; -1: not seen)."""
    rng = np.random.default_rng(seed)
    first = rng.random(true_pairs) < p_first
    second = rng.random(true_pairs) < p_second
    seen = first | second
    return (
        np.where(first[seen], 1.0, -1.0),
        np.where(second[seen], 1.0, -1.0),
        np.ones(int(seen.sum())),
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_independent_sources_give_the_recall_within_the_interval(seed: int) -> None:
    first, second, posterior = _captures(4000, 0.8, 0.4, seed)
    truth = len(posterior) / 4000  # 1 - 0.2 * 0.6 = 0.88

    found = estimate_coverage([first, second], posterior, 0.5)

    assert found is not None
    assert found.low <= truth <= found.high
    assert abs(found.recall - truth) < 0.02


def test_too_little_overlap_gives_no_estimate() -> None:
    first, second, posterior = _captures(200, 0.5, 0.05, 0)

    assert estimate_coverage([first, second], posterior, 0.5) is None


def test_pairs_below_the_threshold_are_not_captured() -> None:
    first, second, posterior = _captures(4000, 0.8, 0.4, 0)
    low = np.full(len(posterior), 0.3)

    assert estimate_coverage([first, second], low, 0.5) is None


def test_strata_are_estimated_apart() -> None:
    # Two agency pairs: one with clean data, one where both sources fail more often.
    a = _captures(3000, 0.95, 0.6, 1)
    b = _captures(3000, 0.5, 0.3, 2)
    first, second, posterior = (np.concatenate([x, y]) for x, y in zip(a, b, strict=True))
    strata = np.repeat([0, 1], [len(a[2]), len(b[2])])
    truth = len(posterior) / 6000

    found = estimate_coverage([first, second], posterior, 0.5, strata)

    assert found is not None and abs(found.recall - truth) < 0.02


def test_the_person_schema_has_independent_sources() -> None:
    layout = comparison_layout(load_schema("person"))
    sources = layout.independent_sources()

    assert sources is not None
    names = layout.family_names
    assert {names[i] for i in sources[1]} == {"phone", "document"}
    assert "born_surname" in {names[i] for i in sources[0]}
    assert comparison_layout(load_schema("person-classic")).independent_sources() is None


def test_a_salted_run_estimates_recall_over_all_pairs(tmp_path: Path) -> None:
    generate(tmp_path, persons=300, seed=5)
    batches, _ = encode_agencies(tmp_path, load_schema("person"))

    _, report = match_batches(batches)

    assert report.recall_basis == "all pairs"
    assert report.recall_interval is not None
    low, high = report.recall_interval
    assert low > 0.5 and (report.estimated_recall or 0) <= high + 1e-9


def test_three_sources_allow_two_sources_to_fail_together() -> None:
    # Names-and-dates and the phone fail together (a hurried registration); the document
    # is independent of both. The two-source estimate is too high; with three sources the
    # printed recall is the lower, and the interval spans both models.
    rng = np.random.default_rng(3)
    true_pairs = 6000
    hurried = rng.random(true_pairs) < 0.3
    names = rng.random(true_pairs) < np.where(hurried, 0.4, 0.95)
    phone = rng.random(true_pairs) < np.where(hurried, 0.2, 0.7)
    document = rng.random(true_pairs) < 0.5
    seen = names | phone | document
    sources = [np.where(found[seen], 1.0, -1.0) for found in (names, phone, document)]
    truth = seen.sum() / true_pairs

    two = estimate_coverage(
        [sources[0], np.maximum(sources[1], sources[2])], np.ones(seen.sum()), 0.5
    )
    three = estimate_coverage(sources, np.ones(seen.sum()), 0.5)

    assert two is not None and three is not None
    assert three.recall <= two.recall
    assert abs(three.recall - truth) < abs(two.recall - truth)
    assert three.low <= three.recall <= three.high


def test_the_person_schema_has_three_evidence_components() -> None:
    layout = comparison_layout(load_schema("person"))
    names = layout.family_names
    components = [{names[i] for i in part} for part in layout.evidence_components()]
    assert components[1:] == [{"phone"}, {"document"}]
