"""Synthetic multi-agency person records with a known truth, for testing and evaluation.

Persons from Colombia, Venezuela, Brazil, Peru, Cuba, the Netherlands and Belgium appear in
the files of one or more agencies (gemeente, politie, fiu, kmar), each written in that
agency's formats and with its typical errors (see `linkage.synth.agencies`). Relatives who
share surnames, address and phone, and namesakes with another birth date, are the hard
negatives. Every name, date and number is made up; the output is deterministic per seed.
"""

import csv
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from linkage.synth.agencies import (
    AGENCIES,
    FIELDS,
    agency_styles,
    choose_agencies,
    visit_count,
)
from linkage.synth.difficulty import DEFAULT, Difficulty
from linkage.synth.people import FAMILY, Person, Relation, make_people
from linkage.synth.render import render_record

TRUTH_HEADER = ("agency", "record_id", "person_id")
FAMILY_SHARE = 0.5  # relatives who are known to the same agencies as their relative


@dataclass(frozen=True, slots=True)
class Population:
    """Synthetic persons and the agency records written about them."""

    people: tuple[Person, ...]
    records: Mapping[str, tuple[dict[str, str], ...]]  # agency -> rows in file order
    truth: tuple[tuple[str, str, str], ...]  # (agency, record_id, person_id)


@dataclass(frozen=True, slots=True)
class SynthSummary:
    """Counts describing a generated data set."""

    persons: int
    records: Mapping[str, int]  # agency -> records
    persons_per_agency_count: Mapping[int, int]  # number of agencies -> persons
    multi_agency_persons: int  # persons in two or more agencies
    repeated_persons: Mapping[str, int]  # agency -> persons with two or more records there
    relatives: int
    namesakes: int
    out_dir: Path | None = None


def synthesize(
    *,
    persons: int = 2000,
    seed: int = 0,
    missing_dob: float = 0.0,
    difficulty: Difficulty = DEFAULT,
) -> Population:
    """Generate persons and their agency records in memory; no files are written.

    Args:
        persons: How many distinct persons.
        seed: Seed of the random generator; equal seeds give equal populations.
        missing_dob: The least share of each agency's records without a date of birth.
        difficulty: Error rates and classes beyond the agencies' styles
            (`linkage.synth.difficulty`); the default leaves the styles as they are.

    Returns:
        The persons, each agency's records (with `record_id`) and the truth rows.
    """
    # A seeded generator, not a secret: synthetic test data must be reproducible.
    rng = random.Random(seed)  # noqa: S311
    people = make_people(
        persons,
        rng,
        relative_share=difficulty.relative_share,
        namesake_share=difficulty.namesake_share,
    )
    styles = agency_styles(missing_dob=missing_dob, difficulty=difficulty)
    held: dict[str, tuple[str, ...]] = {}
    rows: dict[str, list[tuple[str, dict[str, str]]]] = {name: [] for name in AGENCIES}
    for person in people:
        agencies = _agencies_of(rng, person, held)
        held[person.person_id] = agencies
        for name in agencies:
            style = styles[name]
            for visit in range(visit_count(rng, style)):
                rows[name].append((person.person_id, render_record(rng, person, style, visit)))
    return _numbered(rng, people, rows)


def _agencies_of(
    rng: random.Random, person: Person, held: Mapping[str, tuple[str, ...]]
) -> tuple[str, ...]:
    # Families are often met together (same address, same control), which puts relatives
    # into the same agencies' files: the negatives a matcher must not merge.
    if person.relation in FAMILY and person.relative_of is not None and rng.random() < FAMILY_SHARE:
        return held[person.relative_of]
    return choose_agencies(rng)


def _numbered(
    rng: random.Random,
    people: tuple[Person, ...],
    rows: Mapping[str, list[tuple[str, dict[str, str]]]],
) -> Population:
    # Shuffled before numbering, so neither file order nor record ids reveal who is who.
    records: dict[str, tuple[dict[str, str], ...]] = {}
    truth: list[tuple[str, str, str]] = []
    for name, agency_rows in rows.items():
        shuffled = list(agency_rows)
        rng.shuffle(shuffled)
        numbered = []
        for number, (person_id, row) in enumerate(shuffled, 1):
            record_id = AGENCIES[name].id_format.format(number)
            numbered.append({"record_id": record_id, **row})
            truth.append((name, record_id, person_id))
        records[name] = tuple(numbered)
    return Population(people=people, records=records, truth=tuple(truth))


def summarize(population: Population, out_dir: Path | None = None) -> SynthSummary:
    """Count persons, records, and persons held by several agencies or several times."""
    agencies_per_person: dict[str, set[str]] = {}
    per_agency: Counter[tuple[str, str]] = Counter()
    for agency, _, person_id in population.truth:
        agencies_per_person.setdefault(person_id, set()).add(agency)
        per_agency[agency, person_id] += 1
    spread = Counter(len(agencies) for agencies in agencies_per_person.values())
    repeated = Counter(agency for (agency, _), count in per_agency.items() if count >= 2)
    relations = Counter(person.relation for person in population.people)
    return SynthSummary(
        persons=len(population.people),
        records={name: len(rows) for name, rows in population.records.items()},
        persons_per_agency_count=dict(sorted(spread.items())),
        multi_agency_persons=sum(count for size, count in spread.items() if size >= 2),
        repeated_persons={name: repeated[name] for name in population.records},
        relatives=sum(relations[relation] for relation in FAMILY),
        namesakes=relations[Relation.NAMESAKE],
        out_dir=out_dir,
    )


def generate(
    out_dir: Path,
    *,
    persons: int = 2000,
    seed: int = 0,
    missing_dob: float = 0.0,
    difficulty: Difficulty = DEFAULT,
) -> SynthSummary:
    """Write one CSV file per agency and `truth.csv` (agency, record_id, person_id).

    Args:
        out_dir: The directory to write to; created when missing. Existing files
            with the same names are replaced.
        persons: How many distinct persons.
        seed: Seed of the random generator; equal seeds give byte-identical files.
        missing_dob: The least share of each agency's records without a date of birth.
        difficulty: Error rates and classes beyond the agencies' styles.

    Returns:
        Counts of what was written.
    """
    population = synthesize(
        persons=persons, seed=seed, missing_dob=missing_dob, difficulty=difficulty
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, records in population.records.items():
        style = AGENCIES[name]
        header = ["record_id", *FIELDS, style.extra_column]
        _write_csv(out_dir / f"{name}.csv", header, records, delimiter=style.delimiter)
    truth = [dict(zip(TRUTH_HEADER, row, strict=True)) for row in population.truth]
    _write_csv(out_dir / "truth.csv", list(TRUTH_HEADER), truth, delimiter=",")
    return summarize(population, out_dir)


def _write_csv(
    path: Path, header: list[str], rows: Sequence[Mapping[str, str]], *, delimiter: str
) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, delimiter=delimiter, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def format_summary(summary: SynthSummary) -> str:
    """The summary as a few lines of text."""
    lines = [f"persons: {summary.persons}"]
    lines += [f"records {agency}: {count}" for agency, count in summary.records.items()]
    lines.append(f"records total: {sum(summary.records.values())}")
    lines += [
        f"persons in {size} agenc{'y' if size == 1 else 'ies'}: {count}"
        for size, count in summary.persons_per_agency_count.items()
    ]
    lines.append(f"persons in 2 or more agencies: {summary.multi_agency_persons}")
    lines += [
        f"persons with 2+ records in {agency}: {count}"
        for agency, count in summary.repeated_persons.items()
    ]
    lines.append(f"relatives (hard negatives): {summary.relatives}")
    lines.append(f"namesakes (hard negatives): {summary.namesakes}")
    if summary.out_dir is not None:
        lines.append(f"written to: {summary.out_dir}")
    return "\n".join(lines)
