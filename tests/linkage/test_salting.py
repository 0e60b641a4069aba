"""Salt families: sound keys, salt values, schema rules, encodings and matching."""

import json

import numpy as np
import pytest

from keys import LinkageSecret
from linkage.comparisons import comparison_layout
from linkage.encode import encode_records
from linkage.errors import BatchError, SchemaError
from linkage.match.grouping import group_records
from linkage.match.layout import ComparisonLayout
from linkage.salting import family_salts, name_initial, name_key
from linkage.schema import LinkageSchema, load_schema, parse_schema

SECRET = LinkageSecret(project="salting", value=bytes(range(32)))
CLASSIC_FINGERPRINT = "807c3bfa1ba61c8db0b08b6780119b690b3d2aa17f2d41860c4060b421895915"
PERSON = {
    "given_names": "Maria José",
    "surnames": "García Pérez",
    "date_of_birth": "1985-03-07",
    "phone": "06-12345678",
    "postcode": "3011 AB",
}


def with_families(families: list[dict[str, object]]) -> LinkageSchema:
    document = load_schema("person-classic").model_dump(mode="json")
    document["hardening"]["salt_families"] = families
    return LinkageSchema.model_validate(document)


@pytest.mark.parametrize(
    ("first", "second"),
    [("cristina", "kristina"), ("garcia", "garsia"), ("perez", "peres"), ("hernandez", "ernandez")],
)
def test_sound_keys_survive_common_respellings(first: str, second: str) -> None:
    assert name_key(first) == name_key(second)
    assert name_initial(first) == name_initial(second)


@pytest.mark.parametrize(("first", "second"), [("maria", "jan"), ("silva", "santos")])
def test_sound_keys_tell_different_names_apart(first: str, second: str) -> None:
    assert name_key(first) != name_key(second)


def test_salts_are_order_free_where_asked_and_missing_without_a_part() -> None:
    schema = load_schema()
    names = schema.field_names
    rows: list[dict[str, str | None]] = [
        {"given_names": "maria", "surnames": "garcia", "date_of_birth": "1985-03-07"},
        {"given_names": "garsia", "surnames": "maria", "date_of_birth": "1985-07-03"},
        {"given_names": "maria", "surnames": "garcia", "date_of_birth": None},
    ]
    columns = [[row.get(name) for row in rows] for name in names]
    by_name = {family.name: family for family in schema.hardening.salt_families}

    monthday = family_salts(schema, by_name["names_monthday"], columns)
    born = family_salts(schema, by_name["born_surname"], columns)

    assert monthday[0] == monthday[1] is not None  # names swapped, day and month swapped
    assert monthday[2] is None  # no date: not in this family
    assert born[0] != born[1]  # another date, another surname
    assert all(salt is None or salt.startswith("born_surname\x1f") for salt in born)


def test_old_schemas_keep_their_fingerprint_and_the_default_is_salted() -> None:
    assert load_schema("person-classic").fingerprint() == CLASSIC_FINGERPRINT
    default = load_schema()
    assert default.families == len(default.hardening.salt_families) >= 5
    assert default.fingerprint() != CLASSIC_FINGERPRINT
    assert default.encoded_bits == default.families * default.family_bits


@pytest.mark.parametrize(
    ("families", "message"),
    [
        ([{"name": "a", "parts": ["nickname"]}], "'nickname' is not a field"),
        ([{"name": "a", "parts": ["surnames:year"]}], "transform 'year' does not apply"),
        ([{"name": "a", "parts": ["phone:shout"]}], "is not FIELD"),
        ([{"name": "a", "parts": ["phone"]}, {"name": "a", "parts": ["postcode"]}], "unique"),
    ],
)
def test_bad_salt_families_are_refused_by_name(
    families: list[dict[str, object]], message: str
) -> None:
    document = json.loads(load_schema("person-classic").model_dump_json())
    document["hardening"]["salt_families"] = families
    with pytest.raises(SchemaError, match=message):
        parse_schema(json.dumps(document))


def test_salt_field_and_salt_families_exclude_each_other() -> None:
    document = json.loads(load_schema().model_dump_json())
    document["hardening"]["salt_field"] = "date_of_birth"
    with pytest.raises(SchemaError, match="exclude each other"):
        parse_schema(json.dumps(document))


def test_each_family_is_its_own_block_and_a_record_without_its_salt_is_zero() -> None:
    schema = load_schema()
    layout = comparison_layout(schema)
    encoded = encode_records([PERSON, {**PERSON, "phone": ""}], schema, SECRET)
    assert encoded.comparisons is not None
    filters = encoded.filters.reshape(2, schema.families, -1)
    words = encoded.comparisons.view(np.uint64).reshape(2, schema.families, layout.words)
    phone = layout.family_names.index("phone")

    assert encoded.filters.shape[1] * 8 == schema.encoded_bits
    assert layout.family_names == tuple(f.name for f in schema.hardening.salt_families)
    assert not filters[1, phone].any() and not words[1, phone].any()  # no phone: no block
    assert filters[0, phone].any() and words[0, phone, 0] != 0
    # Equal values in two families are salted apart: nothing repeats between blocks.
    assert len({bytes(block) for block in filters[0]}) == schema.families


def test_records_alike_only_where_they_share_a_salt() -> None:
    schema = load_schema()
    moved = {**PERSON, "date_of_birth": "1985-03-08", "postcode": "9999 ZZ", "phone": ""}
    filters = encode_records([PERSON, moved], schema, SECRET).filters.reshape(
        2, schema.families, -1
    )
    names = [family.name for family in schema.hardening.salt_families]

    def dice(family: str) -> float:
        left, right = (np.unpackbits(filters[r, names.index(family)]) for r in (0, 1))
        total = int(left.sum() + right.sum())
        return 2 * int((left & right).sum()) / total if total else 0.0

    assert dice("names_month") > 0.7  # same names, year and month: one salt
    assert dice("born_surname") < 0.5  # another day: another salt, unrelated bits


def test_layout_with_families_round_trips_and_checks_width() -> None:
    layout = comparison_layout(load_schema())
    parsed = ComparisonLayout.parse(layout.text)

    assert parsed == layout and parsed.row_words == layout.words * layout.families
    assert parsed.one_family().families == 1 and parsed.one_family().words == layout.words
    parsed.check_width(8 * parsed.row_words)
    with pytest.raises(BatchError, match="bytes each"):
        parsed.check_width(8 * parsed.words)


def test_pairs_never_compared_do_not_split_a_group() -> None:
    # Records 0, 1 (agency 0) and 2 (agency 1) and 3 (agency 2): 0-2, 1-2 and 0-3 link;
    # 1-3 were never compared (no shared salt). Counting them as a disagreement would
    # leave record 1 out; as unknown, all four are one person.
    agency = np.array([0, 0, 1, 2])
    left, right = np.array([0, 1, 0, 2]), np.array([2, 2, 3, 3])
    score = np.array([0.99, 0.9, 0.99, 0.95])

    strict = group_records(agency, left, right, score, threshold=0.6)
    unknown = group_records(
        agency, left, right, score, threshold=0.6, compared=(left, right, score)
    )

    assert len(set(unknown.group.tolist())) == 1 and unknown.group[0] >= 0
    assert strict.group[1] != strict.group[0]


def test_numpy_and_compiled_encoders_agree_on_every_family() -> None:
    from linkage.backend import Backend
    from linkage.encode import Encoders, normalize_column
    from linkage.synth import synthesize

    schema = load_schema()
    rows = [row for records in synthesize(persons=150, seed=5).records.values() for row in records]
    columns = [
        normalize_column(spec, [r.get(spec.name, "") for r in rows])[0] for spec in schema.fields
    ]
    encoded = [
        Encoders.of(schema, SECRET, backend=backend).encode(columns, threads=False)
        for backend in (Backend.VECTORIZED, Backend.COMPILED)
    ]

    assert np.array_equal(encoded[0][0], encoded[1][0])
    assert encoded[0][1] is not None and encoded[1][1] is not None
    assert np.array_equal(encoded[0][1], encoded[1][1])
