"""Label-free recall over all pairs: capture frequencies over salt families (Chao)."""

from pathlib import Path

import numpy as np
import pytest

from benchmarks.agencies import encode_agencies
from linkage.comparisons import comparison_layout
from linkage.match.coverage import MIN_LINKED, estimate_coverage
from linkage.match.engine import MatchSettings, match_batches
from linkage.schema import load_schema
from linkage.synth import generate


def _captures(true_pairs: int, occasions: int, seed: int) -> tuple[np.ndarray, float]:
    """Per linked pair how many occasions caught it, and the true recall.

    Catchability differs from pair to pair: 60% of the pairs are caught by most
    occasions, the rest (missing dates, distorted names) by few, so the occasions fail
    together for the hard pairs: what independent-source estimates get wrong.
    """
    rng = np.random.default_rng(seed)
    chance = np.where(rng.random(true_pairs) < 0.6, 0.7, rng.uniform(0.15, 0.5, true_pairs))
    caught = (rng.random((true_pairs, occasions)) < chance[:, None]).sum(axis=1)
    linked = caught[caught > 0]
    return linked, len(linked) / true_pairs


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_heterogeneous_captures_give_the_recall(seed: int) -> None:
    captures, truth = _captures(6000, 8, seed)

    found = estimate_coverage(captures, 8)

    assert found is not None
    assert truth < 0.98  # the test data do leave true pairs unlinked
    assert abs(found.recall - truth) < 0.01
    assert found.low < found.recall < found.high


def test_pairs_every_family_links_leave_nothing_unseen() -> None:
    found = estimate_coverage(np.full(500, 8), 8)

    assert found is not None and found.recall == 1.0 and found.low == 1.0


def test_many_single_captures_lower_the_recall() -> None:
    rare = estimate_coverage(np.r_[np.full(400, 1), np.full(100, 2), np.full(500, 6)], 8)
    common = estimate_coverage(np.r_[np.full(50, 1), np.full(100, 2), np.full(850, 6)], 8)

    assert rare is not None and common is not None
    assert rare.recall < common.recall
    assert rare.low < rare.recall < rare.high


def test_the_model_says_when_it_cannot_tell() -> None:
    assert estimate_coverage(np.full(MIN_LINKED - 1, 1), 8) is None  # too few linked
    assert estimate_coverage(np.full(500, 1), 1) is None  # one family: no occasions


def test_the_person_layout_says_which_comparisons_each_salt_reads() -> None:
    layout = comparison_layout(load_schema("person"))
    read = dict(zip(layout.family_names, layout.family_comparisons, strict=True))
    shared = layout.shared_matches()
    names = layout.names

    assert set(read["born_surname"]) == {"date_of_birth", "first_surname", "other_surnames"}
    assert set(read["phone"]) == {"phone"}
    phone = layout.family_names.index("phone")
    assert shared[phone, names.index("date_of_birth")]
    assert not shared[phone, names.index("phone")]
    # An unsalted layout pools nothing.
    classic = comparison_layout(load_schema("person-classic"))
    assert not classic.shared_matches().any()


def test_a_salted_run_estimates_recall_over_all_pairs(tmp_path: Path) -> None:
    generate(tmp_path, persons=300, seed=5)
    batches, _ = encode_agencies(tmp_path, load_schema("person"))

    _, report = match_batches(batches)

    assert report.recall_basis == "all pairs"
    assert report.recall_interval is not None
    low, high = report.recall_interval
    assert 0.5 < low <= (report.estimated_recall or 0) <= high + 1e-9


def test_families_pool_matches_levels_only_when_asked(tmp_path: Path) -> None:
    generate(tmp_path, persons=300, seed=5)
    batches, _ = encode_agencies(tmp_path, load_schema("person"))

    _, alone = match_batches(batches)
    _, pooled = match_batches(batches, MatchSettings(pool_families=True))

    def phone_agree(report: object) -> set[float]:
        rows = report.field_weights  # type: ignore[attr-defined]
        families = ("born_surname", "born_given", "names_month")  # none reads the phone
        return {
            round(m, 9)
            for name, level, m, _, _ in rows
            if level == "agree" and name in {f"{f}/phone" for f in families}
        }

    assert len(phone_agree(pooled)) == 1  # one m, pooled over the families
    assert len(phone_agree(alone)) > 1  # each family its own
