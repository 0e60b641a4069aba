"""Synthetic population, victim file, attacker register, and the encoding of each.

Why: an attack's success depends on how names are distributed. `linkage.synth.people`
draws names from tables of about a hundred names per origin with a Zipf-like weight, so
almost every surname recurs: frequency attacks then look stronger (and dictionary
attacks easier) than on a real population, where a large share of surnames occur once.
`make_population` adds a long tail: a share of surnames (kept within a family) and of
first given names is replaced by a rare name synthesised by a character model (order-2
Markov chain) trained on the name tables, so that some 30-60 % of the distinct surnames
are singletons, as in real registers (ATTACKS.md section 7.1).

The victim file (`encoded_file`) is a sample of the population with typos, variants,
date errors and missing dates; the attacker's register (`register`) holds correct values
of a share `coverage` of the victim's persons and as many other persons again, so the
attacker does not know who is in the file. Person ids are kept only for scoring.

`encode` uses the public encoder API. Forward compatibility: schemas that encode each
record in K salt families carry `families` on their layout; a row is then K blocks, and
`family_blocks` splits them so that each attack treats each block as its own encoding.
"""

import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date
from functools import cache

import numpy as np
import numpy.typing as npt

from keys import LinkageSecret
from linkage.comparisons import comparison_layout
from linkage.encode import encode_records
from linkage.match.layout import ComparisonLayout
from linkage.normalize import normalize_value
from linkage.schema import LinkageSchema
from linkage.synth import distort, names
from linkage.synth.people import Person, make_people

SURNAME_TAIL = 0.11  # share of (family, surname) replaced by a synthesised rare surname
GIVEN_TAIL = 0.06  # share of first given names replaced by a synthesised rare name
DATE_TYPO = 0.03  # share of victim records with a wrong date of birth
Bytes = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class PlainRecord:
    """One person's raw values for the schema fields ("" when missing) and its person id."""

    person_id: str
    given_names: str
    surnames: str
    date_of_birth: str  # YYYY-MM-DD
    sex: str
    nationality: str
    phone: str
    postcode: str
    city: str
    document_number: str

    def values(self) -> dict[str, str]:
        """Field name -> raw value, for the encoder (no person id)."""
        return {item.name: getattr(self, item.name) for item in fields(self)[1:]}


# --------------------------------------------------------------------------- long tail


class NameModel:
    """An order-2 character Markov chain over a name table: plausible rare names."""

    def __init__(self, table: Iterable[str]) -> None:
        """Count letter transitions of every word of the table (lowercase)."""
        self.known = {word.lower() for name in table for word in name.split(" ")}
        self.next: dict[str, Counter[str]] = defaultdict(Counter)
        for word in sorted(self.known):  # sorted: the same chain whatever the hash seed
            padded = f"^^{word}$"
            for index in range(2, len(padded)):
                self.next[padded[index - 2 : index]][padded[index]] += 1

    def sample(self, rng: random.Random) -> str:
        """A new capitalised word of 4-11 letters not in the table."""
        while True:
            context, letters = "^^", list[str]()
            while len(letters) < 12:
                options = self.next[context]
                letter = rng.choices(list(options), weights=list(options.values()))[0]
                if letter == "$":
                    break
                letters.append(letter)
                context = context[1] + letter
            word = "".join(letters)
            if 4 <= len(word) <= 11 and word not in self.known:
                return word.capitalize()


@cache
def _surname_model() -> NameModel:
    tables = (names.SPANISH_SURNAMES, names.PORTUGUESE_SURNAMES)
    dutch = (names.DUTCH_SURNAMES, names.BELGIAN_SURNAMES)
    # Dutch particles ("van der Berg") would teach the model spaces; keep last words only.
    return NameModel([*(n for t in tables for n in t), *(n.split()[-1] for t in dutch for n in t)])


@cache
def _given_model() -> NameModel:
    tables = (
        names.SPANISH_FEMALE,
        names.SPANISH_MALE,
        names.PORTUGUESE_FEMALE,
        names.PORTUGUESE_MALE,
        names.DUTCH_FEMALE,
        names.DUTCH_MALE,
        names.BELGIAN_FEMALE,
        names.BELGIAN_MALE,
    )
    return NameModel(name for table in tables for name in table)


def _with_tail(people: Sequence[Person], rng: random.Random) -> list[Person]:
    # A replaced surname stays replaced for the whole family, so relatives keep sharing it.
    rare: dict[tuple[str, str], str] = {}
    out = []
    for person in people:
        surnames = []
        for surname in person.surnames:
            key = (person.family, surname)
            if key not in rare:
                tail = rng.random() < SURNAME_TAIL
                rare[key] = _surname_model().sample(rng) if tail else surname
            surnames.append(rare[key])
        given = person.given_names
        if rng.random() < GIVEN_TAIL:
            given = (_given_model().sample(rng), *given[1:])
        out.append(replace(person, surnames=tuple(surnames), given_names=given))
    return out


def _plain(person: Person) -> PlainRecord:
    return PlainRecord(
        person_id=person.person_id,
        given_names=" ".join(person.given_names),
        surnames=" ".join(person.surnames),
        date_of_birth=person.birth.isoformat(),
        sex=person.sex,
        nationality=person.origin.value,
        phone=person.phones[0],
        postcode=person.home.postcode,
        city=person.home.city.name,
        document_number=person.document,
    )


def make_population(persons: int, seed: int) -> list[PlainRecord]:
    """`persons` synthetic persons with a long tail of rare names (deterministic per seed)."""
    rng = random.Random(f"privacy-population-{seed}")
    return [_plain(person) for person in _with_tail(make_people(persons, rng), rng)]


def singleton_share(values: Iterable[str]) -> tuple[float, float]:
    """(share of distinct values that occur once, share of records holding such a value)."""
    counts = Counter(value for value in values if value)
    once = sum(1 for count in counts.values() if count == 1)
    total = sum(counts.values())
    return once / max(len(counts), 1), once / max(total, 1)


def name_statistics(records: Sequence[PlainRecord]) -> dict[str, float]:
    """Singleton shares of first surnames and first given names (the long-tail check)."""
    surnames = singleton_share(r.surnames.split(" ")[0] for r in records)
    given = singleton_share(r.given_names.split(" ")[0] for r in records)
    return {
        "surname_distinct_singleton_share": surnames[0],
        "surname_record_singleton_share": surnames[1],
        "given_distinct_singleton_share": given[0],
        "given_record_singleton_share": given[1],
    }


# --------------------------------------------------------------------------- victim, register


def _name_variant(rng: random.Random, record: PlainRecord) -> PlainRecord:
    given: tuple[str, ...] = tuple(record.given_names.split(" "))
    surnames: tuple[str, ...] = (record.surnames,)
    draw = rng.random()
    if draw < 0.15:
        given = distort.nickname(rng, given) or given
    elif draw < 0.55:
        given = distort.distort_one_word(rng, given, distort.typo)
    elif draw < 0.9:
        surnames = distort.distort_one_word(rng, surnames, distort.typo)
    else:
        surnames = distort.distort_one_word(rng, surnames, distort.phonetic)
    return replace(record, given_names=" ".join(given), surnames=" ".join(surnames))


def _date_variant(rng: random.Random, record: PlainRecord) -> PlainRecord:
    day = date.fromisoformat(record.date_of_birth)
    wrong = distort.swap_day_month(day) if rng.random() < 0.3 else None
    return replace(record, date_of_birth=(wrong or distort.date_error(rng, day)).isoformat())


def encoded_file(
    population: Sequence[PlainRecord],
    size: int,
    typo_rate: float = 0.15,
    missing_dob: float = 0.05,
    seed: int = 0,
    date_typo: float = DATE_TYPO,
) -> list[PlainRecord]:
    """The victim file: `size` distinct persons of the population, with errors.

    Args:
        population: The persons.
        size: How many records (one per person).
        typo_rate: Share with a typo, sound-alike or nickname in a name.
        missing_dob: Share without a date of birth.
        seed: Seed of the sample and the errors.
        date_typo: Share with a wrong date of birth.
    """
    rng = random.Random(f"privacy-victim-{seed}")
    out = []
    for record in rng.sample(list(population), size):
        if rng.random() < typo_rate:
            record = _name_variant(rng, record)
        draw = rng.random()
        if draw < missing_dob:
            record = replace(record, date_of_birth="")
        elif draw < missing_dob + date_typo:
            record = _date_variant(rng, record)
        out.append(record)
    return out


def register(
    population: Sequence[PlainRecord],
    victim: Sequence[PlainRecord],
    coverage: float,
    extra: float = 1.0,
    seed: int = 0,
) -> list[PlainRecord]:
    """The attacker's plaintext register: correct values, shuffled.

    Args:
        population: The persons (correct values).
        victim: The victim file; only its person ids are used.
        coverage: Share of the victim's persons the register holds.
        extra: Persons not in the victim file, as a multiple of the victim file's size.
        seed: Seed of the sample.
    """
    rng = random.Random(f"privacy-register-{seed}-{coverage}")
    inside = {record.person_id for record in victim}
    ordered = sorted(inside)
    chosen = set(rng.sample(ordered, round(coverage * len(ordered))))
    outside = [record for record in population if record.person_id not in inside]
    others = rng.sample(outside, min(len(outside), round(extra * len(victim))))
    held = [record for record in population if record.person_id in chosen] + others
    rng.shuffle(held)
    return held


def truth_indices(victim: Sequence[PlainRecord], held: Sequence[PlainRecord]) -> Bytes:
    """For each victim record, the register index of the same person, or -1 (scoring only)."""
    where = {record.person_id: index for index, record in enumerate(held)}
    return np.array([where.get(record.person_id, -1) for record in victim], dtype=np.int64)


# --------------------------------------------------------------------------- encoding


@dataclass(frozen=True, slots=True)
class Encoded:
    """Filters and comparison encodings of some records, and the public layout."""

    filters: Bytes  # rows x (families * filter bytes)
    comparisons: Bytes  # rows x (families * 8 * layout.words)
    layout: ComparisonLayout

    def __iter__(self):  # type: ignore[no-untyped-def]
        """Unpack as (filters, comparisons, layout)."""
        return iter((self.filters, self.comparisons, self.layout))


def encode(records: Sequence[PlainRecord], schema: LinkageSchema, secret: LinkageSecret) -> Encoded:
    """Encode the records with the public API: (filters, comparisons, layout)."""
    encoded = encode_records([record.values() for record in records], schema, secret)
    if encoded.comparisons is None:
        raise ValueError("the schema has no comparisons")
    if len(encoded.rows) != len(records):
        raise ValueError("the encoder rejected records; the benchmark needs every row")
    return Encoded(encoded.filters, encoded.comparisons, comparison_layout(schema))


def families(layout: ComparisonLayout) -> int:
    """How many salt families each row holds (1 for today's schemas)."""
    return int(getattr(layout, "families", 1))


def family_blocks(
    comparisons: Bytes, layout: ComparisonLayout
) -> list[tuple[npt.NDArray[np.uint64], npt.NDArray[np.bool_]]]:
    """Each family's comparison words (rows x layout.words) and which rows it holds."""
    width = 8 * layout.words
    out = []
    for family in range(families(layout)):
        block = np.ascontiguousarray(comparisons[:, family * width : (family + 1) * width])
        words = block.view(np.uint64).reshape(len(block), layout.words)
        out.append((words, words[:, 0] != 0))
    return out


def filter_blocks(filters: Bytes, layout: ComparisonLayout) -> list[Bytes]:
    """Each family's record-level filters (rows x filter bytes)."""
    count = families(layout)
    width = filters.shape[1] // count
    return [filters[:, f * width : (f + 1) * width] for f in range(count)]


def normalized(schema: LinkageSchema, field: str, raw: str) -> str | None:
    """A raw value normalised as the encoder does (public code: no key needed)."""
    try:
        return normalize_value(schema.field(field), raw)
    except Exception:  # an invalid value is encoded as missing
        return None


def normalized_column(
    schema: LinkageSchema, records: Sequence[PlainRecord], field: str
) -> list[str | None]:
    """One field of every record, normalised (distinct raw values once)."""
    cache: Mapping[str, str | None] = {
        raw: normalized(schema, field, raw) for raw in {getattr(r, field) for r in records}
    }
    return [cache[getattr(record, field)] for record in records]
