from pathlib import Path

import pytest

from linkage.agency import write_refmap
from linkage.cli import main
from linkage.errors import InputError
from linkage.evaluate import Quality, evaluate, format_quality
from linkage.hits import Group, Hits, Member, write_hits

# Person A: gemeente, politie twice, fiu. B: gemeente, kmar. C: politie, kmar.
# D: gemeente only. E: fiu, kmar. Cross-agency true pairs: A 5 (6 less the politie
# pair), B 1, C 1, E 1 = 8. Persons in >= 2 agencies: A, B, C, E.
TRUTH = {
    "gemeente": {"g1": "A", "g2": "B", "g3": "D"},
    "politie": {"p1": "A", "p2": "A", "p3": "C"},
    "fiu": {"f1": "A", "f2": "E"},
    "kmar": {"k1": "B", "k2": "C", "k3": "E"},
}
AGENCY_OF = {record: agency for agency, records in TRUTH.items() for record in records}
PERFECT = [["g1", "p1", "p2", "f1"], ["g2", "k1"], ["p3", "k2"], ["f2", "k3"]]


def reference(record_id: str) -> str:
    return f"ref-{record_id}"


def make_hits(groups: list[list[str]], *, min_agencies: int = 2) -> Hits:
    return Hits(
        threshold=0.8,
        min_agencies=min_agencies,
        groups=tuple(
            Group(
                members=tuple(Member(AGENCY_OF.get(r, "politie"), reference(r)) for r in group),
                links=(),
            )
            for group in groups
        ),
    )


@pytest.fixture
def truth_path(tmp_path: Path) -> Path:
    path = tmp_path / "truth.csv"
    lines = ["agency,record_id,person_id"]
    lines += [f"{a},{r},{p}" for a, records in TRUTH.items() for r, p in records.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def refmaps() -> dict[str, dict[str, str]]:
    return {agency: {reference(r): r for r in records} for agency, records in TRUTH.items()}


def test_perfect_hits_score_one_everywhere(
    truth_path: Path, refmaps: dict[str, dict[str, str]]
) -> None:
    quality = evaluate(make_hits(PERFECT), truth_path, refmaps)

    assert (quality.pair_precision, quality.pair_recall, quality.pair_f1) == (1.0, 1.0, 1.0)
    assert quality.group_precision == quality.persons_found == 1.0
    assert (quality.predicted_pairs, quality.true_pairs, quality.correct_pairs) == (8, 8, 8)
    assert (quality.truth_records, quality.truth_persons, quality.multi_agency_persons) == (
        11, 5, 4,
    )  # fmt: skip


def test_one_false_merge_lowers_precision_not_recall(
    truth_path: Path, refmaps: dict[str, dict[str, str]]
) -> None:
    # B and C merged: g2-k1 and p3-k2 are right; g2-p3, g2-k2 and k1-p3 are wrong.
    groups = [PERFECT[0], ["g2", "k1", "p3", "k2"], PERFECT[3]]

    quality = evaluate(make_hits(groups), truth_path, refmaps)

    assert (quality.predicted_pairs, quality.correct_pairs) == (11, 8)
    assert quality.pair_precision == pytest.approx(8 / 11)
    assert quality.pair_recall == 1.0
    assert quality.pair_f1 == pytest.approx(2 * (8 / 11) / (8 / 11 + 1))
    assert quality.group_precision == pytest.approx(2 / 3)
    assert quality.persons_found == 1.0


def test_a_missed_person_lowers_recall_and_persons_found(
    truth_path: Path, refmaps: dict[str, dict[str, str]]
) -> None:
    quality = evaluate(make_hits(PERFECT[:3]), truth_path, refmaps)

    assert quality.pair_precision == 1.0
    assert quality.pair_recall == pytest.approx(7 / 8)
    assert quality.group_precision == 1.0
    assert (quality.found_persons, quality.multi_agency_persons) == (3, 4)
    assert quality.persons_found == pytest.approx(3 / 4)


def test_persons_found_counts_only_groups_spanning_min_agencies(
    truth_path: Path, refmaps: dict[str, dict[str, str]]
) -> None:
    # Only A is in three agencies; a group with A's gemeente and politie records is not enough.
    partial = evaluate(make_hits([["g1", "p1"]], min_agencies=3), truth_path, refmaps)
    full = evaluate(make_hits([["g1", "p2", "f1"]], min_agencies=3), truth_path, refmaps)

    assert (partial.found_persons, partial.multi_agency_persons) == (0, 1)
    assert (full.found_persons, full.multi_agency_persons) == (1, 1)


def test_no_hits_give_zero_recall_and_vacuous_precision(
    truth_path: Path, refmaps: dict[str, dict[str, str]]
) -> None:
    quality = evaluate(make_hits([]), truth_path, refmaps)

    assert (quality.pair_precision, quality.pair_recall, quality.pair_f1) == (1.0, 0.0, 0.0)
    assert quality.persons_found == 0.0


def test_unknown_references_are_counted_not_scored(
    truth_path: Path, refmaps: dict[str, dict[str, str]]
) -> None:
    quality = evaluate(make_hits([["g2", "k1", "p9"]]), truth_path, refmaps)

    assert quality.unresolved_members == 1
    assert (quality.predicted_pairs, quality.correct_pairs) == (1, 1)


def test_an_agency_without_a_reference_map_is_an_error(
    truth_path: Path, refmaps: dict[str, dict[str, str]]
) -> None:
    del refmaps["kmar"]

    with pytest.raises(InputError, match="kmar"):
        evaluate(make_hits(PERFECT), truth_path, refmaps)


def test_a_repeated_truth_record_is_reported_by_line_not_id(tmp_path: Path) -> None:
    path = tmp_path / "truth.csv"
    path.write_text("agency,record_id,person_id\nfiu,X-17,A\nfiu,X-17,B\n", encoding="utf-8")

    with pytest.raises(InputError, match="line 3 repeats") as raised:
        evaluate(make_hits([]), path, {})

    assert "X-17" not in str(raised.value)


def test_format_quality_shows_each_figure() -> None:
    quality = Quality(
        pair_precision=0.8, pair_recall=1.0, pair_f1=0.889, group_precision=0.5,
        persons_found=0.75, min_agencies=2, groups=2, pure_groups=1, predicted_pairs=10,
        true_pairs=8, correct_pairs=8, multi_agency_persons=4, found_persons=3,
        truth_records=11, truth_persons=5, unresolved_members=0,
    )  # fmt: skip

    table = format_quality(quality)

    assert "pair precision" in table and "0.800" in table
    assert "8 of 10 predicted" in table
    assert "3 of 4 persons" in table
    assert "hit precision" in table and "1 of 2 hits are one person" in table
    assert "group" not in table  # one word for a matched set of records: hit


def test_cli_evaluate_finds_reference_maps_beside_the_files(
    workdir: Path, truth_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for agency, records in TRUTH.items():
        write_refmap(workdir / f"{agency}.refs.csv", [reference(r) for r in records], list(records))
    write_hits(make_hits(PERFECT[:3]), workdir / "hits.json")

    assert main(["evaluate", "hits.json", "--truth", str(truth_path)]) == 0

    out = capsys.readouterr().out
    assert "pair recall" in out and "0.875" in out
    assert "3 of 4 persons" in out


def test_cli_evaluate_uses_the_given_reference_maps_only(
    workdir: Path, truth_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    maps = workdir / "maps"
    maps.mkdir()
    for agency, records in TRUTH.items():
        write_refmap(maps / f"{agency}.refs.csv", [reference(r) for r in records], list(records))
    write_hits(make_hits(PERFECT), workdir / "hits.json")
    refs = [str(maps / f"{agency}.refs.csv") for agency in ("gemeente", "politie", "fiu")]

    code = main(["evaluate", "hits.json", "--truth", str(truth_path), *_each("--refs", refs)])

    assert code == 1
    assert "no reference map for agency kmar" in capsys.readouterr().err


def _each(option: str, values: list[str]) -> list[str]:
    return [item for value in values for item in (option, value)]
