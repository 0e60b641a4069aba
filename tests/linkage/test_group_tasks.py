"""Salt group families cut into block tasks: the same pairs, levels and scores as one piece."""

import pickle
from pathlib import Path

import numpy as np
import pytest

from linkage.match import group_tasks, groups
from linkage.match.engine import match_batches
from linkage.match.fields import FamilyCandidates, score_families
from linkage.match.group_tasks import GroupBlock, family_levels, score_levels
from linkage.match.groups import (
    family_digests,
    filter_digests,
    pairs_of_equal_digests,
    pairs_of_equal_filters,
)
from linkage.match.pool import family_pool, pool_batches
from linkage.match.tasks import run_here
from tests.linkage.field_data import SynthBatches, synth_batches


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> SynthBatches:
    return synth_batches(tmp_path_factory.mktemp("synth"))


def _quiet(family: int, stage: str, fraction: float) -> None:
    return None


@pytest.mark.parametrize("width", [16, 13, 3])
def test_digests_of_all_families_at_once_are_each_familys_digests(width: int) -> None:
    rng = np.random.default_rng(width)
    filters = rng.integers(0, 256, (300, 3 * width), dtype=np.uint8)
    filters[::5, width : 2 * width] = 0  # not in the second family
    filters[7] = 0

    digests, present = family_digests(filters, 3)

    for family in range(3):
        part = filters[:, family * width : (family + 1) * width]
        assert np.array_equal(digests[:, family], filter_digests(part))
        assert np.array_equal(present[:, family], part.any(axis=1))


@pytest.mark.parametrize("max_group", [5000, 3])
def test_pairs_from_digests_are_the_pairs_of_equal_filters_in_their_order(
    monkeypatch: pytest.MonkeyPatch, max_group: int
) -> None:
    monkeypatch.setattr(groups, "MAX_GROUP", max_group)
    rng = np.random.default_rng(1)
    shapes = rng.integers(1, 255, (120, 16), dtype=np.uint8)
    labels = rng.integers(0, 120, 400)  # 0: not in the family; groups of 1 to about 9
    filters = np.where((labels > 0)[:, None], shapes[labels], 0).astype(np.uint8)
    agency = rng.integers(0, 3, 400)

    expected = pairs_of_equal_filters(filters, agency)
    found = pairs_of_equal_digests(filter_digests(filters), agency)

    assert len(expected.left) > 40 and (expected.left_out > 0) == (max_group == 3)
    assert np.array_equal(found.left, expected.left)
    assert np.array_equal(found.right, expected.right)
    assert found.left_out == expected.left_out


@pytest.mark.parametrize("pooled", [False, True])
def test_blocks_give_what_each_family_scored_in_one_piece_gives(
    synth: SynthBatches, pooled: bool
) -> None:
    # The reference: each family pooled on its own, its pairs of equal filters in one
    # piece, and every family scored by `fields.score_families`.
    pool = pool_batches(synth.batches)
    layout = pool.layout
    assert layout is not None and layout.group_filters
    families, candidates = [], []
    for family in range(layout.families):
        sub, rows = family_pool(pool, family)
        if len(sub.agencies) < 2:
            continue
        found = pairs_of_equal_filters(sub.filters, sub.agency)
        families.append((family, rows, found))
        values = sub.comparisons
        assert values is not None
        # EM starts from the patterns (`scoring.agreement_start`), as the blocks' families do.
        candidates.append(FamilyCandidates(values, sub.starts, found.left, found.right, None))
    shared = layout.shared_matches()[[f for f, *_ in families]] & pooled
    expected = score_families(layout.one_family(), candidates, shared)

    levels = family_levels(pool, layout, run_here, _quiet)
    scores = score_levels(layout, levels, pooled=pooled)

    assert [found.family for found in levels] == [family for family, *_ in families]
    for (_, rows, pairs), found, mine, theirs in zip(
        families, levels, scores, expected, strict=True
    ):
        assert np.array_equal(found.rows, rows)
        assert np.array_equal(found.left, pairs.left)
        assert np.array_equal(found.right, pairs.right)
        assert np.array_equal(mine.levels[found.pattern], theirs.levels)
        assert np.array_equal(mine.posterior[found.pattern], theirs.posterior)
        assert np.array_equal(mine.weight[found.pattern], theirs.weight)


def test_a_run_cut_into_many_blocks_gives_the_hits_of_one_block_per_family(
    synth: SynthBatches, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(group_tasks, "BLOCK_RECORDS", 10**9)
    whole = match_batches(synth.batches)
    monkeypatch.setattr(group_tasks, "BLOCK_RECORDS", 40)
    seen: list[tuple[str, float]] = []

    cut = match_batches(synth.batches, progress=lambda *step: seen.append(step))

    assert cut == whole
    assert len(whole[0].groups) > 100
    comparing = [stage for stage, _ in seen if stage.startswith("comparing")]
    assert len(comparing) > 8 * 10  # a step per block: several blocks in every family
    assert [fraction for _, fraction in seen] == sorted(fraction for _, fraction in seen)


def test_a_block_sent_to_a_worker_carries_its_own_records_only(
    synth: SynthBatches, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(group_tasks, "BLOCK_RECORDS", 100)
    pool = pool_batches(synth.batches)
    assert pool.layout is not None
    tasks: list[GroupBlock] = []

    def keep(shared: None, sent: list[GroupBlock], done: object) -> list[object]:
        tasks.extend(sent)
        return run_here(shared, sent)

    family_levels(pool, pool.layout, keep, _quiet)  # type: ignore[arg-type]
    block = next(task for task in tasks if isinstance(task, GroupBlock) and len(task.members) > 50)
    sent = pickle.dumps(block)
    words = sum(part.nbytes for part in pool.comparison_parts)

    assert len(sent) < words / 5
    there, here = pickle.loads(sent).run(None), block.run(None)
    assert np.array_equal(there.left, here.left) and np.array_equal(there.levels, here.levels)
    assert len(here.left) > 0


def test_a_salted_run_joins_no_encodings_into_one_array(synth: SynthBatches) -> None:
    pool = pool_batches(synth.batches)
    assert pool.layout is not None

    family_levels(pool, pool.layout, run_here, _quiet)

    assert not pool._joined  # the filters and words were read batch by batch


def test_batches_of_one_agency_repeating_a_reference_are_refused(synth: SynthBatches) -> None:
    from dataclasses import replace

    from linkage.errors import LinkageError

    first = synth.batches[0]
    half = len(first) // 2
    again = replace(
        first,
        references=first.references[:half],
        filters=first.filters[:half],
        envelopes=None,
        comparisons=None,
    )
    other = replace(
        first,
        references=(first.references[half],),
        filters=first.filters[half : half + 1],
        envelopes=None,
        comparisons=None,
    )
    pool_batches([again, other])  # distinct references: accepted

    with pytest.raises(LinkageError, match="repeat a reference"):
        pool_batches([again, replace(other, references=(first.references[0],))])


def test_a_pool_joins_its_batches_in_agency_order_when_asked(tmp_path: Path) -> None:
    synth = synth_batches(tmp_path, "person-classic")
    pool = pool_batches(synth.batches)

    ordered = sorted(synth.batches, key=lambda batch: batch.agency)

    assert np.array_equal(pool.filters, np.concatenate([b.filters for b in ordered]))
    assert pool.comparisons is not None
    assert np.array_equal(
        pool.comparisons.view(np.uint8), np.concatenate([b.comparisons.values for b in ordered])
    )
