import csv
import random
import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keys import LinkageSecret, ReferenceKey
from linkage.agency import encode_csv
from linkage.cli import main
from linkage.schema import load_schema
from linkage.synth import Population, generate, synthesize
from linkage.synth.agencies import AGENCIES
from linkage.synth.distort import date_error, swap_day_month, typo
from linkage.synth.people import FAMILY, Relation

PERSONS = 200
SEED = 7


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    generate(out, persons=PERSONS, seed=SEED)
    return out


@pytest.fixture(scope="module")
def population() -> Population:
    return synthesize(persons=PERSONS, seed=SEED)


def read_rows(path: Path) -> list[dict[str, str]]:
    text = path.read_text(encoding="utf-8")
    delimiter = ";" if ";" in text.split("\n", 1)[0] else ","
    return list(csv.DictReader(text.splitlines(), delimiter=delimiter))


def test_same_seed_gives_identical_files(synth_dir: Path, tmp_path: Path) -> None:
    generate(tmp_path, persons=PERSONS, seed=SEED)

    for name in [*AGENCIES, "truth"]:
        assert (tmp_path / f"{name}.csv").read_bytes() == (synth_dir / f"{name}.csv").read_bytes()


def test_another_seed_gives_other_records(synth_dir: Path, tmp_path: Path) -> None:
    generate(tmp_path, persons=PERSONS, seed=SEED + 1)

    assert (tmp_path / "politie.csv").read_bytes() != (synth_dir / "politie.csv").read_bytes()


@pytest.mark.parametrize("agency", list(AGENCIES))
def test_every_agency_file_encodes_with_few_invalid_values(
    synth_dir: Path, tmp_path: Path, agency: str
) -> None:
    summary = encode_csv(
        synth_dir / f"{agency}.csv",
        schema=load_schema(),
        secret=LinkageSecret(project="t", value=bytes(32)),
        ref_key=ReferenceKey(agency=agency, value=bytes(range(32))),
        out=tmp_path / f"{agency}.arrow",
        workers=1,
    )

    assert summary.records_encoded == summary.records_read > 0
    assert len({problem.row for problem in summary.problems}) < 0.02 * summary.records_read
    assert not summary.plan.absent_fields


def test_truth_names_every_record_exactly_once(synth_dir: Path) -> None:
    truth = read_rows(synth_dir / "truth.csv")
    keys = [(row["agency"], row["record_id"]) for row in truth]

    assert len(keys) == len(set(keys))
    for agency in AGENCIES:
        ids = {row["record_id"] for row in read_rows(synth_dir / f"{agency}.csv")}
        assert ids == {record_id for name, record_id in keys if name == agency}
    assert len({row["person_id"] for row in truth}) == PERSONS


def test_persons_span_agencies_and_agencies_repeat_persons(synth_dir: Path) -> None:
    truth = read_rows(synth_dir / "truth.csv")
    agencies: dict[str, set[str]] = {}
    for row in truth:
        agencies.setdefault(row["person_id"], set()).add(row["agency"])
    per_agency = Counter((row["agency"], row["person_id"]) for row in truth)
    spread = Counter(len(held) for held in agencies.values())

    assert spread[1] > spread[2] > 0
    assert spread[3] + spread[4] > 0
    assert any(count >= 2 for count in per_agency.values())
    assert {agency for (agency, _), count in per_agency.items() if count >= 2} >= {"politie"}


def test_relatives_share_a_surname_and_the_address(population: Population) -> None:
    people = {person.person_id: person for person in population.people}
    relatives = [person for person in population.people if person.relation in FAMILY]

    assert relatives
    for person in relatives:
        anchor = people[str(person.relative_of)]
        assert set(person.surnames) & set(anchor.surnames)
        assert person.home == anchor.home
        assert person.given_names[0] not in anchor.given_names


def test_namesakes_share_the_name_but_not_the_birth_date(population: Population) -> None:
    people = {person.person_id: person for person in population.people}
    namesakes = [p for p in population.people if p.relation is Relation.NAMESAKE]

    assert namesakes
    for person in namesakes:
        anchor = people[str(person.relative_of)]
        assert (person.given_names, person.surnames) == (anchor.given_names, anchor.surnames)
        assert person.birth != anchor.birth


def test_agencies_write_their_own_formats(synth_dir: Path) -> None:
    rows = {agency: read_rows(synth_dir / f"{agency}.csv") for agency in AGENCIES}
    dates = {
        "gemeente": r"\d{2}-\d{2}-\d{4}",
        "politie": r"\d{4}-\d{2}-\d{2}|\d{2}/\d{2}/\d{4}|ONBEKEND",
        "fiu": r"\d{8}",
        "kmar": r"\d{6}",
    }

    for agency, pattern in dates.items():
        assert all(re.fullmatch(pattern, row["date_of_birth"]) for row in rows[agency])
    assert all(row["given_names"].isupper() for row in rows["politie"])
    assert all(row["surnames"].isascii() for row in rows["fiu"] + rows["kmar"])
    assert all(row["phone"][:1] in ("+", "N") for row in rows["fiu"])
    assert any(not row["surnames"].isascii() for row in rows["gemeente"])
    assert {row["nationality"] for row in rows["kmar"]} <= {
        "COL", "VEN", "BRA", "PER", "CUB", "NLD", "BEL",
    }  # fmt: skip


def test_cli_synth_writes_files_and_prints_the_summary(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["synth", "--out", "data", "--persons", "40", "--seed", "3"]) == 0

    out = capsys.readouterr().out
    assert "persons: 40" in out
    assert "persons in 2 or more agencies:" in out
    assert sorted(path.name for path in (workdir / "data").iterdir()) == [
        "fiu.csv", "gemeente.csv", "kmar.csv", "politie.csv", "truth.csv",
    ]  # fmt: skip


def test_cli_synth_refuses_zero_persons(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", "--out", "data", "--persons", "0"]) == 1
    assert "--persons" in capsys.readouterr().err


@given(st.dates(min_value=date(1940, 1, 1), max_value=date(2006, 12, 31)), st.randoms())
def test_date_errors_are_real_dates_the_encoder_accepts(day: date, rng: random.Random) -> None:
    changed = date_error(rng, day)
    swapped = swap_day_month(day)

    assert 1931 <= changed.year <= 2007
    assert swapped is None or (swapped.day, swapped.month) == (day.month, day.day)


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzáéñ", min_size=3, max_size=12), st.randoms())
def test_a_typo_changes_a_word_by_at_most_two_letters(word: str, rng: random.Random) -> None:
    changed = typo(rng, word.capitalize())

    assert abs(len(changed) - len(word)) <= 1
    assert changed[0] == word.capitalize()[0]


def test_a_floor_on_missing_dates_of_birth_reaches_every_agency() -> None:
    plain = synthesize(persons=600, seed=2)
    sparse = synthesize(persons=600, seed=2, missing_dob=0.2)

    def missing(population: Population, agency: str) -> float:
        rows = population.records[agency]
        marker = AGENCIES[agency].missing_marker
        return sum(row["date_of_birth"] in ("", marker) for row in rows) / len(rows)

    for agency in AGENCIES:
        assert missing(sparse, agency) >= 0.12
        assert missing(plain, agency) < 0.1
