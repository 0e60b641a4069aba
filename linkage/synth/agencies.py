"""How each agency writes its records: formats, conventions and error rates.

Every agency uses the person schema's field names as columns, but its own formats:

- gemeente (municipal register): DD-MM-YYYY, full names with accents, Dutch nationality
  adjectives, official city names ('s-Gravenhage), few errors, semicolon-separated export.
- politie (police): YYYY-MM-DD, UPPERCASE names, often only the first surname, day and
  month sometimes swapped, names heard on the street (sound-alikes, nicknames), many
  missing postcodes, several records per person (controls in several cities).
- fiu (Financial Intelligence Unit, bank reports): YYYYMMDD, accents lost, phone in E.164,
  ISO alpha-2 or English nationality, surnames sometimes hyphenated or swapped with given
  names on a form.
- kmar (border police): passport style: YYMMDD, UPPERCASE without accents, both surnames,
  ISO alpha-3 nationality, a document number on every record, addresses often missing.
"""

import dataclasses
import random
from collections.abc import Mapping
from dataclasses import dataclass

from linkage.synth.difficulty import DEFAULT, Difficulty

FIELDS = (
    "given_names", "surnames", "date_of_birth", "sex", "nationality", "phone", "postcode",
    "city", "document_number",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ErrorRates:
    """Per-record probabilities of each kind of error; `missing` is per field."""

    typo: float  # one keyboard error in a name
    phonetic: float  # one sound-alike respelling in a name
    nickname: float  # given names replaced by a known short name
    drop_given: float  # only the first given name
    drop_surname: float  # only the principal surname
    swap_names: float  # given names and surnames in each other's column
    swap_day_month: float
    date_error: float
    digit_typo: float  # a mistyped digit in a phone number or postcode
    document_typo: float
    missing: Mapping[str, float]
    # Error classes only the harder generator settings make (`linkage.synth.difficulty`).
    merge_given: float = 0.0  # two given names written as one word
    split_name: float = 0.0  # a space slipped into one name word
    surname_in_given: float = 0.0  # the first surname word written among the given names
    compound_cut: float = 0.0  # a compound surname cut to its first part
    loose_phone: float = 0.0  # the phone written so that strict validation fails
    dob_gone_distorted: float = 0.0  # a record missing its date gets one more name error


@dataclass(frozen=True, slots=True)
class AgencyStyle:
    """One agency's conventions for writing a person's record."""

    name: str
    id_format: str  # local record ids, numbered in file order
    delimiter: str
    weight: float  # how likely a person is to be in this agency's files
    visits: tuple[float, ...]  # weights of holding 1, 2, 3, ... records of one person
    date_formats: Mapping[str, float]  # strftime format -> weight
    upper_names: float  # share of records with UPPERCASE names
    strip_accents: float  # share of records whose names and cities lose their accents
    inverted_particles: float  # Dutch surnames written "Berg van der"
    hyphenated_surnames: float  # "Garcia-Pena"
    sex_codes: tuple[str, str]  # female, male
    nationality_styles: Mapping[str, float]  # see render._NATIONALITY_STYLES
    phone_styles: Mapping[str, float]  # see render._phone
    postcode_space: float  # Dutch postcodes written "3011 AB" rather than "3011AB"
    belgian_postcode_prefix: str  # "", "B-" or "BE-"
    city_other_name: float  # share using another name of the city (Den Haag, Bruxelles)
    missing_marker: str  # what the agency writes for "no value"
    extra_column: str  # a column the schema does not use
    extra_values: tuple[str, ...]
    errors: ErrorRates


def _missing(**shares: float) -> dict[str, float]:
    return {field: shares.get(field, 0.0) for field in FIELDS}


GEMEENTE = AgencyStyle(
    name="gemeente",
    id_format="BRP-{:06d}",
    delimiter=";",
    weight=1.0,
    visits=(95, 5),
    date_formats={"%d-%m-%Y": 1.0},
    upper_names=0.0,
    strip_accents=0.03,
    inverted_particles=0.0,
    hyphenated_surnames=0.0,
    sex_codes=("V", "M"),
    nationality_styles={"dutch": 1.0},
    phone_styles={"national_dash": 0.7, "international": 0.3},
    postcode_space=1.0,
    belgian_postcode_prefix="B-",
    city_other_name=0.0,
    missing_marker="",
    extra_column="dossier",
    extra_values=("huisvesting", "inschrijving", "bijstand", "handhaving", "zorgmelding"),
    errors=ErrorRates(
        typo=0.02, phonetic=0.01, nickname=0.0, drop_given=0.03, drop_surname=0.05,
        swap_names=0.0, swap_day_month=0.005, date_error=0.01, digit_typo=0.01,
        document_typo=0.01,
        missing=_missing(
            sex=0.01, nationality=0.02, phone=0.15, postcode=0.02, city=0.01, document_number=0.5
        ),
    ),
)  # fmt: skip
POLITIE = AgencyStyle(
    name="politie",
    id_format="PL-2024-{:05d}",
    delimiter=",",
    weight=1.1,
    visits=(66, 20, 9, 5),
    date_formats={"%Y-%m-%d": 0.9, "%d/%m/%Y": 0.1},
    upper_names=1.0,
    strip_accents=0.4,
    inverted_particles=0.3,
    hyphenated_surnames=0.0,
    sex_codes=("V", "M"),
    nationality_styles={"alpha3": 0.5, "spanish": 0.25, "dutch": 0.25},
    phone_styles={
        "national": 0.3, "national_dash": 0.2, "international": 0.2, "double_zero": 0.15,
        "trunk": 0.05, "e164": 0.1,
    },
    postcode_space=0.4,
    belgian_postcode_prefix="",
    city_other_name=0.6,
    missing_marker="ONBEKEND",
    extra_column="incident",
    extra_values=("controle", "melding", "aangifte", "verkeerscontrole", "huisbezoek"),
    errors=ErrorRates(
        typo=0.06, phonetic=0.08, nickname=0.08, drop_given=0.2, drop_surname=0.2,
        swap_names=0.01, swap_day_month=0.04, date_error=0.02, digit_typo=0.03,
        document_typo=0.03,
        missing=_missing(
            date_of_birth=0.02, sex=0.03, nationality=0.1, phone=0.3, postcode=0.45, city=0.05,
            document_number=0.6,
        ),
    ),
)  # fmt: skip
FIU = AgencyStyle(
    name="fiu",
    id_format="FIU{:07d}",
    delimiter=",",
    weight=0.6,
    visits=(88, 12),
    date_formats={"%Y%m%d": 1.0},
    upper_names=0.3,
    strip_accents=1.0,
    inverted_particles=0.0,
    hyphenated_surnames=0.05,
    sex_codes=("F", "M"),
    nationality_styles={"alpha2": 0.6, "english": 0.4},
    phone_styles={"e164": 1.0},
    postcode_space=0.0,
    belgian_postcode_prefix="BE-",
    city_other_name=0.3,
    missing_marker="N/A",
    extra_column="transaction",
    extra_values=("money transfer", "cash deposit", "crypto exchange", "rent payment"),
    errors=ErrorRates(
        typo=0.04, phonetic=0.03, nickname=0.03, drop_given=0.12, drop_surname=0.12,
        swap_names=0.02, swap_day_month=0.01, date_error=0.01, digit_typo=0.02,
        document_typo=0.02,
        missing=_missing(
            sex=0.05, nationality=0.05, phone=0.05, postcode=0.03, city=0.03, document_number=0.3
        ),
    ),
)  # fmt: skip
KMAR = AgencyStyle(
    name="kmar",
    id_format="KM{:06d}",
    delimiter=",",
    weight=0.7,
    visits=(78, 16, 6),
    date_formats={"%y%m%d": 1.0},
    upper_names=1.0,
    strip_accents=1.0,
    inverted_particles=0.0,
    hyphenated_surnames=0.0,
    sex_codes=("F", "M"),
    nationality_styles={"alpha3": 1.0},
    phone_styles={"double_zero": 0.5, "international": 0.5},
    postcode_space=1.0,
    belgian_postcode_prefix="B-",
    city_other_name=0.0,
    missing_marker="",
    extra_column="border_post",
    extra_values=("Schiphol", "Hazeldonk", "Eindhoven Airport", "Rotterdam Airport", "Meer"),
    errors=ErrorRates(
        typo=0.01, phonetic=0.0, nickname=0.0, drop_given=0.0, drop_surname=0.0,
        swap_names=0.0, swap_day_month=0.005, date_error=0.005, digit_typo=0.01,
        document_typo=0.01,
        missing=_missing(phone=0.5, postcode=0.5, city=0.4),
    ),
)  # fmt: skip
AGENCIES: Mapping[str, AgencyStyle] = {
    style.name: style for style in (GEMEENTE, POLITIE, FIU, KMAR)
}
# How many agencies hold a given person: most are known to one agency only.
AGENCY_COUNT_WEIGHTS = {1: 62.0, 2: 23.0, 3: 10.0, 4: 5.0}


SCALED_ERRORS = (
    "typo", "phonetic", "nickname", "drop_given", "drop_surname", "swap_day_month",
    "date_error", "digit_typo", "document_typo",
)  # fmt: skip
ADDED_ERRORS = (
    "merge_given", "split_name", "surname_in_given", "compound_cut", "loose_phone",
    "dob_gone_distorted",
)  # fmt: skip
MAX_ERROR_RATE = 0.5


def agency_styles(
    *, missing_dob: float = 0.0, difficulty: Difficulty = DEFAULT
) -> dict[str, AgencyStyle]:
    """The agencies' styles at a difficulty (`linkage.synth.difficulty`).

    Each misses the date of birth in at least `missing_dob` and the difficulty's own share.
    """
    out = {}
    for name, style in AGENCIES.items():
        missing = dict(style.errors.missing)
        least = max(missing_dob, difficulty.missing_dob)
        missing["date_of_birth"] = max(missing.get("date_of_birth", 0.0), least)
        changes: dict[str, float] = {
            field: min(MAX_ERROR_RATE, getattr(style.errors, field) * difficulty.error_scale)
            for field in SCALED_ERRORS
        }
        changes |= {field: difficulty.rate(name, field) for field in ADDED_ERRORS}
        changes["swap_names"] = style.errors.swap_names + difficulty.rate(name, "swap_columns")
        errors = dataclasses.replace(style.errors, missing=missing, **changes)
        out[name] = dataclasses.replace(style, errors=errors)
    return out


def choose_agencies(rng: random.Random) -> tuple[str, ...]:
    """The agencies that hold records of a new person, in AGENCIES order."""
    count = rng.choices(list(AGENCY_COUNT_WEIGHTS), weights=list(AGENCY_COUNT_WEIGHTS.values()))
    remaining = dict(AGENCIES)
    chosen: set[str] = set()
    for _ in range(count[0]):
        names = list(remaining)
        name = rng.choices(names, weights=[remaining[n].weight for n in names])[0]
        chosen.add(name)
        del remaining[name]
    return tuple(name for name in AGENCIES if name in chosen)


def visit_count(rng: random.Random, style: AgencyStyle) -> int:
    """How many records the agency holds of one person."""
    return rng.choices(range(1, len(style.visits) + 1), weights=style.visits)[0]
