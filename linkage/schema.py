"""The linkage schema: which fields are encoded, how, and with how many bits (public)."""

import hashlib
import json
import re
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from linkage.errors import SchemaError

SCHEMA_VERSION: Literal[1] = 1
DEFAULT_SCHEMA = "person"


class FieldKind(StrEnum):
    """What a field holds; the kind selects the normaliser."""

    GIVEN_NAMES = "given_names"
    SURNAMES = "surnames"
    FULL_NAME = "full_name"
    DATE = "date"
    SEX = "sex"
    NATIONALITY = "nationality"
    PHONE = "phone"
    POSTCODE = "postcode"
    CITY = "city"
    TEXT = "text"
    IDENTIFIER = "identifier"


class TokenMethod(StrEnum):
    """How a normalised value becomes tokens."""

    QGRAMS = "qgrams"  # q-grams of each word, padded at both ends
    DATE_PARTS = "date_parts"  # year, month, day, and day/month without their role
    EXACT = "exact"  # the whole value is one token


_DATE_FORMAT_PARTS = re.compile(r"YYYY|YY|MM|DD|[-/. ]")
_DEFAULT_METHOD = {
    FieldKind.DATE: TokenMethod.DATE_PARTS,
    FieldKind.SEX: TokenMethod.EXACT,
    FieldKind.NATIONALITY: TokenMethod.EXACT,
    FieldKind.PHONE: TokenMethod.QGRAMS,
    FieldKind.IDENTIFIER: TokenMethod.EXACT,
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Tokenization(_Frozen):
    """Tokeniser settings of one field."""

    method: TokenMethod = TokenMethod.QGRAMS
    q: int = Field(default=2, ge=1, le=4)
    padded: bool = True


class Normalization(_Frozen):
    """Normaliser settings of one field; each applies only to the kinds that use it."""

    date_formats: tuple[str, ...] = ("YYYY-MM-DD", "DD-MM-YYYY", "DD/MM/YYYY", "YYYYMMDD", "YYMMDD")
    century_pivot: int = Field(default=30, ge=0, le=99)  # YY above the pivot -> 19YY
    phone_region: str = Field(default="NL", min_length=2, max_length=2)
    drop_particles: bool = True  # de, del, da, dos, van, van der, ... dropped from surnames

    @field_validator("date_formats")
    @classmethod
    def _known_date_formats(cls, formats: tuple[str, ...]) -> tuple[str, ...]:
        for token in formats:
            parts = _DATE_FORMAT_PARTS.findall(token)
            if "".join(parts) != token or sorted(p for p in parts if p[0] in "YMD") not in (
                ["DD", "MM", "YYYY"],
                ["DD", "MM", "YY"],
            ):
                raise ValueError(
                    f"date format {token!r} is not made of DD, MM, YYYY or YY "
                    "and separators - / . or space"
                )
        return formats


class FieldSpec(_Frozen):
    """One encoded field."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    kind: FieldKind
    required: bool = False
    bits_per_token: int = Field(default=10, ge=0, le=64)  # 0: not encoded (e.g. salt only)
    tokenize: Tokenization | None = None  # None: the kind's default method
    normalize: Normalization = Normalization()

    @property
    def tokenization(self) -> Tokenization:
        """The effective tokenisation: the explicit one or the kind's default."""
        if self.tokenize is not None:
            return self.tokenize
        return Tokenization(method=_DEFAULT_METHOD.get(self.kind, TokenMethod.QGRAMS))


class ComparisonPart(StrEnum):
    """Which words of a field's normalised value a comparison looks at."""

    ALL = "all"
    FIRST = "first"  # the first word: the first given name, the principal surname
    REST = "rest"  # every word after the first: other given names, other surnames


class ComparisonMethod(StrEnum):
    """How a comparison encodes its part, and so which agreement levels it can tell."""

    BLOOM = "bloom"  # keyed q-gram filter of its own: agree, close, partial, disagree
    # Keyed MinHash bands of the q-grams (`linkage.bands`): levels like bloom, but a bit
    # stands for a band of several q-grams chosen by the key, never for one q-gram.
    BANDS = "bands"
    EXACT = "exact"  # one keyed 64-bit tag: agree or disagree
    DATE = "date"  # keyed tags of the date, of it with day and month swapped, of pairs


# Kinds with few distinct values: a keyed tag or filter of one of them alone is broken by
# counting (the most frequent tag is the most frequent value). They stay in the CLK only.
LOW_CARDINALITY_KINDS = frozenset({FieldKind.SEX, FieldKind.NATIONALITY})


class ComparisonSpec(_Frozen):
    """One field-level comparison: a part of a field, encoded on its own for scoring.

    `crosswise` names the comparison this one is also tried against when the other record
    wrote given names and surnames the other way round (first_given <-> first_surname).
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    field: str
    part: ComparisonPart = ComparisonPart.ALL
    method: ComparisonMethod = ComparisonMethod.BLOOM
    bits: int = Field(default=128, ge=64, le=512, multiple_of=64)  # bloom and bands only
    bits_per_token: int = Field(default=3, ge=1, le=16)  # bloom and bands only
    crosswise: str | None = None
    # An identifier of one person (document, social security number), not of a household
    # or a family: relatives and namesakes share it only by chance, and scoring holds its
    # related class to that (`linkage.match.scoring`).
    personal: bool = False


SALT_TRANSFORMS = {
    "": None,  # the whole value, any kind
    "year": frozenset({FieldKind.DATE}),
    "decade": frozenset({FieldKind.DATE}),
    "month": frozenset({FieldKind.DATE}),
    "day": frozenset({FieldKind.DATE}),
    "month_day": frozenset({FieldKind.DATE}),
    "word": frozenset({FieldKind.GIVEN_NAMES, FieldKind.SURNAMES, FieldKind.FULL_NAME}),
    "key": frozenset({FieldKind.GIVEN_NAMES, FieldKind.SURNAMES, FieldKind.FULL_NAME}),
    "initial": frozenset({FieldKind.GIVEN_NAMES, FieldKind.SURNAMES, FieldKind.FULL_NAME}),
    "area": frozenset({FieldKind.POSTCODE}),  # the first two characters: a region
}
_SALT_PART = re.compile(r"^([a-z][a-z0-9_]{0,39}(?:\+[a-z][a-z0-9_]{0,39})*)(?::([a-z_]+))?$")


def split_salt_part(part: str) -> tuple[tuple[str, ...], str]:
    """A salt part's fields and transform: "given_names+surnames:key" -> (fields, "key")."""
    found = _SALT_PART.match(part)
    if found is None or (found.group(2) or "") not in SALT_TRANSFORMS:
        raise ValueError(
            f"salt part {part!r} is not FIELD[+FIELD...][:TRANSFORM] with a transform of "
            f"{sorted(name for name in SALT_TRANSFORMS if name)}"
        )
    return tuple(found.group(1).split("+")), found.group(2) or ""


class SaltFamily(_Frozen):
    """One independently salted encoding of every record that has the values it names.

    The salt is the combination of its parts (`linkage.salting`): records are comparable
    inside a family only when their salts are equal, so each family should combine values
    with many distinct values, and the families together should leave every kind of error
    a family to agree in.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    parts: tuple[str, ...] = Field(min_length=1, max_length=4)

    @field_validator("parts")
    @classmethod
    def _parts_parse(cls, parts: tuple[str, ...]) -> tuple[str, ...]:
        for part in parts:
            split_salt_part(part)
        return parts


MAX_SALT_FAMILIES = 8


class Hardening(_Frozen):
    """Optional hardening of the encodings against cryptanalysis and graph matching."""

    balance: bool = False  # append the complement, then permute: every filter half ones
    xor_fold: bool = False  # XOR the two halves: half the length, no bit readable alone
    salt_field: str | None = None  # record-level salt: its value keys every token hash
    flip_probability: float = Field(default=0.0, ge=0.0, lt=0.5)  # permanent random bit flips
    # Each record encoded once per family, each salted by its own values (`linkage.salting`)
    salt_families: tuple[SaltFamily, ...] = Field(default=(), max_length=MAX_SALT_FAMILIES)
    # With salt families: each family's record-level filter encodes its salt alone, equal
    # for every record of a salt group and unrelated between groups, instead of the
    # record's values (`linkage.salting.group_filter`). It finds every pair of a group as
    # a candidate and tells the hub nothing about who in a group resembles whom.
    group_filters: bool = False


class LinkageSchema(_Frozen):
    """A versioned, public description of how records are encoded.

    Two batches can be compared only when their schemas have the same fingerprint.
    """

    version: Literal[1] = SCHEMA_VERSION
    name: str = Field(min_length=1, max_length=80)
    filter_bits: int = Field(default=1024, ge=64, le=16384, multiple_of=64)
    fields: tuple[FieldSpec, ...] = Field(min_length=1)
    hardening: Hardening = Hardening()
    comparisons: tuple[ComparisonSpec, ...] = ()  # field-level scoring; empty: CLK only

    @model_validator(mode="after")
    def _check_fields(self) -> Self:
        names = [spec.name for spec in self.fields]
        if len(set(names)) != len(names):
            raise ValueError("field names must be unique")
        salt = self.hardening.salt_field
        if salt is not None and salt not in names:
            raise ValueError(f"salt_field '{salt}' is not a field of the schema")
        _check_salt_families(self)
        if not any(spec.bits_per_token for spec in self.fields):
            raise ValueError("at least one field must set bits")
        for spec in self.fields:
            if (
                spec.tokenization.method is TokenMethod.DATE_PARTS
                and spec.kind is not FieldKind.DATE
            ):
                raise ValueError(f"field '{spec.name}': date_parts tokens need kind 'date'")
        if self.hardening.xor_fold and not self.hardening.balance and self.filter_bits % 128:
            # the folded halves are whole 64-bit words
            raise ValueError("xor_fold without balance needs filter_bits a multiple of 128")
        _check_comparisons(self)
        return self

    @property
    def families(self) -> int:
        """How many encodings each record gets: one per salt family, else one."""
        return max(1, len(self.hardening.salt_families))

    @property
    def family_bits(self) -> int:
        """Length of one family's filter, after balancing and folding."""
        bits = self.filter_bits * (2 if self.hardening.balance else 1)
        return bits // (2 if self.hardening.xor_fold else 1)

    @property
    def encoded_bits(self) -> int:
        """Length of a record's filters: every family's filter, one after the other."""
        return self.family_bits * self.families

    @property
    def field_names(self) -> tuple[str, ...]:
        """Field names in schema order."""
        return tuple(spec.name for spec in self.fields)

    def field(self, name: str) -> FieldSpec:
        """The spec of one field by name."""
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise SchemaError(f"schema '{self.name}' has no field '{name}'")

    def canonical_json(self) -> str:
        """Canonical form: every default made explicit, keys sorted, no whitespace."""
        document = self.model_dump(mode="json")
        for spec, raw in zip(self.fields, document["fields"], strict=True):
            raw["tokenize"] = spec.tokenization.model_dump(mode="json")
        if not self.comparisons:  # schemas without comparisons keep their fingerprint
            del document["comparisons"]
        for raw in document.get("comparisons", ()):
            if not raw["personal"]:  # nor do those without a personal comparison
                del raw["personal"]
        if not self.hardening.salt_families:  # nor do schemas without salt families
            del document["hardening"]["salt_families"]
        if not self.hardening.group_filters:  # nor salted ones with value filters
            del document["hardening"]["group_filters"]
        return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)

    def fingerprint(self) -> str:
        """SHA-256 of the canonical form, hex; equal fingerprints mean comparable encodings."""
        return hashlib.sha256(self.canonical_json().encode("ascii")).hexdigest()


def _check_salt_families(schema: LinkageSchema) -> None:
    families = schema.hardening.salt_families
    if not families:
        if schema.hardening.group_filters:
            raise ValueError("group_filters need salt_families")
        return
    if schema.hardening.salt_field is not None:
        raise ValueError("salt_field and salt_families exclude each other")
    hardening = schema.hardening
    if hardening.group_filters and (
        hardening.balance or hardening.xor_fold or hardening.flip_probability
    ):
        raise ValueError("group_filters encode the salt alone: no balance, folding or flips")
    if len({family.name for family in families}) != len(families):
        raise ValueError("salt family names must be unique")
    kinds = {spec.name: spec.kind for spec in schema.fields}
    for family in families:
        for part in family.parts:
            fields, transform = split_salt_part(part)
            for name in fields:
                if name not in kinds:
                    raise ValueError(f"salt family '{family.name}': '{name}' is not a field")
                allowed = SALT_TRANSFORMS[transform]
                if allowed is not None and kinds[name] not in allowed:
                    raise ValueError(
                        f"salt family '{family.name}': transform '{transform}' does not "
                        f"apply to field '{name}' of kind '{kinds[name]}'"
                    )


def _check_comparisons(schema: LinkageSchema) -> None:
    by_name = {spec.name: spec for spec in schema.comparisons}
    if len(by_name) != len(schema.comparisons):
        raise ValueError("comparison names must be unique")
    if len(by_name) > MAX_COMPARISONS:
        raise ValueError(f"at most {MAX_COMPARISONS} comparisons")
    kinds = {spec.name: spec.kind for spec in schema.fields}
    for spec in schema.comparisons:
        kind = kinds.get(spec.field)
        if kind is None:
            raise ValueError(f"comparison '{spec.name}': '{spec.field}' is not a field")
        if kind in LOW_CARDINALITY_KINDS:
            raise ValueError(
                f"comparison '{spec.name}': a field of kind '{kind}' has too few distinct "
                "values to be encoded on its own (counting its tags reveals them)"
            )
        if (spec.method is ComparisonMethod.DATE) != (kind is FieldKind.DATE):
            raise ValueError(f"comparison '{spec.name}': method 'date' is for kind 'date' only")
        _check_crosswise(spec, by_name)


def _check_crosswise(spec: ComparisonSpec, by_name: dict[str, ComparisonSpec]) -> None:
    if spec.crosswise is None:
        return
    other = by_name.get(spec.crosswise)
    if other is None or other.crosswise != spec.name or other is spec:
        raise ValueError(f"comparison '{spec.name}': crosswise must name a comparison naming it")
    if (other.method, other.bits) != (spec.method, spec.bits):
        raise ValueError(f"comparison '{spec.name}': crosswise comparisons must be alike")


MAX_COMPARISONS = 48  # a 64-bit presence mask, with room


def parse_schema(text: str, *, source: str = "schema") -> LinkageSchema:
    """Parse and validate a schema document; errors name the offending location."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise SchemaError(
            f"{source}: not valid JSON (line {err.lineno}, column {err.colno})"
        ) from err
    if isinstance(raw, dict) and raw.get("version", SCHEMA_VERSION) != SCHEMA_VERSION:
        raise SchemaError(
            f"{source}: schema version {raw.get('version')!r} is not supported "
            f"(this fieldlink reads version {SCHEMA_VERSION})"
        )
    try:
        return LinkageSchema.model_validate(raw)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'schema'}: {error['msg']}"
            for error in err.errors()
        )
        raise SchemaError(f"{source}: {problems}") from err


def load_schema(path: Path | str | None = None) -> LinkageSchema:
    """Load a schema file, or a schema shipped with fieldlink by name (default: person).

    Args:
        path: A path to a JSON schema file, the name of a shipped schema, or None for the
            default person schema.

    Returns:
        The validated schema.
    """
    if path is None or (isinstance(path, str) and path in shipped_schemas()):
        name = path or DEFAULT_SCHEMA
        text = resources.files("linkage.schemas").joinpath(f"{name}.json").read_text("utf-8")
        return parse_schema(text, source=f"shipped schema '{name}'")
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise SchemaError(f"{file}: cannot be read ({type(err).__name__})") from err
    return parse_schema(text, source=str(file))


def shipped_schemas() -> list[str]:
    """Names of the schemas shipped with fieldlink."""
    folder = resources.files("linkage.schemas")
    return sorted(
        item.name.removesuffix(".json") for item in folder.iterdir() if item.name.endswith(".json")
    )
