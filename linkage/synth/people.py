"""Synthetic persons with families and namesakes: the identities behind the agency records."""

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum
from functools import cache

from linkage.synth import names
from linkage.synth.places import (
    HISPANIC,
    LATIN,
    Origin,
    Place,
    document_number,
    mobile_number,
    random_place,
)

FIRST_BIRTH_YEAR = 1940  # two-digit passport years above the encoder's pivot (30) are 19YY
LAST_BIRTH_YEAR = 2006  # adults only, and never a date in the future
RELATIVE_SHARE = 0.15  # persons added as a sibling, twin, parent or child of an earlier one
NAMESAKE_SHARE = 0.05  # persons who carry an earlier person's full name
ORIGIN_WEIGHTS = {
    Origin.COLOMBIA: 22,
    Origin.VENEZUELA: 18,
    Origin.BRAZIL: 15,
    Origin.PERU: 8,
    Origin.CUBA: 7,
    Origin.NETHERLANDS: 20,
    Origin.BELGIUM: 10,
}


class Relation(StrEnum):
    """How a person relates to the earlier person they were generated from."""

    NONE = "none"
    SIBLING = "sibling"
    TWIN = "twin"  # same birth date, surnames and address: the hardest negative
    PARENT = "parent"
    CHILD = "child"
    NAMESAKE = "namesake"  # same names, otherwise unrelated


FAMILY = frozenset({Relation.SIBLING, Relation.TWIN, Relation.PARENT, Relation.CHILD})


@dataclass(frozen=True, slots=True)
class Person:
    """One synthetic identity; agencies hold distorted copies of it."""

    person_id: str
    origin: Origin
    sex: str  # "f" or "m"
    given_names: tuple[str, ...]
    surnames: tuple[str, ...]  # Spanish/Portuguese: two; Dutch/Belgian: one, with particles
    birth: date
    phones: tuple[str, ...]  # E.164; the first is the one most often given
    home: Place
    document: str
    family: str  # person_id of the family's first member
    relation: Relation
    relative_of: str | None  # person_id of the person this one was generated from


@dataclass(frozen=True, slots=True)
class _NamePool:
    female: tuple[str, ...]
    male: tuple[str, ...]
    surnames: tuple[str, ...]
    second_given: float  # share with two given names
    third_given: float  # share with three
    two_surnames: float


_SPANISH = (names.SPANISH_FEMALE, names.SPANISH_MALE, names.SPANISH_SURNAMES)
_CARIBBEAN = (
    names.SPANISH_FEMALE + names.CARIBBEAN_FEMALE,
    names.SPANISH_MALE + names.CARIBBEAN_MALE,
    names.SPANISH_SURNAMES,
)
_POOLS = {
    Origin.COLOMBIA: _NamePool(*_CARIBBEAN, second_given=0.6, third_given=0.02, two_surnames=1.0),
    Origin.VENEZUELA: _NamePool(*_CARIBBEAN, second_given=0.6, third_given=0.0, two_surnames=1.0),
    Origin.PERU: _NamePool(*_SPANISH, second_given=0.55, third_given=0.0, two_surnames=1.0),
    Origin.CUBA: _NamePool(*_CARIBBEAN, second_given=0.5, third_given=0.0, two_surnames=1.0),
    Origin.BRAZIL: _NamePool(
        names.PORTUGUESE_FEMALE,
        names.PORTUGUESE_MALE,
        names.PORTUGUESE_SURNAMES,
        second_given=0.45,
        third_given=0.02,
        two_surnames=0.75,
    ),
    Origin.NETHERLANDS: _NamePool(
        names.DUTCH_FEMALE, names.DUTCH_MALE, names.DUTCH_SURNAMES, 0.5, 0.2, 0.0
    ),
    Origin.BELGIUM: _NamePool(
        names.BELGIAN_FEMALE, names.BELGIAN_MALE, names.BELGIAN_SURNAMES, 0.45, 0.15, 0.0
    ),
}


def _pick(rng: random.Random, table: Sequence[str]) -> str:
    # Tables list common names first; a Zipf-like weight makes some names frequent, which
    # is what makes namesakes and chance collisions realistic.
    return rng.choices(table, cum_weights=_zipf_cumulative(len(table)))[0]


@cache
def _zipf_cumulative(size: int) -> tuple[float, ...]:
    total = 0.0
    cumulative = []
    for rank in range(size):
        total += 1.0 / (rank + 4)
        cumulative.append(total)
    return tuple(cumulative)


def make_people(
    count: int,
    rng: random.Random,
    *,
    relative_share: float = RELATIVE_SHARE,
    namesake_share: float = NAMESAKE_SHARE,
) -> tuple[Person, ...]:
    """Generate `count` persons; about a fifth are relatives or namesakes of earlier ones.

    Args:
        count: How many persons.
        rng: The seeded random generator; the same state gives the same persons.
        relative_share: Share generated as a sibling, twin, parent or child of an earlier one.
        namesake_share: Share generated with an earlier person's full name.

    Returns:
        The persons, with ids P000001, P000002, ...
    """
    people: list[Person] = []
    for index in range(count):
        person_id = f"P{index + 1:06d}"
        draw = rng.random()
        if people and draw < relative_share:
            person = _relative(rng, rng.choice(people), person_id)
        elif people and draw < relative_share + namesake_share:
            person = _namesake(rng, rng.choice(people), person_id)
        else:
            person = _new_person(rng, person_id)
        people.append(person)
    return tuple(people)


def _new_person(rng: random.Random, person_id: str) -> Person:
    origin = rng.choices(list(ORIGIN_WEIGHTS), weights=list(ORIGIN_WEIGHTS.values()))[0]
    sex = rng.choice("fm")
    home = random_place(rng, country=_home_country(rng, origin))
    return Person(
        person_id=person_id,
        origin=origin,
        sex=sex,
        given_names=_given_names(rng, origin, sex),
        surnames=_surnames(rng, origin),
        birth=_birth(rng),
        phones=_phones(rng, origin, home),
        home=home,
        document=document_number(rng, origin),
        family=person_id,
        relation=Relation.NONE,
        relative_of=None,
    )


def _home_country(rng: random.Random, origin: Origin) -> str:
    if origin is Origin.NETHERLANDS:
        return "NLD" if rng.random() < 0.95 else "BEL"
    if origin is Origin.BELGIUM:
        return "BEL" if rng.random() < 0.95 else "NLD"
    return "NLD" if rng.random() < 0.7 else "BEL"


def _given_names(rng: random.Random, origin: Origin, sex: str) -> tuple[str, ...]:
    pool = _POOLS[origin]
    table = pool.female if sex == "f" else pool.male
    draw = rng.random()
    count = 3 if draw < pool.third_given else 2 if draw < pool.second_given else 1
    chosen: list[str] = []
    while len(chosen) < count:
        name = _pick(rng, table)
        if name not in chosen:
            chosen.append(name)
    return tuple(chosen)


def _surnames(rng: random.Random, origin: Origin) -> tuple[str, ...]:
    pool = _POOLS[origin]
    first = _pick(rng, pool.surnames)
    if rng.random() >= pool.two_surnames:
        return (first,)
    return (first, _other_surname(rng, origin, first))


def _other_surname(rng: random.Random, origin: Origin, taken: str) -> str:
    while True:
        name = _pick(rng, _POOLS[origin].surnames)
        if name != taken:
            return name


def _birth(rng: random.Random) -> date:
    year = int(rng.triangular(1955, LAST_BIRTH_YEAR + 1, 1994))
    return _day_in(rng, min(year, LAST_BIRTH_YEAR))


def _day_in(rng: random.Random, year: int) -> date:
    return date(year, 1, 1) + timedelta(days=rng.randrange(365))


def _phones(rng: random.Random, origin: Origin, home: Place) -> tuple[str, ...]:
    local = home.city.country
    from_home_country = origin in LATIN and rng.random() < 0.25
    first = mobile_number(rng, origin.value if from_home_country else local)
    # Prepaid numbers change often among the persons this tool is for.
    extra = rng.choices((0, 1, 2), weights=(6, 3, 1) if origin in LATIN else (17, 3, 0))[0]
    return (first, *(mobile_number(rng, local) for _ in range(extra)))


def _namesake(rng: random.Random, anchor: Person, person_id: str) -> Person:
    other = _new_person(rng, person_id)
    birth = anchor.birth
    while abs(birth.year - anchor.birth.year) < 1:
        birth = _birth(rng)
    return replace(
        other,
        origin=anchor.origin,
        sex=anchor.sex,
        given_names=anchor.given_names,
        surnames=anchor.surnames,
        birth=birth,
        document=document_number(rng, anchor.origin),
        relation=Relation.NAMESAKE,
        relative_of=anchor.person_id,
    )


def _relative(rng: random.Random, anchor: Person, person_id: str) -> Person:
    relation = rng.choices(
        (Relation.SIBLING, Relation.TWIN, Relation.PARENT, Relation.CHILD), weights=(5, 1, 2, 2)
    )[0]
    birth = _relative_birth(rng, anchor.birth, relation)
    if birth is None:  # a parent or child would be born outside the years we generate
        relation, birth = Relation.SIBLING, _relative_birth(rng, anchor.birth, Relation.SIBLING)
    sex = rng.choice("fm")
    given = _given_names(rng, anchor.origin, sex)
    while given[0] in anchor.given_names:
        given = _given_names(rng, anchor.origin, sex)
    shared_phone = rng.random() < 0.4  # a household phone, or one phone for the family
    own_phones = _phones(rng, anchor.origin, anchor.home)
    return Person(
        person_id=person_id,
        origin=anchor.origin,
        sex=sex,
        given_names=given,
        surnames=_relative_surnames(rng, anchor, relation, sex),
        birth=birth or anchor.birth,
        phones=(anchor.phones[0], *own_phones[1:]) if shared_phone else own_phones,
        home=anchor.home,
        document=document_number(rng, anchor.origin),
        family=anchor.family,
        relation=relation,
        relative_of=anchor.person_id,
    )


def _relative_birth(rng: random.Random, birth: date, relation: Relation) -> date | None:
    if relation is Relation.TWIN:
        return birth
    if relation is Relation.SIBLING:
        year = birth.year + rng.choice((-1, 1)) * rng.randint(1, 9)
    elif relation is Relation.PARENT:
        year = birth.year - rng.randint(18, 40)
    else:
        year = birth.year + rng.randint(18, 38)
    if not FIRST_BIRTH_YEAR <= year <= LAST_BIRTH_YEAR:
        return None if relation is not Relation.SIBLING else _day_in(rng, birth.year)
    return _day_in(rng, year)


def _relative_surnames(
    rng: random.Random, anchor: Person, relation: Relation, sex: str
) -> tuple[str, ...]:
    if relation in (Relation.SIBLING, Relation.TWIN) or anchor.origin not in LATIN:
        return anchor.surnames
    new = _other_surname(rng, anchor.origin, anchor.surnames[0])
    hispanic = anchor.origin in HISPANIC
    if relation is Relation.PARENT:
        # Spanish: a child is "father's first, mother's first" surname; Brazilian: "mother's
        # last, father's last". The parent keeps the passed-on name in that position.
        if hispanic:
            return (anchor.surnames[0] if sex == "m" else anchor.surnames[-1], new)
        return (new, anchor.surnames[-1] if sex == "m" else anchor.surnames[0])
    passed = anchor.surnames[0] if hispanic else anchor.surnames[-1]
    if hispanic:
        return (passed, new) if anchor.sex == "m" else (new, passed)
    return (new, passed) if anchor.sex == "m" else (passed, new)
