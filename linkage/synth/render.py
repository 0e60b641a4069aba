"""One person -> one agency record: the agency's formats plus its typical errors."""

import random
from collections.abc import Mapping

import phonenumbers

from linkage.synth.agencies import AgencyStyle, ErrorRates
from linkage.synth.distort import (
    PARTICLES,
    date_error,
    digit_typo,
    distort_one_word,
    document_error,
    loose_phone,
    nickname,
    phonetic,
    split_word,
    strip_accents,
    swap_day_month,
    typo,
)
from linkage.synth.people import Person
from linkage.synth.places import Origin, Place, random_place

# Nationality as each convention writes it: Dutch adjective, English, Spanish (female,
# male), ISO alpha-2. The alpha-3 style is the Origin value itself.
_NATIONALITY_WORDS = {
    Origin.COLOMBIA: ("Colombiaanse", "Colombian", "colombiana", "colombiano", "CO"),
    Origin.VENEZUELA: ("Venezolaanse", "Venezuelan", "venezolana", "venezolano", "VE"),
    Origin.BRAZIL: ("Braziliaanse", "Brazilian", "brasileña", "brasileño", "BR"),
    Origin.PERU: ("Peruaanse", "Peruvian", "peruana", "peruano", "PE"),
    Origin.CUBA: ("Cubaanse", "Cuban", "cubana", "cubano", "CU"),
    Origin.NETHERLANDS: ("Nederlandse", "Dutch", "neerlandesa", "neerlandés", "NL"),
    Origin.BELGIUM: ("Belgische", "Belgian", "belga", "belga", "BE"),
}
AT_HOME_FIRST = 0.8  # an agency's first record of a person usually has the home address
AT_HOME_LATER = 0.15  # later ones are mostly other cities: the "carousel"
USUAL_PHONE = 0.7


def render_record(
    rng: random.Random, person: Person, style: AgencyStyle, visit: int
) -> dict[str, str]:
    """Write one record of `person` the way `style`'s agency would.

    Args:
        rng: The seeded random generator.
        person: The true identity.
        style: The agency's conventions and error rates.
        visit: 0 for the agency's first record of the person, 1 for the second, ...

    Returns:
        Column -> text: the schema fields plus the agency's extra column (no record_id).
    """
    errors = style.errors
    at_home = rng.random() < (AT_HOME_FIRST if visit == 0 else AT_HOME_LATER)
    place = person.home if at_home else random_place(rng)
    phone = person.phones[0] if rng.random() < USUAL_PHONE else rng.choice(person.phones)
    given, surnames = _distorted_names(rng, person, errors)
    given, surnames = _regrouped_names(rng, given, surnames, errors)
    upper = rng.random() < style.upper_names
    plain = rng.random() < style.strip_accents
    record = {
        "given_names": _written(" ".join(given), upper=upper, plain=plain),
        "surnames": _written(_surname_text(rng, person, surnames, style), upper=upper, plain=plain),
        "date_of_birth": _birth_date(rng, person, style),
        "sex": style.sex_codes[0 if person.sex == "f" else 1],
        "nationality": _nationality(rng, person, style),
        "phone": _phone(rng, phone, style),
        "postcode": _postcode(rng, place, style),
        "city": _written(_city_name(rng, place, style), upper=upper, plain=plain),
        "document_number": _document(rng, person.document, errors),
    }
    if errors.loose_phone and rng.random() < errors.loose_phone:
        record["phone"] = loose_phone(rng, record["phone"])
    if rng.random() < errors.swap_names:
        record["given_names"], record["surnames"] = record["surnames"], record["given_names"]
    for field, share in errors.missing.items():
        if rng.random() < share:
            record[field] = style.missing_marker
    if (
        errors.dob_gone_distorted
        and record["date_of_birth"] == style.missing_marker
        and rng.random() < errors.dob_gone_distorted
    ):
        field = rng.choice(("given_names", "surnames"))
        change = rng.choice((typo, phonetic))
        record[field] = distort_one_word(rng, (record[field],), change)[0]
    record[style.extra_column] = rng.choice(style.extra_values)
    return record


def _weighted(rng: random.Random, options: Mapping[str, float]) -> str:
    return rng.choices(list(options), weights=list(options.values()))[0]


def _distorted_names(
    rng: random.Random, person: Person, errors: ErrorRates
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    given, surnames = person.given_names, person.surnames
    short = nickname(rng, given) if rng.random() < errors.nickname else None
    if short is not None:
        given = short
    elif len(given) > 1 and rng.random() < errors.drop_given:
        given = given[:1]
    if len(surnames) > 1 and rng.random() < errors.drop_surname:
        # Brazilians go by their last surname, Spanish speakers by their first.
        surnames = surnames[-1:] if person.origin is Origin.BRAZIL else surnames[:1]
    for rate, change in ((errors.phonetic, phonetic), (errors.typo, typo)):
        if rng.random() < rate:
            given = distort_one_word(rng, given, change)
        if rng.random() < rate:
            surnames = distort_one_word(rng, surnames, change)
    return given, surnames


def _regrouped_names(
    rng: random.Random, given: tuple[str, ...], surnames: tuple[str, ...], errors: ErrorRates
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    # Word boundaries moved: names merged, split, cut, or a surname among the given names.
    # Each class draws only when its rate is set, so the default data stay as they were.
    if errors.compound_cut and len(surnames) > 1 and rng.random() < errors.compound_cut:
        surnames = surnames[:1]
    if errors.merge_given and len(given) > 1 and rng.random() < errors.merge_given:
        given = (given[0] + given[1].lower(), *given[2:])
    if errors.surname_in_given and rng.random() < errors.surname_in_given:
        first = surnames[0].split(" ")[-1]  # the main word, not a particle
        given = (*given, first)
        if len(surnames) > 1:
            surnames = surnames[1:]
    if errors.split_name and rng.random() < errors.split_name:
        if rng.random() < 0.5:
            given = distort_one_word(rng, given, split_word)
        else:
            surnames = distort_one_word(rng, surnames, split_word)
    return given, surnames


def _surname_text(
    rng: random.Random, person: Person, surnames: tuple[str, ...], style: AgencyStyle
) -> str:
    words = " ".join(surnames).split(" ")
    particles = 0
    while particles < len(words) - 1 and words[particles] in PARTICLES:
        particles += 1
    if (
        person.origin is Origin.NETHERLANDS
        and particles
        and rng.random() < style.inverted_particles
    ):
        # Dutch registers sort on the main name: "Berg van der".
        return " ".join(words[particles:] + words[:particles])
    if len(surnames) > 1 and rng.random() < style.hyphenated_surnames:
        return "-".join(surnames)
    return " ".join(surnames)


def _written(text: str, *, upper: bool, plain: bool) -> str:
    text = strip_accents(text) if plain else text
    return text.upper() if upper else text


def _birth_date(rng: random.Random, person: Person, style: AgencyStyle) -> str:
    day = person.birth
    if rng.random() < style.errors.swap_day_month:
        day = swap_day_month(day) or day
    if rng.random() < style.errors.date_error:
        day = date_error(rng, day)
    return day.strftime(_weighted(rng, style.date_formats))


def _nationality(rng: random.Random, person: Person, style: AgencyStyle) -> str:
    dutch, english, spanish_f, spanish_m, alpha2 = _NATIONALITY_WORDS[person.origin]
    written = {
        "dutch": dutch,
        "english": english,
        "spanish": spanish_f if person.sex == "f" else spanish_m,
        "alpha2": alpha2,
        "alpha3": person.origin.value,
    }
    return written[_weighted(rng, style.nationality_styles)]


def _phone(rng: random.Random, e164: str, style: AgencyStyle) -> str:
    if rng.random() < style.errors.digit_typo:
        e164 = digit_typo(rng, e164, keep=4)
    kind = _weighted(rng, style.phone_styles)
    number = phonenumbers.parse(e164)
    national = str(number.national_number)
    if kind == "e164":
        return e164
    if kind == "double_zero":
        return f"00{number.country_code}{national}"
    # National formats only for Dutch numbers: the encoder reads numbers without a
    # country code as Dutch, as the agencies' own systems do.
    if number.country_code == 31 and kind == "national_dash":
        return f"0{national[0]}-{national[1:]}"
    if number.country_code == 31 and kind == "national":
        return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
    if number.country_code == 31 and kind == "trunk":
        return f"+31 (0){national[0]} {national[1:]}"
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL))


def _postcode(rng: random.Random, place: Place, style: AgencyStyle) -> str:
    code = place.postcode
    if rng.random() < style.errors.digit_typo:
        code = digit_typo(rng, code, keep=0)
    if place.city.country == "BEL":
        return style.belgian_postcode_prefix + code
    return code if rng.random() < style.postcode_space else code.replace(" ", "")


def _city_name(rng: random.Random, place: Place, style: AgencyStyle) -> str:
    city = place.city
    name = city.name
    if city.other_names and rng.random() < style.city_other_name:
        name = rng.choice(city.other_names)
    if rng.random() < style.errors.typo / 2:
        name = distort_one_word(rng, (name,), typo)[0]
    return name


def _document(rng: random.Random, document: str, errors: ErrorRates) -> str:
    return document_error(rng, document) if rng.random() < errors.document_typo else document
