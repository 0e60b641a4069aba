"""Places, phone numbers and document numbers for synthetic persons (all made up)."""

import random
from dataclasses import dataclass
from enum import StrEnum


class Origin(StrEnum):
    """Where a synthetic person comes from: the ISO 3166-1 alpha-3 code of the nationality."""

    COLOMBIA = "COL"
    VENEZUELA = "VEN"
    BRAZIL = "BRA"
    PERU = "PER"
    CUBA = "CUB"
    NETHERLANDS = "NLD"
    BELGIUM = "BEL"


HISPANIC = frozenset({Origin.COLOMBIA, Origin.VENEZUELA, Origin.PERU, Origin.CUBA})
LATIN = HISPANIC | {Origin.BRAZIL}


@dataclass(frozen=True, slots=True)
class City:
    """A Dutch or Belgian city: its official name, other names in use, postcode range."""

    name: str
    country: str  # "NLD" or "BEL"
    postcodes: tuple[int, ...]  # NL: four-digit range (first, last); BE: the codes in use
    other_names: tuple[str, ...] = ()
    weight: int = 1  # larger cities hold more records


@dataclass(frozen=True, slots=True)
class Place:
    """An address as far as the schema sees it: a city and a postcode."""

    city: City
    postcode: str  # canonical: "3011 AB" (NL) or "2000" (BE)


def _nl(name: str, first: int, last: int, *other_names: str, weight: int = 1) -> City:
    return City(name, "NLD", (first, last), other_names, weight)


def _be(name: str, codes: str, *other_names: str, weight: int = 1) -> City:
    return City(name, "BEL", tuple(int(code) for code in codes.split()), other_names, weight)


CITIES = (
    _nl("Amsterdam", 1011, 1109, weight=4),
    _nl("Almere", 1311, 1364),
    _nl("Haarlem", 2011, 2037),
    _nl("Leiden", 2311, 2334),
    _nl("'s-Gravenhage", 2491, 2597, "Den Haag", weight=3),
    _nl("Rotterdam", 3011, 3089, weight=4),
    _nl("Schiedam", 3111, 3125),
    _nl("Utrecht", 3511, 3585, weight=2),
    _nl("Vlissingen", 4381, 4389),
    _nl("Terneuzen", 4531, 4539),
    _nl("Bergen op Zoom", 4611, 4625),
    _nl("Roosendaal", 4701, 4709),
    _nl("Breda", 4811, 4838, weight=2),
    _nl("Tilburg", 5011, 5049, weight=2),
    _nl("'s-Hertogenbosch", 5211, 5237, "Den Bosch"),
    _nl("Eindhoven", 5611, 5658, weight=2),
    _nl("Venlo", 5911, 5928),
    _nl("Maastricht", 6211, 6229),
    _nl("Heerlen", 6411, 6422),
    _nl("Nijmegen", 6511, 6546),
    _nl("Arnhem", 6811, 6846),
    _nl("Enschede", 7511, 7548),
    _nl("Zwolle", 8011, 8043),
    _nl("Groningen", 9711, 9747),
    _be(
        "Brussel",
        "1000 1020 1030 1040 1050 1060 1070 1080 1090 1120 1180 1190 1210",
        "Bruxelles",
        weight=3,
    ),
    _be(
        "Antwerpen",
        "2000 2018 2020 2030 2040 2050 2060 2100 2140 2170 2180 2600 2660",
        "Anvers",
        weight=3,
    ),
    _be("Mechelen", "2800 2811 2812", "Malines"),
    _be("Leuven", "3000 3001 3010 3012 3018", "Louvain"),
    _be("Hasselt", "3500 3510 3511 3512"),
    _be("Liège", "4000 4020 4030 4031 4032", "Luik"),
    _be("Namur", "5000 5001 5002 5003 5004 5020 5100", "Namen"),
    _be("Charleroi", "6000 6001 6010 6020 6030 6031 6032 6040 6041 6042 6060 6061"),
    _be("Brugge", "8000 8200 8310", "Bruges"),
    _be("Oostende", "8400"),
    _be("Gent", "9000 9030 9031 9032 9040 9041 9042 9050 9051 9052", "Gand", weight=2),
)
# Letter pairs of Dutch postcodes avoid these letters and a few combinations.
_POSTCODE_LETTERS = "ABCEGHJKLMNPRSTVWXZ"
_POSTCODE_PAIRS_NOT_USED = frozenset({"SA", "SD", "SS"})


def random_place(rng: random.Random, *, country: str | None = None) -> Place:
    """A random address, in `country` ("NLD" or "BEL") when given."""
    cities = [city for city in CITIES if country in (None, city.country)]
    city = rng.choices(cities, weights=[city.weight for city in cities])[0]
    if city.country == "BEL":
        return Place(city, str(rng.choice(city.postcodes)))
    digits = rng.randint(city.postcodes[0], city.postcodes[1])
    letters = "SA"
    while letters in _POSTCODE_PAIRS_NOT_USED:
        letters = "".join(rng.choices(_POSTCODE_LETTERS, k=2))
    return Place(city, f"{digits} {letters}")


# Mobile prefixes (country code and operator) and how many digits follow, per country.
_MOBILE_PREFIXES = {
    "NLD": (("+3161", "+3162", "+3163", "+3164", "+3165"), 7),
    "BEL": (("+32460", "+32470", "+32472", "+32475", "+32477", "+32486", "+32494"), 6),
    "COL": (("+57300", "+57310", "+57311", "+57312", "+57315", "+57320"), 7),
    "VEN": (("+58412", "+58414", "+58416", "+58424", "+58426"), 7),
    "BRA": (("+55119", "+55219", "+55319", "+55419", "+55619", "+55719", "+55859"), 8),
    "PER": (("+519",), 8),
    "CUB": (("+535",), 7),
}


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choices("0123456789", k=count))


def mobile_number(rng: random.Random, country: str) -> str:
    """A made-up mobile number of the country (alpha-3 code), in E.164 form."""
    prefixes, digits = _MOBILE_PREFIXES[country]
    return rng.choice(prefixes) + _digits(rng, digits)


def _letters(rng: random.Random, count: int) -> str:
    return "".join(rng.choices("ABCDEFGHJKLMNPRSTUVWXYZ", k=count))


def document_number(rng: random.Random, origin: Origin) -> str:
    """A made-up passport or identity card number in the style of the origin country."""
    if origin is Origin.NETHERLANDS:  # nine characters, no letter O, last one a digit
        middle = "".join(rng.choices("0123456789BCDFHJKLMNPRTVWXZ", k=6))
        return f"N{_letters(rng, 1)}{middle}{_digits(rng, 1)}"
    if origin in (Origin.VENEZUELA, Origin.PERU):
        return _digits(rng, 9)
    if origin is Origin.CUBA:
        return f"{rng.choice('BIKL')}{_digits(rng, 6)}"
    return f"{_letters(rng, 2)}{_digits(rng, 6)}"
