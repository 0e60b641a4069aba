"""Per-field normalisation: raw text -> the canonical form that is tokenised and encoded.

Two agencies must produce the same string for the same fact, whatever their spelling
conventions, so every normaliser folds case, accents and punctuation, and the field kinds
with known variant spellings (dates, sex, nationality, phone numbers) map them onto one form.
Error reasons never quote the value: they end up in logs and reports (privacy rule).
"""

import re
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from linkage.errors import InvalidValue, SchemaError
from linkage.gazetteer import CITY_ALIASES, NATIONALITIES
from linkage.schema import FieldKind, FieldSpec, Normalization

EARLIEST_YEAR = 1880  # older birth or event dates are data-entry errors in practice
_DEFAULTS = Normalization()

# -- folding ---------------------------------------------------------------------------------

# Removed rather than spaced, so O'Brien and OBrien agree. U+00B4 and U+0060 are removed
# before NFKD, which would otherwise turn them into a space plus a combining mark.
_APOSTROPHES = "'`\u00b4\u2018\u2019\u201b\u02bb\u02bc\u02bd\u2032\uff07"
_NO_APOSTROPHES = str.maketrans(dict.fromkeys(_APOSTROPHES))
# Letters that NFKD does not decompose into a base letter plus marks (after casefold).
_LETTER_FOLDS = str.maketrans(
    {"\u00f8": "o", "\u0142": "l", "\u00e6": "ae", "\u0153": "oe", "\u0111": "d", "\u00f0": "d"}
    | {"\u00fe": "th", "\u0131": "i", "\u0127": "h", "\u0167": "t"}
    | dict.fromkeys(_APOSTROPHES)
)
# ASCII text in one pass: letters lowered, apostrophes dropped, anything else not a letter
# or digit a space (the same as the Unicode path gives for ASCII, at a fifth of the cost).
_ASCII_FOLD = str.maketrans(
    {chr(code): " " for code in range(128) if not chr(code).isalnum()}
    | {chr(code): chr(code).lower() for code in range(128) if chr(code).isalpha()}
    | dict.fromkeys(_APOSTROPHES)
)

# Compared with the folded value, so "N/A", "n.a." and "n a" are all missing. Not "na"
# (a surname) and not "x" (a sex code).
_MISSING_MARKERS = frozenset(
    {"n a", "n v t", "nvt", "null", "none", "unknown", "onbekend", "desconocido"}
    | {"desconocida", "desconhecido", "desconhecida", "inconnu", "inconnue"}
)


def fold(text: str) -> str:
    """Fold text to lowercase ASCII-like words: accents, case and punctuation removed.

    NFKD splits accented letters into a base letter and combining marks, which are dropped;
    casefold lowers case (ß -> ss); a few letters without a decomposition (ø, ł, æ, œ) are
    mapped explicitly. Apostrophes are removed, every other non-alphanumeric character
    becomes a space, and runs of spaces collapse. Letters of other scripts and digits stay.

    Args:
        text: Any text.

    Returns:
        The folded text; empty when `text` has no letters or digits.
    """
    if text.isascii():
        return " ".join(text.translate(_ASCII_FOLD).split())
    decomposed = unicodedata.normalize("NFKD", text.translate(_NO_APOSTROPHES)).casefold()
    decomposed = unicodedata.normalize("NFKD", decomposed).translate(_LETTER_FOLDS)
    return " ".join("".join(_fold_char(char) for char in decomposed).split())


def _fold_char(char: str) -> str:
    if char.isalnum():
        return char
    return "" if unicodedata.category(char).startswith("M") else " "


def is_missing(raw: str) -> bool:
    """Whether a raw value means "no value": blank, punctuation only, or a null marker."""
    folded = fold(raw)
    return not folded or folded in _MISSING_MARKERS


# -- names -----------------------------------------------------------------------------------

# Surname particles (Spanish/Portuguese, Dutch/Belgian tussenvoegsels, French, German), as
# folded words: "'t" is "t", "d'" is "d" and "v.d." is "v d".
_PARTICLES = frozenset(
    {"de", "del", "da", "das", "do", "dos", "e", "y", "i", "le", "la", "du", "des", "d"}
    | {"van", "den", "der", "het", "t", "te", "ter", "ten", "vd", "von", "zu"}
)
# Two-word particles whose first word is not a particle on its own.
_PARTICLE_PAIRS = frozenset(
    {("de", "las"), ("de", "los"), ("in", "t"), ("op", "de"), ("uit", "den"), ("v", "d")}
)


def normalize_given_names(text: str) -> str:
    """Normalise given names: folded words in their original order."""
    return fold(text)


def normalize_surnames(text: str, drop_particles: bool = True) -> str:
    """Normalise surnames: folded, optionally without particles ("de la", "van der").

    Particles are dropped only as whole words, and only when another word remains, so
    someone whose surname is just "De" keeps it.

    Args:
        text: One or more surnames.
        drop_particles: Whether to drop particles and tussenvoegsels.

    Returns:
        The folded surnames.
    """
    return _folded_surnames(fold(text), drop_particles)


def _folded_surnames(folded: str, drop_particles: bool) -> str:
    words = folded.split()
    return " ".join(_without_particles(words) if drop_particles else words)


def normalize_full_name(text: str, drop_particles: bool = True) -> str:
    """Normalise a full name; "Surname, Given" order becomes "Given Surname".

    Args:
        text: A full name, in either order.
        drop_particles: Whether to drop surname particles, as `normalize_surnames` does.

    Returns:
        The folded name, given names first.
    """
    surnames, comma, given = text.partition(",")
    ordered = f"{given} {surnames}" if comma else text
    return normalize_surnames(ordered, drop_particles)


def _without_particles(words: list[str]) -> list[str]:
    kept: list[str] = []
    index = 0
    while index < len(words):
        if tuple(words[index : index + 2]) in _PARTICLE_PAIRS:
            index += 2
            continue
        if words[index] not in _PARTICLES:
            kept.append(words[index])
        index += 1
    return kept or words


# -- dates -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _DateFormat:
    pattern: re.Pattern[str]
    parts: tuple[str, ...]  # "YYYY" or "YY", "MM", "DD" in the order they appear
    groups: tuple[int, int, int]  # the match groups of the year, month and day

    @property
    def short_year(self) -> bool:
        return "YY" in self.parts


_FORMAT_TOKEN = re.compile(r"YYYY|YY|MM|DD|[-/. ]")
# Separated formats accept any separator and one- or two-digit days and months.
_SEPARATOR = r"(?:\s*[-/.]\s*|\s+)"
_SEPARATED_PART = {
    "YYYY": "([0-9]{4})",
    "YY": "([0-9]{2})",
    "MM": "([0-9]{1,2})",
    "DD": "([0-9]{1,2})",
}
_TIME_SUFFIX = re.compile(
    r"(?:T|\s+)[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?\s*(?:Z|[+-][0-9]{2}:?[0-9]{2})?$"
)
SUPPORTED_DATE_FORMATS = (
    "YYYY-MM-DD", "DD-MM-YYYY", "DD/MM/YYYY", "DD.MM.YYYY", "MM/DD/YYYY", "YYYY/MM/DD",
    "YYYYMMDD", "DDMMYYYY", "YYMMDD",
)  # fmt: skip


def _compile_date_format(token: str) -> _DateFormat:
    pieces = _FORMAT_TOKEN.findall(token)
    parts = tuple(piece for piece in pieces if piece[0] in "YMD")
    if "".join(pieces) != token or sorted(parts) not in (["DD", "MM", "YY"], ["DD", "MM", "YYYY"]):
        raise SchemaError(f"date format '{token}' is not supported")
    if len(parts) == len(pieces):  # no separators: fixed widths
        regex = "".join(f"([0-9]{{{len(part)}}})" for part in parts)
    else:
        regex = _SEPARATOR.join(_SEPARATED_PART[part] for part in parts)
    year = parts.index("YY") if "YY" in parts else parts.index("YYYY")
    groups = (year + 1, parts.index("MM") + 1, parts.index("DD") + 1)
    return _DateFormat(pattern=re.compile(regex), parts=parts, groups=groups)


_DATE_FORMATS = {token: _compile_date_format(token) for token in SUPPORTED_DATE_FORMATS}


def normalize_date(
    text: str,
    formats: Sequence[str] = _DEFAULTS.date_formats,
    century_pivot: int = _DEFAULTS.century_pivot,
    *,
    today: date | None = None,
) -> str:
    """Parse a date in one of the given formats and return it as YYYY-MM-DD.

    Formats are tried in order and the first that yields a real date wins, so an
    ambiguous 8-digit value is read by the first format under which it makes sense.
    A trailing time of day ("T00:00:00", " 00:00") is ignored.

    Args:
        text: The raw date.
        formats: Format tokens such as "YYYY-MM-DD", "DD/MM/YYYY", "YYYYMMDD", "YYMMDD".
        century_pivot: Two-digit years up to the pivot are 20YY, the others 19YY.
        today: The latest date accepted; defaults to the current date.

    Returns:
        The date as YYYY-MM-DD.

    Raises:
        InvalidValue: No format matches, or the date does not exist, is before
            EARLIEST_YEAR or is in the future.
        SchemaError: A format token is not supported.
    """
    value = unicodedata.normalize("NFKC", text).strip()
    if ":" in value:  # a time of day has one; a date alone has none
        value = _TIME_SUFFIX.sub("", value)
    problem: InvalidValue | None = None
    for token in formats:
        date_format = _DATE_FORMATS.get(token) or _compile_date_format(token)
        match = date_format.pattern.fullmatch(value)
        if match is None:
            continue
        year, month, day = map(int, match.group(*date_format.groups))
        if date_format.short_year:
            year += 2000 if year <= century_pivot else 1900
        try:
            return _checked_date(year, month, day, today or _today()).isoformat()
        except InvalidValue as err:
            problem = problem or err
    if problem is not None:
        raise problem
    raise InvalidValue(f"is not a valid date (expected {', '.join(formats)})")


# (second, its local date): `date.today()` costs more than parsing a date, and the date
# cannot change within a second (local midnight falls on a whole second).
_TODAY: list[tuple[int, date]] = []


def _today() -> date:
    """`date.today()`, computed once a second."""
    second = int(time.time())
    if not _TODAY or _TODAY[0][0] != second:
        _TODAY[:] = [(second, date.fromtimestamp(second))]
    return _TODAY[0][1]


def _checked_date(year: int, month: int, day: int, today: date) -> date:
    try:
        result = date(year, month, day)
    except ValueError as err:
        raise InvalidValue("is not a valid date (no such day or month)") from err
    if year < EARLIEST_YEAR:
        raise InvalidValue(f"is not a valid date (year before {EARLIEST_YEAR})")
    if result > today:
        raise InvalidValue("is not a valid date (in the future)")
    return result


# -- sex -------------------------------------------------------------------------------------

_SEX_SPELLINGS = {
    "m": "m male man masculine masculino masculin hombre h varon homem homme mannelijk jongen "
    "garcon nino menino",
    "f": "f female woman feminine femenino feminino feminin mujer mulher v vrouw vrouwelijk "
    "meisje fille femme nina menina",
    "x": "x other divers diverse anders otro outro autre",
}
_SEX_CODES = {word: code for code, words in _SEX_SPELLINGS.items() for word in words.split()}


def normalize_sex(text: str) -> str:
    """Normalise a sex or gender code to "m", "f" or "x".

    Raises:
        InvalidValue: The spelling is not one we know.
    """
    return _folded_sex(fold(text))


def _folded_sex(folded: str) -> str:
    code = _SEX_CODES.get(folded)
    if code is None:
        raise InvalidValue("is not a recognised sex code (expected m, f or x)")
    return code


# -- nationality -----------------------------------------------------------------------------


def normalize_nationality(text: str) -> str:
    """Normalise a nationality or country to its ISO 3166-1 alpha-3 code.

    Accepts alpha-2 and alpha-3 codes of every country, and names and demonyms of the
    countries most seen in our data in English, Dutch, Spanish, Portuguese and French.
    A spelling we do not know ("Deense") is invalid, as a wrong date is: kept as typed it
    would never agree with another agency's code for the same country, and silently so;
    reported (row and field), the data officer can map or correct it.

    Args:
        text: A code, country name or demonym ("NL", "NLD", "Nederlandse", "holandesa").

    Returns:
        The uppercase alpha-3 code.

    Raises:
        InvalidValue: The spelling is not one we know.
    """
    return _folded_nationality(fold(text))


def _folded_nationality(folded: str) -> str:
    code = NATIONALITIES.get(folded) or NATIONALITIES.get(folded.replace(" ", ""))
    if code is None:
        raise InvalidValue("is not a recognised nationality or country (an ISO code or a name)")
    return code


# -- phone numbers ---------------------------------------------------------------------------

_TRUNK_ZERO = re.compile(r"\(\s*0\s*\)")  # "+31 (0)6 ..." and "(0)6 ..."


def normalize_phone(text: str, region: str = _DEFAULTS.phone_region) -> str:
    """Normalise a phone number to E.164 ("+31612345678") with the phonenumbers library.

    A leading "00" is read as the international prefix whatever the region, and a "(0)"
    trunk prefix is ignored.

    Args:
        text: The raw number.
        region: ISO 3166-1 alpha-2 region for numbers written without a country code.

    Returns:
        The number in E.164 form.

    Raises:
        InvalidValue: The text is not a phone number: no digits to read, an unknown country
            code, or fewer than 6 or more than 15 digits after the country code.
    """
    value = _first_number(_TRUNK_ZERO.sub("", unicodedata.normalize("NFKC", text)))
    if value.startswith("00"):
        value = "+" + value[2:]
    # Loaded with the first phone number: ~30 ms of start-up spared where there is none.
    import phonenumbers

    try:
        number = phonenumbers.parse(value, region.upper())
    except phonenumbers.NumberParseException as err:
        raise InvalidValue("is not a valid phone number") from err
    # Real registrations hold numbers a digit short or long for their country (a foreign
    # mobile copied from a form); dropping them loses strong evidence, while the same
    # number written twice still agrees. So the length is checked loosely, E.164's bounds,
    # and never against number ranges, which change between phonenumbers releases.
    national = str(number.national_number)
    if (
        phonenumbers.region_code_for_country_code(number.country_code or 0) == "ZZ"
        or not _NATIONAL_DIGITS[0] <= len(national) <= _NATIONAL_DIGITS[1]
    ):
        raise InvalidValue("is not a valid phone number")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


_NATIONAL_DIGITS = (6, 14)  # E.164: at most 15 digits with the country code
# Words around a number ("tel.", "GSM", "(mob)", "whatsapp") and a second number in the
# same cell ("06-... / 010-..."): clerks write both. Letters would otherwise be read as a
# keypad's digits (phonenumbers reads "mob" as 662).
_PHONE_WORDS = re.compile(r"[^\W\d_]+\.?")
_PHONE_SEPARATORS = re.compile(r"\s*(?:/|,|;|\|)\s*")


def _first_number(text: str) -> str:
    """The first number in a cell, without the words written around it."""
    for part in _PHONE_SEPARATORS.split(_PHONE_WORDS.sub(" ", text)):
        cleaned = part.replace("()", " ").strip(" -:()")
        if sum(char.isdigit() for char in cleaned) >= _NATIONAL_DIGITS[0]:
            return cleaned
    return text.strip()


# -- places ----------------------------------------------------------------------------------

# A country prefix as in "B-1000" or "NL-1234 AB" (folded: "b 1000"). Only known codes, and
# only before a separator: "B1 1AA" (UK) and "VLT 1117" (Malta) keep their letters.
_POSTCODE_COUNTRY = re.compile(
    r"^(?:a|at|b|be|bg|ch|cz|d|de|dk|e|es|f|fi|fr|gr|h|hr|hu|i|ie|it|l|lt|lu|lv|n|nl|no|p"
    r"|pl|pt|ro|s|se|si|sk) (?=[0-9])"
)
_IDENTIFIER_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015./]+")


def normalize_postcode(text: str) -> str:
    """Normalise a postcode: folded, country prefix removed, uppercase, no spaces.

    "1234 ab" -> "1234AB"; "B-1000" -> "1000"; "sw1a 1aa" -> "SW1A1AA".
    """
    return _folded_postcode(fold(text))


def _folded_postcode(folded: str) -> str:
    return _POSTCODE_COUNTRY.sub("", folded).replace(" ", "").upper()


def normalize_city(text: str) -> str:
    """Normalise a city: folded, and known alternative names mapped to one form.

    Folding removes apostrophes and turns hyphens into spaces, so "'s-Gravenhage" folds
    to "s gravenhage", which the alias table maps to "den haag", as "The Hague" is.
    """
    return _folded_city(fold(text))


def _folded_city(folded: str) -> str:
    return CITY_ALIASES.get(folded, folded)


def normalize_text(text: str) -> str:
    """Normalise free text: folded."""
    return fold(text)


def normalize_identifier(text: str) -> str:
    """Normalise an identifier: spaces, hyphens, dots and slashes removed, uppercase.

    Raises:
        InvalidValue: Nothing is left after removing the separators.
    """
    identifier = _IDENTIFIER_SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper()
    if not identifier:
        raise InvalidValue("is empty after removing separators")
    return identifier


# -- dispatch --------------------------------------------------------------------------------

_NORMALIZERS: Mapping[FieldKind, Callable[[str, Normalization], str]] = {
    FieldKind.GIVEN_NAMES: lambda text, _: normalize_given_names(text),
    FieldKind.SURNAMES: lambda text, options: normalize_surnames(text, options.drop_particles),
    FieldKind.FULL_NAME: lambda text, options: normalize_full_name(text, options.drop_particles),
    FieldKind.DATE: lambda text, options: normalize_date(
        text, options.date_formats, options.century_pivot
    ),
    FieldKind.SEX: lambda text, _: normalize_sex(text),
    FieldKind.NATIONALITY: lambda text, _: normalize_nationality(text),
    FieldKind.PHONE: lambda text, options: normalize_phone(text, options.phone_region),
    FieldKind.POSTCODE: lambda text, _: normalize_postcode(text),
    FieldKind.CITY: lambda text, _: normalize_city(text),
    FieldKind.TEXT: lambda text, _: normalize_text(text),
    FieldKind.IDENTIFIER: lambda text, _: normalize_identifier(text),
}
# The kinds whose normaliser begins by folding, from the folded text: `normalize_value`
# folds once to tell a missing value, and these reuse that instead of folding again.
_FROM_FOLDED: Mapping[FieldKind, Callable[[str, Normalization], str]] = {
    FieldKind.GIVEN_NAMES: lambda folded, _: folded,
    FieldKind.SURNAMES: lambda folded, options: _folded_surnames(folded, options.drop_particles),
    FieldKind.SEX: lambda folded, _: _folded_sex(folded),
    FieldKind.NATIONALITY: lambda folded, _: _folded_nationality(folded),
    FieldKind.POSTCODE: lambda folded, _: _folded_postcode(folded),
    FieldKind.CITY: lambda folded, _: _folded_city(folded),
    FieldKind.TEXT: lambda folded, _: folded,
}


def normalize_value(spec: FieldSpec, raw: str) -> str | None:
    """Normalise one raw value of a field, as its kind and settings say.

    Args:
        spec: The field's spec from the linkage schema.
        raw: The value as read from the input.

    Returns:
        The normalised value, or None when the value is missing: blank, punctuation only,
        or a null marker such as "n/a", "unknown" or "onbekend".

    Raises:
        InvalidValue: The value is present but not valid for the field's kind; the reason
            never contains the value.
    """
    folded = fold(raw)
    if not folded or folded in _MISSING_MARKERS:  # `is_missing`, folding once
        return None
    from_folded = _FROM_FOLDED.get(spec.kind)
    if from_folded is not None:
        return from_folded(folded, spec.normalize)
    return _NORMALIZERS[spec.kind](raw, spec.normalize)
