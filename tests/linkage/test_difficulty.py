"""The generator's difficulty settings: each error class appears, the default is unchanged."""

import csv
import re
from pathlib import Path

import pytest

from linkage.cli import main
from linkage.synth import synthesize
from linkage.synth.agencies import AGENCIES, agency_styles
from linkage.synth.difficulty import DEFAULT, HARD, SETTINGS, difficulty
from linkage.synth.distort import loose_phone, split_word

PERSONS = 600


def test_default_styles_are_the_agencies_own() -> None:
    styles = agency_styles()

    for name, style in AGENCIES.items():
        assert styles[name] == style


def test_hard_scales_the_agencies_errors_and_adds_classes() -> None:
    styles = agency_styles(difficulty=HARD)

    politie = styles["politie"].errors
    assert politie.typo == pytest.approx(2 * AGENCIES["politie"].errors.typo)
    assert politie.loose_phone == 0.3 and politie.swap_names > 0.1
    assert styles["gemeente"].errors.merge_given == HARD.merge_given
    assert all(s.errors.missing["date_of_birth"] >= HARD.missing_dob for s in styles.values())


def test_hard_data_hold_every_error_class() -> None:
    truth = synthesize(persons=PERSONS, seed=3, difficulty=HARD)
    people = {p.person_id: p for p in truth.people}
    swapped = merged = split = loose = 0
    for agency, rows in truth.records.items():
        owners = {rid: pid for a, rid, pid in truth.truth if a == agency}
        for row in rows:
            person = people[owners[row["record_id"]]]
            given = row["given_names"].casefold()
            if person.surnames[0].split(" ")[-1].casefold() in given.split(" ")[:1]:
                swapped += 1
            if (
                len(person.given_names) > 1
                and (person.given_names[0] + person.given_names[1]).casefold() in given
            ):
                merged += 1
            if re.search(r"[a-zA-Z] [a-z]", row["surnames"] + " " + row["given_names"]):
                split += 1
            if re.search(r"[a-zA-Z/]", row["phone"]) and row["phone"] not in ("ONBEKEND", "N/A"):
                loose += 1
    assert swapped > 20 and merged > 5 and split > 5 and loose > 5


def test_default_setting_gives_the_data_it_always_gave() -> None:
    assert synthesize(persons=150, seed=4) == synthesize(persons=150, seed=4, difficulty=DEFAULT)


def test_harder_settings_hold_more_namesakes() -> None:
    plain = synthesize(persons=PERSONS, seed=2)
    hard = synthesize(persons=PERSONS, seed=2, difficulty=HARD)

    def namesakes(population: object) -> int:
        return sum(p.relation == "namesake" for p in population.people)  # type: ignore[attr-defined]

    assert namesakes(hard) > namesakes(plain)


def test_split_and_loose_phone_change_what_strict_rules_read() -> None:
    import random

    rng = random.Random(1)
    assert " " in split_word(rng, "Fernandez")
    assert split_word(rng, "Ana") == "Ana"
    written = {loose_phone(random.Random(seed), "+31 6 12345678") for seed in range(40)}
    assert len(written) > 5 and "+31 6 12345678" not in written


def test_unknown_setting_is_named() -> None:
    with pytest.raises(ValueError, match="fieldlab"):
        difficulty("brutal")
    assert set(SETTINGS) == {"default", "fieldlab", "hard"}


def test_synth_command_takes_a_difficulty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["synth", "--out", str(tmp_path), "--persons", "80", "--difficulty", "hard"]) == 0
    assert "persons: 80" in capsys.readouterr().out
    with (tmp_path / "politie.csv").open(encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) > 10
