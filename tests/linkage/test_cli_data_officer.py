"""A data officer's spreadsheet day (issue 13): unknown nationalities, agency names in any
case, what a batch seals, a local preview, and CSV that Dutch Excel opens in columns."""

import json
from pathlib import Path

import pytest

from keys import read_reference_key
from linkage.batch import read_batch
from linkage.cli import main
from linkage.cli.excel import BOM, excel_text
from tests.factories import fake_people, to_csv


@pytest.fixture
def project_key(workdir: Path) -> Path:
    assert main(["keys", "new", "--project", "fieldlab-zuid", "--out", "project.key"]) == 0
    return workdir / "project.key"


def encode(agency: str, *extra: str) -> int:
    command = ["encode", "people.csv", "--secret", "project.key", "--agency", agency]
    return main([*command, "--out", "out.arrow", "--workers", "1", "--quiet", *extra])


def test_an_unknown_nationality_is_reported_by_line_and_field_never_by_value(
    project_key: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    people = fake_people(40, seed=3)
    people[4]["nationality"] = "Deense"
    (workdir / "people.csv").write_text(to_csv(people))

    assert encode("politie") == 0

    out = capsys.readouterr().out
    assert "line 6: field 'nationality' is not a recognised nationality" in out
    assert "Deense" not in out and "deense" not in out


def test_agency_names_ignore_case_and_never_make_a_second_reference_key(
    project_key: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "people.csv").write_text(to_csv(fake_people(5, seed=4)))

    assert encode("Gemeente") == 0
    assert encode("GEMEENTE") == 0

    assert sorted(path.name for path in workdir.glob("*.refkey")) == ["gemeente.refkey"]
    assert read_batch(workdir / "out.arrow").agency == "gemeente"
    assert main(["keys", "new-ref", "--agency", "Fiu", "--out", "fiu.refkey"]) == 0
    assert read_reference_key(workdir / "fiu.refkey").agency == "fiu"
    # A key made before names were folded, under its old spelling, is not joined by a second.
    (workdir / "gemeente.refkey").rename(workdir / "Gemeente.refkey")
    capsys.readouterr()
    assert encode("gemeente") == 1
    assert "Gemeente.refkey exists for this agency" in capsys.readouterr().err
    assert not (workdir / "gemeente.refkey").exists()


def test_batch_show_says_which_fields_are_sealed_and_for_which_team_key(
    project_key: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "people.csv").write_text(to_csv(fake_people(6, seed=5)))
    assert (
        main(["keys", "generate-pair", "--owner", "team", "--kind", "team", "--out", "team.key"])
        == 0
    )
    sealed = ["--envelope-fields", "surnames,date_of_birth", "--team-key", "team.pub.json"]
    assert encode("politie", *sealed) == 0
    team_key_id = read_batch(workdir / "out.arrow").envelopes.team_key_id  # type: ignore[union-attr]
    assert encode("politie", "--out", "plain.arrow") == 0
    capsys.readouterr()

    assert main(["batch", "show", "out.arrow"]) == 0
    shown = capsys.readouterr().out
    assert "6 records of agency politie" in shown
    assert (
        f"sealed in envelopes, per record: surnames, date_of_birth; for team key {team_key_id}"
        in shown
    )
    assert main(["batch", "show", "plain.arrow"]) == 0
    assert "no envelopes: the batch discloses no details" in capsys.readouterr().out


def test_encode_preview_shows_raw_and_normalised_values_and_writes_nothing(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    people = fake_people(5, seed=6)
    people[0] |= {"given_names": "José  María", "date_of_birth": "31-02-1999"}
    (workdir / "people.csv").write_text(to_csv(people))
    before = sorted(workdir.iterdir())

    command = ["encode", "people.csv", "--agency", "politie", "--preview", "2"]
    assert main(command) == 0  # no secret, no --out: nothing is read or written but the file

    out = capsys.readouterr().out
    assert sorted(workdir.iterdir()) == before
    assert "given_names -> given_names" in out
    assert "'José  María' -> 'jose maria'" in out
    assert "'31-02-1999' -> invalid: is not a valid date" in out
    assert "line 3:" in out and "line 4:" not in out


def test_excel_csv_has_semicolons_a_decimal_comma_in_scores_only_and_a_bom() -> None:
    text = 'hit,local_id,agency,other_agencies,best_score\n17,1.5,politie,"fiu;kmar",0.9312\n'

    shaped = excel_text(text)

    assert shaped.startswith(BOM)
    lines = shaped.removeprefix(BOM).splitlines()
    assert lines[0] == "hit;local_id;agency;other_agencies;best_score"
    assert lines[1] == '17;1.5;politie;"fiu;kmar";0,9312'


def test_reveal_writes_excel_csv(tmp_path: Path) -> None:
    document = {
        "format": "fieldlink-hits/1",
        "threshold": 0.8,
        "min_agencies": 2,
        "groups": [
            {
                "group": 17,
                "agencies": ["fiu", "politie"],
                "members": [{"agency": "politie", "reference": "politie-0"}],
                "links": [],
                "best_score": 0.9312,
            }
        ],
    }
    (tmp_path / "hits.json").write_text(json.dumps(document))
    (tmp_path / "politie.refs.csv").write_text("reference,local_id\npolitie-0,P-1\n")
    out = tmp_path / "mine.csv"

    command = ["reveal", str(tmp_path / "hits.json"), "--refs", str(tmp_path / "politie.refs.csv")]
    assert main([*command, "--out", str(out), "--excel"]) == 0

    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    header, row = raw.decode("utf-8-sig").splitlines()
    assert header == "hit;local_id;agency;other_agencies;best_score"  # "hit", never "group"
    assert row == "17;P-1;politie;fiu;0,9312"
