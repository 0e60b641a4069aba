import sys
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage import gazetteer
from linkage.errors import InvalidValue, SchemaError
from linkage.normalize import (
    fold,
    is_missing,
    normalize_city,
    normalize_date,
    normalize_full_name,
    normalize_given_names,
    normalize_identifier,
    normalize_nationality,
    normalize_phone,
    normalize_postcode,
    normalize_sex,
    normalize_surnames,
    normalize_text,
    normalize_value,
)
from linkage.schema import FieldKind, FieldSpec, Normalization

PROPERTY = settings(max_examples=300, database=None, deadline=None)
TODAY = date(2026, 6, 1)
ALL_FORMATS = ("YYYY-MM-DD", "DD-MM-YYYY", "YYYYMMDD", "YYMMDD")


def spec(kind: FieldKind, **options: object) -> FieldSpec:
    return FieldSpec(name="field", kind=kind, normalize=Normalization.model_validate(options))


def full_width(text: str) -> str:
    """The same ASCII text in full-width forms, as East Asian keyboards type it."""
    return "".join(chr(ord(char) + 0xFEE0) for char in text)


# -- fold -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("José", "jose"),
        ("Peña", "pena"),
        ("Conceição", "conceicao"),
        ("Müller", "muller"),
        ("Ångström", "angstrom"),
        ("Straße", "strasse"),
        ("Søren Østergaard", "soren ostergaard"),
        ("Łukasz Wałęsa", "lukasz walesa"),
        ("Æbelø", "aebelo"),
        ("Œuvre cœur", "oeuvre coeur"),
        ("Dijkstra", "dijkstra"),
        ("\u0132sselmeer", "ijsselmeer"),  # the Dutch IJ ligature
        ("İstanbul", "istanbul"),
    ],
)
def test_fold_removes_accents_and_case(raw: str, folded: str) -> None:
    assert fold(raw) == folded


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("O'Brien", "obrien"),
        ("O\u2019Brien", "obrien"),
        ("D\u00b4Angelo", "dangelo"),
        ("'s-Hertogenbosch", "s hertogenbosch"),
        ("Jean-Luc", "jean luc"),
        ("jean_luc", "jean luc"),
        ("Smith, John (Jr.)", "smith john jr"),
        ("  Ana \t  María\n", "ana maria"),
        ("Flat 3B", "flat 3b"),
        ("", ""),
        (" -/- ", ""),
    ],
)
def test_fold_removes_apostrophes_and_spaces_other_punctuation(raw: str, folded: str) -> None:
    assert fold(raw) == folded


def test_fold_keeps_letters_of_other_scripts() -> None:
    assert fold("Дмитрий Шостакович") == "дмитрии шостакович"


@pytest.mark.slow
def test_fold_is_idempotent_on_every_code_point() -> None:
    failures = [
        code_point
        for code_point in range(sys.maxunicode + 1)
        if not 0xD800 <= code_point <= 0xDFFF
        and fold(fold(chr(code_point))) != fold(chr(code_point))
    ]

    assert failures == []


# -- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("María-José  Luisa", "maria jose luisa"),
        ("Juan Carlos", "juan carlos"),
        ("Jan-Willem Pieter", "jan willem pieter"),
        ("María de los Ángeles", "maria de los angeles"),  # given names keep particles
        ("João Vítor", "joao vitor"),
    ],
)
def test_given_names_are_folded_words_in_order(raw: str, normalized: str) -> None:
    assert normalize_given_names(raw) == normalized


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("de la Cruz", "cruz"),
        ("De Las Casas", "casas"),
        ("de los Ríos Pérez", "rios perez"),
        ("García y Márquez", "garcia marquez"),
        ("Puig i Cadafalch", "puig cadafalch"),
        ("Pérez del Castillo", "perez castillo"),
        ("dos Santos Silva", "santos silva"),
        ("Silva e Souza", "silva souza"),
        ("da Conceição", "conceicao"),
        ("van der Berg", "berg"),
        ("Van Den Broek", "broek"),
        ("van de Velde", "velde"),
        ("de Vries", "vries"),
        ("in 't Veld", "veld"),
        ("'t Hooft", "hooft"),
        ("ter Horst", "horst"),
        ("op de Beeck", "beeck"),
        ("uit den Bogaard", "bogaard"),
        ("v.d. Berg", "berg"),
        ("vd Berg", "berg"),
        ("von Trapp", "trapp"),
        ("Le Blanc", "blanc"),
        ("D'Souza", "dsouza"),
        ("Gómez-Fernández", "gomez fernandez"),
    ],
)
def test_surnames_drop_spanish_portuguese_and_dutch_particles(raw: str, normalized: str) -> None:
    assert normalize_surnames(raw) == normalized


@pytest.mark.parametrize("raw", ["De", "Van", "van der", "de la"])
def test_surname_made_only_of_particles_is_kept(raw: str) -> None:
    assert normalize_surnames(raw) == raw.lower()


def test_particles_inside_words_are_not_dropped() -> None:
    assert normalize_surnames("Vandermeer Devries") == "vandermeer devries"


def test_surnames_keep_particles_when_asked() -> None:
    assert normalize_surnames("van der Berg", drop_particles=False) == "van der berg"


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Pérez Gómez, Juan Carlos", "juan carlos perez gomez"),
        ("Juan Carlos Pérez Gómez", "juan carlos perez gomez"),
        ("Berg, van der, Jan", "jan berg"),
        ("Jan van der Berg", "jan berg"),
        ("María de la Cruz", "maria cruz"),
        ("Silva,", "silva"),
    ],
)
def test_full_name_puts_given_names_first_and_drops_particles(raw: str, normalized: str) -> None:
    assert normalize_full_name(raw) == normalized


def test_full_name_keeps_particles_when_asked() -> None:
    assert normalize_full_name("Berg, van der, Jan", drop_particles=False) == "van der jan berg"


# -- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "date_format"),
    [
        ("1985-03-07", "YYYY-MM-DD"),
        ("07-03-1985", "DD-MM-YYYY"),
        ("07/03/1985", "DD/MM/YYYY"),
        ("07.03.1985", "DD.MM.YYYY"),
        ("03/07/1985", "MM/DD/YYYY"),
        ("1985/03/07", "YYYY/MM/DD"),
        ("19850307", "YYYYMMDD"),
        ("07031985", "DDMMYYYY"),
        ("850307", "YYMMDD"),
    ],
)
def test_every_supported_date_format_is_parsed(raw: str, date_format: str) -> None:
    assert normalize_date(raw, (date_format,), 30, today=TODAY) == "1985-03-07"


@pytest.mark.parametrize(
    "raw", ["7-3-1985", "7/3/1985", "07.3.1985", "7 3 1985", "07 - 03 - 1985", "7/03-1985"]
)
def test_separated_dates_accept_any_separator_and_single_digits(raw: str) -> None:
    assert normalize_date(raw, ("DD-MM-YYYY",), 30, today=TODAY) == "1985-03-07"


@pytest.mark.parametrize(
    "raw",
    [
        "1985-03-07 00:00:00",
        "1985-03-07T00:00:00",
        "1985-03-07T12:30",
        "1985-03-07T00:00:00Z",
        "1985-03-07 00:00:00.000",
        "1985-03-07T00:00:00+01:00",
    ],
)
def test_a_trailing_time_of_day_is_ignored(raw: str) -> None:
    assert normalize_date(raw, ("YYYY-MM-DD",), 30, today=TODAY) == "1985-03-07"


def test_full_width_digits_are_read_as_digits() -> None:
    raw = full_width("1985-03-07")

    assert normalize_date(raw, ("YYYY-MM-DD",), 30, today=TODAY) == "1985-03-07"


@pytest.mark.parametrize(
    ("raw", "pivot", "expected"),
    [
        ("250101", 30, "2025-01-01"),
        ("310101", 30, "1931-01-01"),
        ("850101", 30, "1985-01-01"),
        ("000101", 0, "2000-01-01"),
        ("010101", 0, "1901-01-01"),
        ("200101", 10, "1920-01-01"),
    ],
)
def test_two_digit_years_follow_the_century_pivot(raw: str, pivot: int, expected: str) -> None:
    assert normalize_date(raw, ("YYMMDD",), pivot, today=TODAY) == expected


def test_two_digit_year_at_the_pivot_is_in_this_century_even_in_the_future() -> None:
    assert normalize_date("300101", ("YYMMDD",), 30, today=date(2031, 1, 1)) == "2030-01-01"
    with pytest.raises(InvalidValue, match="in the future"):
        normalize_date("300101", ("YYMMDD",), 30, today=TODAY)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("1985-02-31", "no such day"),
        ("1985-02-29", "no such day"),
        ("1985-13-01", "no such day or month"),
        ("1985-00-10", "no such day or month"),
        ("1985-03-00", "no such day"),
        ("1879-12-31", "year before 1880"),
        ("2026-06-02", "in the future"),
        ("2999-01-01", "in the future"),
        ("1985-3", "expected YYYY-MM-DD, DD-MM-YYYY, YYYYMMDD, YYMMDD"),
        ("yesterday", "expected"),
        ("1985-03-07-01", "expected"),
        ("\u0661\u0669\u0668\u0665-03-07", "expected"),  # Arabic-Indic digits are not read
    ],
)
def test_impossible_dates_are_rejected_with_a_reason(raw: str, problem: str) -> None:
    with pytest.raises(InvalidValue, match="is not a valid date") as caught:
        normalize_date(raw, ALL_FORMATS, 30, today=TODAY)

    assert problem in caught.value.reason


def test_leap_day_in_a_leap_year_is_accepted() -> None:
    assert normalize_date("29-02-1984", ALL_FORMATS, 30, today=TODAY) == "1984-02-29"


def test_today_is_not_in_the_future() -> None:
    assert normalize_date("2026-06-01", ALL_FORMATS, 30, today=TODAY) == "2026-06-01"


def test_ambiguous_eight_digits_take_the_first_format_giving_a_valid_date() -> None:
    formats = ("YYYYMMDD", "DDMMYYYY")

    assert normalize_date("19560909", formats, 30, today=TODAY) == "1956-09-09"
    assert normalize_date("01021985", formats, 30, today=TODAY) == "1985-02-01"


def test_formats_are_tried_in_the_order_given() -> None:
    assert normalize_date("03/04/1985", ("DD/MM/YYYY", "MM/DD/YYYY"), today=TODAY) == "1985-04-03"
    assert normalize_date("03/04/1985", ("MM/DD/YYYY", "DD/MM/YYYY"), today=TODAY) == "1985-03-04"
    assert normalize_date("13/04/1985", ("MM/DD/YYYY", "DD/MM/YYYY"), today=TODAY) == "1985-04-13"


def test_other_combinations_of_date_tokens_are_compiled_on_demand() -> None:
    assert normalize_date("07-03-85", ("DD-MM-YY",), 30, today=TODAY) == "1985-03-07"


@pytest.mark.parametrize("date_format", ["DD-MM", "YYYY-MM-DD-DD", "dd/mm/yyyy", "YYYY-MM-DDx"])
def test_unsupported_date_format_is_a_schema_error(date_format: str) -> None:
    with pytest.raises(SchemaError, match="is not supported"):
        normalize_date("1985-03-07", (date_format,), 30)


# -- sex and nationality ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        *[(raw, "m") for raw in ["M", "m.", "Male", "man", "Masculino", "masculin", "hombre"]],
        *[(raw, "m") for raw in ["H", "homem", "Mannelijk", "jongen", "Varón", "homme"]],
        *[(raw, "f") for raw in ["F", "Female", "woman", "Femenino", "feminino", "Mujer"]],
        *[(raw, "f") for raw in ["mulher", "V", "vrouw", "Vrouwelijk", "meisje", "fille"]],
        *[(raw, "f") for raw in ["femme", "Féminin"]],
        *[(raw, "x") for raw in ["X", "other", "Divers", "anders", "otro"]],
    ],
)
def test_sex_spellings_map_to_m_f_or_x(raw: str, code: str) -> None:
    assert normalize_sex(raw) == code


@pytest.mark.parametrize("raw", ["q", "male female", "3", "hembra?"])
def test_unknown_sex_spelling_is_invalid(raw: str) -> None:
    with pytest.raises(InvalidValue, match="is not a recognised sex code"):
        normalize_sex(raw)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        *[(raw, "COL") for raw in ["colombiana", "Colombiaans", "CO", "col", "Colombie"]],
        *[(raw, "NLD") for raw in ["Nederlands", "Nederlandse", "NL", "NLD", "Holland"]],
        *[(raw, "NLD") for raw in ["The Netherlands", "Países Bajos", "neerlandesa", "Dutch"]],
        *[(raw, "BEL") for raw in ["Belg", "belga", "Belgische", "België", "belge"]],
        *[(raw, "BRA") for raw in ["Brasileira", "brésilienne", "Brazil", "BR", "brasileño"]],
        *[(raw, "VEN") for raw in ["venezolano", "Venezolaanse", "vénézuélienne", "VE"]],
        *[(raw, "DOM") for raw in ["República Dominicana", "Dominicaanse Republiek", "DO"]],
        *[(raw, "USA") for raw in ["EE.UU.", "U.S.A.", "Verenigde Staten", "estadounidense"]],
        *[(raw, "GBR") for raw in ["UK", "GB", "Reino Unido", "Britse", "Royaume-Uni"]],
        ("Peruana", "PER"),
        ("cubano", "CUB"),
        ("Ecuatoriana", "ECU"),
        ("boliviano", "BOL"),
        ("Argentijnse", "ARG"),
        ("chilena", "CHL"),
        ("Mexicaanse", "MEX"),
        ("paraguaya", "PRY"),
        ("Surinaamse", "SUR"),
        ("Española", "ESP"),
        ("portuguesa", "PRT"),
        ("française", "FRA"),
        ("Duitse", "DEU"),
        ("D", "DEU"),  # the German passport's machine-readable code
        ("Marokkaanse", "MAR"),
        ("Türkiye", "TUR"),
        ("Roemeense", "ROU"),
        ("búlgaro", "BGR"),
        ("Poolse", "POL"),
        ("nigeriana", "NGA"),
        ("jp", "JPN"),
        ("sgp", "SGP"),
    ],
)
def test_nationality_codes_names_and_demonyms_map_to_alpha_3(raw: str, code: str) -> None:
    assert normalize_nationality(raw) == code


@pytest.mark.parametrize("raw", ["Deense", "Klingon  Empire"])
def test_unknown_nationality_is_invalid_and_the_reason_never_quotes_it(raw: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        normalize_nationality(raw)
    assert fold(raw) not in caught.value.reason.casefold()


def test_every_listed_country_name_maps_to_its_own_code() -> None:
    for entry in gazetteer._COUNTRY_NAMES:
        code, *names = entry.split()
        for name in names:
            assert fold(name.replace("_", " ")) == name.replace("_", " ")
            assert normalize_nationality(name.replace("_", " ")) == code, name


def test_every_iso_code_maps_to_its_alpha_3() -> None:
    for pair in gazetteer._ISO_3166.split():
        assert normalize_nationality(pair[:2]) == pair[2:]
        assert normalize_nationality(pair[2:].lower()) == pair[2:]


# -- phone numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "+31 6 12345678",
        "0031612345678",
        "06-12345678",
        "(0)6 1234 5678",
        "+31 (0)6 1234 5678",
        "06 12 34 56 78",
        "+31-6-12345678",
        full_width("+31612345678"),
    ],
)
def test_dutch_phone_forms_become_e164(raw: str) -> None:
    assert normalize_phone(raw, "NL") == "+31612345678"


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+57 310 1234567", "NL", "+573101234567"),
        ("310 1234567", "CO", "+573101234567"),
        ("0057 310 1234567", "CO", "+573101234567"),  # "00" is international in any region
        ("+32 2 123 45 67", "NL", "+3221234567"),
        ("02 123 45 67", "be", "+3221234567"),
    ],
)
def test_phone_numbers_use_the_region_only_without_country_code(
    raw: str, region: str, expected: str
) -> None:
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("+57 310 123456", "+57310123456"), ("06-1234567", "+3161234567")],
)
def test_a_number_a_digit_short_for_its_country_is_kept(raw: str, expected: str) -> None:
    assert normalize_phone(raw, "NL") == expected


@pytest.mark.parametrize("raw", ["12", "+31 6 1", "not a number", "+999 123456789", "0" * 300])
def test_impossible_phone_numbers_are_invalid(raw: str) -> None:
    with pytest.raises(InvalidValue, match="is not a valid phone number"):
        normalize_phone(raw, "NL")


# -- places, text, identifiers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("1234 ab", "1234AB"),
        ("1234AB", "1234AB"),
        ("NL-1234 AB", "1234AB"),
        ("B-1000", "1000"),
        ("B 1000", "1000"),
        ("1000", "1000"),
        ("sw1a 1aa", "SW1A1AA"),
        ("B1 1AA", "B11AA"),  # a UK postcode, not a Belgian prefix
        ("VLT 1117", "VLT1117"),  # a Maltese postcode keeps its letters
        ("00-950", "00950"),
        ("1000-001", "1000001"),
    ],
)
def test_postcodes_lose_spaces_hyphens_and_country_prefix(raw: str, normalized: str) -> None:
    assert normalize_postcode(raw) == normalized


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        *[(raw, "den haag") for raw in ["Den Haag", "'s-Gravenhage", "s Gravenhage", "The Hague"]],
        *[(raw, "brussel") for raw in ["Brussel", "Bruxelles", "Brussels", "BRUSSELS"]],
        *[(raw, "s hertogenbosch") for raw in ["'s-Hertogenbosch", "Den Bosch"]],
        *[(raw, "liege") for raw in ["Liège", "Luik"]],
        ("Bogotá D.C.", "bogota"),
        ("São Paulo", "sao paulo"),
        ("Alphen aan den Rijn", "alphen aan den rijn"),  # particles stay in place names
    ],
)
def test_cities_are_folded_and_known_aliases_share_one_form(raw: str, normalized: str) -> None:
    assert normalize_city(raw) == normalized


def test_every_city_alias_target_is_its_own_normal_form() -> None:
    for target in set(gazetteer.CITY_ALIASES.values()):
        assert normalize_city(target) == target


def test_text_is_folded() -> None:
    assert normalize_text("  Calle Mayor, 3º-2ª ") == "calle mayor 3o 2a"


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("ab-12.34/5", "AB12345"),
        (" nl 12 34 ", "NL1234"),
        ("x\u201312", "X12"),
        (full_width("a1"), "A1"),
    ],
)
def test_identifiers_lose_separators_and_are_uppercase(raw: str, normalized: str) -> None:
    assert normalize_identifier(raw) == normalized


def test_identifier_of_separators_only_is_invalid() -> None:
    with pytest.raises(InvalidValue, match="is empty"):
        normalize_identifier(" -./ ")


# -- normalize_value -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        *["", "   ", "-", "?", "--", "n/a", "N/A", "N.A.", "null", "NULL", "None", "unknown"],
        *["Onbekend", "desconocido", "Desconhecido", "n.v.t.", "inconnu"],
    ],
)
@pytest.mark.parametrize("kind", list(FieldKind))
def test_missing_markers_are_none_for_every_kind(raw: str, kind: FieldKind) -> None:
    assert is_missing(raw)
    assert normalize_value(spec(kind), raw) is None


def test_na_is_a_surname_not_a_missing_marker() -> None:
    assert normalize_value(spec(FieldKind.SURNAMES), "Na") == "na"


@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        (spec(FieldKind.GIVEN_NAMES), "María-José", "maria jose"),
        (spec(FieldKind.SURNAMES), "van der Berg", "berg"),
        (spec(FieldKind.SURNAMES, drop_particles=False), "van der Berg", "van der berg"),
        (spec(FieldKind.FULL_NAME), "Cruz, Juan de la", "juan cruz"),
        (spec(FieldKind.DATE), "7-3-1985", "1985-03-07"),
        (spec(FieldKind.DATE, date_formats=("MM/DD/YYYY",)), "3/7/1985", "1985-03-07"),
        (spec(FieldKind.DATE, century_pivot=0), "050307", "1905-03-07"),
        (spec(FieldKind.SEX), "Vrouw", "f"),
        (spec(FieldKind.NATIONALITY), "colombiana", "COL"),
        (spec(FieldKind.PHONE), "06-12345678", "+31612345678"),
        (spec(FieldKind.PHONE, phone_region="CO"), "310 1234567", "+573101234567"),
        (spec(FieldKind.POSTCODE), "1234 ab", "1234AB"),
        (spec(FieldKind.CITY), "'s-Gravenhage", "den haag"),
        (spec(FieldKind.TEXT), "Hello,  World", "hello world"),
        (spec(FieldKind.IDENTIFIER), "ab-12", "AB12"),
    ],
)
def test_normalize_value_dispatches_on_kind_with_field_settings(
    field: FieldSpec, raw: str, expected: str
) -> None:
    assert normalize_value(field, raw) == expected


# -- privacy ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        (FieldKind.DATE, "31-02-1985"),
        (FieldKind.DATE, "1985-13-07"),
        (FieldKind.DATE, "07-03-1066"),
        (FieldKind.DATE, "Fernandez"),
        (FieldKind.SEX, "Fernandez"),
        (FieldKind.PHONE, "+31 6 123"),
        (FieldKind.PHONE, "Fernandez"),
    ],
)
def test_invalid_value_reason_never_contains_the_value(kind: FieldKind, raw: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        normalize_value(spec(kind), raw)

    assert raw not in str(caught.value)
    assert raw.lower() not in caught.value.reason.lower()


@PROPERTY
@given(
    kind=st.sampled_from([FieldKind.DATE, FieldKind.PHONE, FieldKind.SEX]),
    raw=st.text(alphabet="0123456789-/.+() :T", min_size=6),
)
def test_reason_never_contains_digit_values(kind: FieldKind, raw: str) -> None:
    try:
        normalize_value(spec(kind), raw)
    except InvalidValue as err:
        assert raw.strip() not in str(err)


# -- properties ------------------------------------------------------------------------------

TEXT_NORMALIZERS = [
    fold,
    normalize_given_names,
    normalize_surnames,
    normalize_full_name,
    normalize_text,
    normalize_city,
]

NAME_SHAPES = st.lists(
    st.sampled_from(["de", "la", "van", "der", "in", "'t", "y", "D'", "María", "José", "Ñ"])
    | st.text(min_size=1, max_size=8),
    max_size=6,
).map(" ".join)


@PROPERTY
@given(raw=st.text() | NAME_SHAPES, index=st.integers(0, len(TEXT_NORMALIZERS) - 1))
def test_text_normalisers_are_idempotent(raw: str, index: int) -> None:
    normalizer = TEXT_NORMALIZERS[index]

    once = normalizer(raw)

    assert normalizer(once) == once


@PROPERTY
@given(raw=st.text(), kind=st.sampled_from(list(FieldKind)))
def test_normalize_value_only_ever_raises_invalid_value(raw: str, kind: FieldKind) -> None:
    try:
        result = normalize_value(spec(kind), raw)
    except InvalidValue:
        return

    assert result is None or result


@PROPERTY
@given(day=st.dates(min_value=date(1880, 1, 1), max_value=TODAY))
def test_every_real_date_round_trips_through_each_format(day: date) -> None:
    renderings = {
        "YYYY-MM-DD": day.strftime("%Y-%m-%d"),
        "DD/MM/YYYY": day.strftime("%d/%m/%Y"),
        "DD.MM.YYYY": f"{day.day}.{day.month}.{day.year}",
        "YYYYMMDD": day.strftime("%Y%m%d"),
        "DDMMYYYY": day.strftime("%d%m%Y"),
    }

    for date_format, raw in renderings.items():
        assert normalize_date(raw, (date_format,), 30, today=TODAY) == day.isoformat()


@pytest.mark.parametrize(
    "written",
    [
        "tel. +31 6 12345678",
        "+31 6 12345678 (mob)",
        "GSM 0612345678",
        "0612345678 whatsapp",
        "0612345678 / 0698765432",
        "06-12345678, 010-1234567",
    ],
)
def test_phone_words_and_a_second_number_are_set_aside(written: str) -> None:
    # Letters are never read as keypad digits ("mob" would be 662).
    assert normalize_phone(written, "NL") == "+31612345678"


_PUBLIC_NORMALIZERS = {
    FieldKind.GIVEN_NAMES: normalize_given_names,
    FieldKind.SURNAMES: normalize_surnames,
    FieldKind.SEX: normalize_sex,
    FieldKind.NATIONALITY: normalize_nationality,
    FieldKind.POSTCODE: normalize_postcode,
    FieldKind.CITY: normalize_city,
    FieldKind.TEXT: normalize_text,
}


def _outcome(normalizer, raw: str) -> object:  # type: ignore[no-untyped-def]
    try:
        return normalizer(raw)
    except InvalidValue as err:
        return ("invalid", str(err))


@PROPERTY
@given(
    raw=st.one_of(
        st.text(),
        st.sampled_from(["'s-Gravenhage", "The Hague", "NL-1234 ab", "Ærø", "vrouw", "N/A"]),
    ),
    kind=st.sampled_from(sorted(_PUBLIC_NORMALIZERS)),
)
def test_normalize_value_folds_once_and_gives_what_the_kinds_normaliser_gives(
    raw: str, kind: FieldKind
) -> None:
    # normalize_value hands the text it folded to tell a missing value on to these kinds'
    # normalisers, instead of letting them fold the raw text again: the same result.
    expected = None if is_missing(raw) else _outcome(_PUBLIC_NORMALIZERS[kind], raw)
    assert _outcome(lambda text: normalize_value(spec(kind), text), raw) == expected


def test_normalize_value_folds_a_name_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import linkage.normalize as normalize

    calls: list[str] = []
    original = normalize.fold

    def counted(text: str) -> str:
        calls.append(text)
        return original(text)

    monkeypatch.setattr(normalize, "fold", counted)

    assert normalize_value(spec(FieldKind.SURNAMES), "Van der Berg") == "berg"
    assert normalize_value(spec(FieldKind.CITY), "'s-Gravenhage") == "den haag"
    assert len(calls) == 2


def test_the_date_of_today_is_cached_within_a_second_but_turns_at_midnight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import datetime as dt
    import time

    import linkage.normalize as normalize

    midnight = dt.datetime(2030, 1, 1).timestamp()  # local time, as date.today() reads it
    for moment, expected in [
        (midnight - 0.5, date(2029, 12, 31)),
        (midnight - 0.01, date(2029, 12, 31)),
        (midnight, date(2030, 1, 1)),
        (midnight + 0.99, date(2030, 1, 1)),
    ]:
        monkeypatch.setattr(time, "time", lambda moment=moment: moment)
        assert normalize._today() == expected
        assert normalize_date("2029-12-31", ("YYYY-MM-DD",)) == "2029-12-31"
    with pytest.raises(InvalidValue, match="in the future"):
        normalize_date("2030-01-02", ("YYYY-MM-DD",))
