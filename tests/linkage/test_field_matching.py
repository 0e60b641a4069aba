import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from linkage.batch import Batch, read_batch, write_batch
from linkage.cli import main
from linkage.errors import LinkageError
from linkage.evaluate import evaluate
from linkage.hits import agreed_on, read_hits, write_hits
from linkage.match.engine import MatchSettings, match_batches
from linkage.match.fields import kept_threshold
from linkage.match.grouping import group_records
from tests.linkage.field_data import SynthBatches, synth_batches


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> SynthBatches:
    return synth_batches(tmp_path_factory.mktemp("synth"))


def test_field_scoring_is_chosen_when_every_batch_has_comparisons(synth: SynthBatches) -> None:
    _, report = match_batches(synth.batches)

    assert report.scoring == "fields"
    assert report.candidate_threshold is not None
    assert report.estimated_precision is not None and report.estimated_precision > 0.9
    weights = {(name, level): weight for name, level, _, _, weight in report.field_weights}
    # Each salt family learns its own weights: inside names_month (names, year and month
    # in the salt) a full date agreement is strong evidence, a differing day is not.
    date = "names_month/date_of_birth"
    assert weights[(date, "agree")] > 5 > weights[(date, "partial")]
    assert weights[("born_given/first_surname", "disagree")] < 0


def test_field_scoring_keeps_quality_above_a_floor_and_beats_the_clk(synth: SynthBatches) -> None:
    fields, _ = match_batches(synth.batches)
    clk, clk_report = match_batches(synth.batches, MatchSettings(scoring="clk"))

    by_fields = evaluate(fields, synth.truth, synth.refmaps)
    by_clk = evaluate(clk, synth.truth, synth.refmaps)

    assert clk_report.scoring == "clk" and clk_report.field_weights == ()
    assert by_fields.pair_f1 >= 0.93 and by_fields.group_precision >= 0.95
    assert by_fields.pair_f1 >= by_clk.pair_f1


def test_a_run_is_deterministic(synth: SynthBatches) -> None:
    assert match_batches(synth.batches) == match_batches(synth.batches)


def test_every_link_says_which_fields_agreed(synth: SynthBatches, tmp_path: Path) -> None:
    hits, _ = match_batches(synth.batches)
    names = {"first_given", "other_given", "first_surname", "other_surnames"}
    names |= {"date_of_birth", "phone", "postcode", "document_number"}

    write_hits(hits, tmp_path / "hits.json")
    document = json.loads((tmp_path / "hits.json").read_text())

    again = read_hits(tmp_path / "hits.json")  # scores are rounded in the file
    assert [g.agreed_fields for g in again.groups] == [g.agreed_fields for g in hits.groups]
    assert all(group.agreed_fields for group in hits.groups)
    assert all(group.agreed_fields == agreed_on(group.links) for group in hits.groups)
    assert {name for group in hits.groups for name in group.agreed_fields} <= names
    assert document["groups"][0]["agreed_fields"] == list(hits.groups[0].agreed_fields)
    assert "agreed" in document["groups"][0]["links"][0]


def test_a_batch_without_comparisons_falls_back_to_the_clk(synth: SynthBatches) -> None:
    stripped = [dataclasses.replace(synth.batches[0], comparisons=None), *synth.batches[1:]]

    _, report = match_batches(stripped)

    assert report.scoring == "clk"
    with pytest.raises(LinkageError, match="needs comparison encodings"):
        match_batches(stripped, MatchSettings(scoring="fields"))


def test_batches_with_different_layouts_are_refused(synth: SynthBatches) -> None:
    first = synth.batches[0]
    assert first.comparisons is not None
    other_layout = first.comparisons.layout.replace("first_given", "given_first")
    changed = dataclasses.replace(
        first, comparisons=dataclasses.replace(first.comparisons, layout=other_layout)
    )

    with pytest.raises(LinkageError, match="comparison layouts differ"):
        match_batches([changed, *synth.batches[1:]])


def test_comparisons_survive_the_batch_file(synth: SynthBatches, tmp_path: Path) -> None:
    batch = synth.batches[1]
    write_batch(batch, tmp_path / "copy.arrow")

    copy = read_batch(tmp_path / "copy.arrow")

    assert copy.comparisons is not None and batch.comparisons is not None
    assert copy.comparisons.layout == batch.comparisons.layout
    assert (copy.comparisons.values == batch.comparisons.values).all()
    assert copy.digest() == batch.digest()


def test_grouping_on_posteriors_ranks_by_weight_and_stops_a_chain() -> None:
    agency = np.array([0, 1, 1, 2])
    # 0-1 and 0-2 both certain (posterior 1.0), but 0-1 has the larger weight; 3 bridges.
    left, right = np.array([0, 0, 1, 2]), np.array([1, 2, 3, 3])
    posterior = np.array([1.0, 1.0, 0.9, 0.6])
    weight = np.array([30.0, 12.0, 3.0, 0.6])

    grouping = group_records(agency, left, right, posterior, threshold=0.5, cap=1, rank=weight)

    assert grouping.group[0] == grouping.group[1] != grouping.group[2]


def test_cli_match_prints_the_learned_weights(
    synth: SynthBatches, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batches = [str(synth.folder / f"{b.agency}.arrow") for b in synth.batches]

    assert main(["match", *batches, "--out", str(tmp_path / "hits.json")]) == 0

    out = capsys.readouterr().out
    assert "learned weights" in out and "date_of_birth" in out
    assert "scoring: fields" in out and "expected precision" in out
    assert main(["match", *batches, "--scoring", "clk", "--out", str(tmp_path / "c.json")]) == 0
    assert "learned weights" not in capsys.readouterr().out


def test_cli_threshold_prints_the_posterior_histogram_and_estimates(
    synth: SynthBatches, capsys: pytest.CaptureFixture[str]
) -> None:
    batches = [str(synth.folder / f"{b.agency}.arrow") for b in synth.batches]

    assert main(["threshold", *batches]) == 0

    out = capsys.readouterr().out
    assert "candidate pairs per match posterior" in out
    assert "<- chosen (highest expected F1)" in out


def test_batches_without_candidates_give_no_hits(synth: SynthBatches) -> None:
    def first(batch: Batch, count: int) -> Batch:
        assert batch.comparisons is not None
        values = batch.comparisons.values[:count]
        return dataclasses.replace(
            batch,
            references=batch.references[:count],
            filters=batch.filters[:count],
            comparisons=dataclasses.replace(batch.comparisons, values=values),
        )

    hits, report = match_batches([first(synth.batches[0], 1), first(synth.batches[1], 1)])

    assert report.scoring == "fields"
    assert hits.groups == ()


def test_candidates_below_the_clk_threshold_grow_by_half_at_most() -> None:
    scores = np.array([0.9] * 10 + [0.7] * 3 + [0.65] * 10 + [0.6] * 5)

    kept = kept_threshold(scores, 0.8, 0.55)

    assert 0.65 < kept <= 0.7 and np.count_nonzero(scores >= kept) == 13
    assert kept_threshold(scores[:12], 0.8, 0.55) == 0.55  # few alike pairs: keep them all


def test_a_hub_export_keeps_the_agreed_fields_of_each_group(tmp_path: Path) -> None:
    # The hub exports agreed fields per group; its links carry no per-link names.
    document = {
        "format": "fieldlink-hits/1",
        "threshold": 0.5,
        "min_agencies": 2,
        "groups": [
            {
                "members": [{"agency": "a", "reference": "r1"}, {"agency": "b", "reference": "r2"}],
                "links": [{"left": 0, "right": 1, "score": 0.99}],
                "agreed_fields": ["first_surname", "date_of_birth"],
            }
        ],
    }
    (tmp_path / "hub.json").write_text(json.dumps(document))

    hits = read_hits(tmp_path / "hub.json")

    assert hits.groups[0].agreed_fields == ("first_surname", "date_of_birth")
    assert hits.groups[0].links[0].agreed == ()
