import json
from pathlib import Path

import numpy as np
import pytest

from keys import LinkageSecret
from linkage.batch import Batch, write_batch
from linkage.cli import main
from linkage.encode import encode_records
from linkage.errors import LinkageError
from linkage.hits import read_hits
from linkage.match.engine import MatchSettings, match_batches
from linkage.schema import load_schema

SECRET = LinkageSecret(project="engine", value=bytes(range(32)))
ANA = {
    "given_names": "Ana María",
    "surnames": "Gómez Ruiz",
    "date_of_birth": "1990-04-12",
    "sex": "f",
    "nationality": "COL",
}
JAN = {
    "given_names": "Jan",
    "surnames": "de Vries",
    "date_of_birth": "1971-11-02",
    "sex": "m",
    "nationality": "NL",
}
LUIS = {
    "given_names": "Luis",
    "surnames": "Pereira",
    "date_of_birth": "1985-01-30",
    "sex": "m",
    "nationality": "BRA",
}


def batch(agency: str, records: list[dict[str, str]]) -> Batch:
    filters = encode_records(records, load_schema("person-classic"), SECRET).filters
    return Batch.create(
        agency=agency,
        schema_fingerprint=load_schema("person-classic").fingerprint(),
        key_check=SECRET.key_check_value(),
        references=[f"{agency}-{i}" for i in range(len(records))],
        filters=filters,
    )


def three_agencies() -> list[Batch]:
    return [
        batch("gemeente", [ANA, JAN]),
        batch("politie", [{**ANA, "given_names": "ANA MARIA"}, {**ANA, "surnames": "Gomez"}, LUIS]),
        batch("fiu", [{**ANA, "date_of_birth": "1990-12-04"}, {**LUIS, "given_names": "Luiz"}]),
    ]


def test_a_person_in_three_agencies_is_one_group_with_both_police_records() -> None:
    hits, report = match_batches(three_agencies(), MatchSettings(threshold=0.75))

    members = [{(m.agency, m.reference) for m in group.members} for group in hits.groups]
    assert {
        ("gemeente", "gemeente-0"),
        ("politie", "politie-0"),
        ("politie", "politie-1"),
        ("fiu", "fiu-0"),
    } in members
    assert {("politie", "politie-2"), ("fiu", "fiu-1")} in members
    assert report.records == {"fiu": 2, "gemeente": 2, "politie": 3}
    assert report.comparisons == report.all_pairs == 2 * 3 + 2 * 2 + 3 * 2


def test_k_keeps_only_groups_spanning_enough_agencies() -> None:
    hits, _ = match_batches(three_agencies(), MatchSettings(threshold=0.75, min_agencies=3))

    assert [group.agencies for group in hits.groups] == [("fiu", "gemeente", "politie")]


def test_blocking_gives_the_same_hits_as_all_pairs() -> None:
    every, _ = match_batches(three_agencies(), MatchSettings(threshold=0.75, blocking="none"))
    blocked, _ = match_batches(three_agencies(), MatchSettings(threshold=0.75, blocking="lsh"))

    assert blocked == every


def test_batches_of_another_key_are_refused() -> None:
    other = LinkageSecret(project="engine", value=bytes(32))
    stranger = Batch.create(
        agency="kmar",
        schema_fingerprint=load_schema("person-classic").fingerprint(),
        key_check=other.key_check_value(),
        references=["k"],
        filters=np.zeros((1, 128), np.uint8),
    )

    with pytest.raises(LinkageError, match="another key check"):
        match_batches([*three_agencies(), stranger])


def test_match_and_reveal_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = []
    for item in three_agencies():
        write_batch(item, tmp_path / f"{item.agency}.arrow")
        paths.append(str(tmp_path / f"{item.agency}.arrow"))
    refs = tmp_path / "politie.refs.csv"
    refs.write_text("reference,local_id\npolitie-0,P-1\npolitie-1,P-2\npolitie-2,P-3\n")

    assert main(["match", *paths, "--out", str(tmp_path / "hits.json"), "--threshold", "0.75"]) == 0
    assert main(["reveal", str(tmp_path / "hits.json"), "--refs", str(refs)]) == 0

    out = capsys.readouterr().out
    assert "hits spanning >= 2 agencies: 2" in out
    assert "P-1,politie,fiu gemeente" in out
    assert "P-3,politie,fiu" in out
    assert len(read_hits(tmp_path / "hits.json").groups) == 2


def test_threshold_command_prints_a_histogram_and_estimates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = []
    for item in three_agencies():
        write_batch(item, tmp_path / f"{item.agency}.arrow")
        paths.append(str(tmp_path / f"{item.agency}.arrow"))

    assert main(["threshold", *paths]) == 0

    out = capsys.readouterr().out
    assert "pairs per similarity" in out
    assert "<- chosen" in out


def test_reveal_names_the_other_agencies_of_a_data_officers_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # What the hub exports to the police: their own member only, the other agencies by name.
    document = {
        "format": "fieldlink-hits/1",
        "threshold": 0.8,
        "min_agencies": 2,
        "groups": [
            {
                "group": 17,
                "agencies": ["fiu", "kmar", "politie"],
                "members": [{"agency": "politie", "reference": "politie-0"}],
                "links": [],
                "best_score": 0.9312,
            }
        ],
    }
    hits = tmp_path / "politie-hits.json"
    hits.write_text(json.dumps(document))
    refs = tmp_path / "politie.refs.csv"
    refs.write_text("reference,local_id\npolitie-0,P-1\n")

    assert main(["reveal", str(hits), "--refs", str(refs)]) == 0

    assert "17,P-1,politie,fiu kmar,0.9312" in capsys.readouterr().out
