import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keys import LinkageSecret
from linkage.backend import Backend
from linkage.comparisons import ComparisonEncoder, comparison_layout
from linkage.encode import encode_records
from linkage.errors import SchemaError
from linkage.match.layout import ComparisonLayout
from linkage.schema import (
    ComparisonPart,
    ComparisonSpec,
    FieldSpec,
    Hardening,
    LinkageSchema,
    load_schema,
    parse_schema,
)

SECRET = LinkageSecret(project="comparisons", value=bytes(range(32)))
OTHER = LinkageSecret(project="comparisons", value=bytes(range(1, 33)))
RECORD = {
    "given_names": "Jan Pieter",
    "surnames": "de Vries Bakker",
    "date_of_birth": "1980-03-12",
    "phone": "06-12345678",
    "postcode": "1234 AB",
}


def words(schema: LinkageSchema, records: list[dict[str, str]], secret: LinkageSecret = SECRET):
    encoded = encode_records(records, schema, secret).comparisons
    assert encoded is not None
    return encoded.view(np.uint64)


def slot(schema: LinkageSchema, row: np.ndarray, name: str) -> np.ndarray:
    entry = comparison_layout(schema).entries[comparison_layout(schema).index(name)]
    return row[entry.offset : entry.offset + entry.words]


def schema_with(comparisons: list[dict[str, object]]) -> str:
    document = load_schema("person-classic").model_dump(mode="json") | {"comparisons": comparisons}
    return json.dumps(document)


@pytest.mark.parametrize("field", ["sex", "nationality"])
def test_a_low_cardinality_field_cannot_have_a_comparison(field: str) -> None:
    text = schema_with([{"name": "x", "field": field, "method": "exact"}])

    with pytest.raises(SchemaError, match="too few distinct values"):
        parse_schema(text)


@pytest.mark.parametrize(
    ("comparison", "message"),
    [
        ({"name": "x", "field": "nope"}, "is not a field"),
        ({"name": "x", "field": "phone", "method": "date"}, "for kind 'date' only"),
        ({"name": "x", "field": "date_of_birth", "method": "exact"}, "for kind 'date' only"),
        ({"name": "x", "field": "phone", "crosswise": "y"}, "crosswise must name"),
    ],
)
def test_a_bad_comparison_is_refused_by_name(comparison: dict[str, object], message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        parse_schema(schema_with([comparison]))


def test_the_person_schema_encodes_names_in_parts_and_no_low_cardinality_field() -> None:
    schema = load_schema("person-classic")

    names = [spec.name for spec in schema.comparisons]
    assert names[:4] == ["first_given", "other_given", "first_surname", "other_surnames"]
    assert not {spec.field for spec in schema.comparisons} & {"sex", "nationality"}


def test_encoding_is_deterministic_and_as_wide_as_the_layout() -> None:
    schema = load_schema("person-classic")

    first, second = words(schema, [RECORD]), words(schema, [RECORD])

    assert (first == second).all()
    assert first.shape == (1, comparison_layout(schema).words)


def test_another_secret_changes_every_comparison_slot() -> None:
    schema = load_schema("person-classic")

    mine, theirs = words(schema, [RECORD])[0], words(schema, [RECORD], OTHER)[0]

    assert mine[0] == theirs[0]  # the presence mask is not secret
    for name in ("first_given", "first_surname", "date_of_birth", "phone", "postcode"):
        assert (slot(schema, mine, name) != slot(schema, theirs, name)).any(), name


def test_missing_stays_missing_no_bit_and_no_tag() -> None:
    schema = load_schema("person-classic")
    layout = comparison_layout(schema)

    row = words(schema, [{"given_names": "Ana", "surnames": "Perez"}])[0]

    present = {name for index, name in enumerate(layout.names) if row[0] >> index & 1}
    assert present == {"first_given", "first_surname"}
    for name in set(layout.names) - present:
        assert not slot(schema, row, name).any(), name


def test_the_first_and_other_parts_split_at_the_first_word() -> None:
    schema = load_schema("person-classic")

    both, first_only = words(schema, [RECORD, RECORD | {"given_names": "Jan"}])

    assert (slot(schema, both, "first_given") == slot(schema, first_only, "first_given")).all()
    assert slot(schema, both, "other_given").any()
    assert not slot(schema, first_only, "other_given").any()


def test_a_given_name_meets_the_same_name_written_as_a_surname() -> None:
    schema = load_schema("person-classic")
    swapped = RECORD | {"given_names": "Vries", "surnames": "Jan"}

    straight, crossed = words(schema, [RECORD | {"surnames": "Vries"}, swapped])

    assert (slot(schema, straight, "first_surname") == slot(schema, crossed, "first_given")).all()


def test_a_date_with_day_and_month_swapped_meets_the_original() -> None:
    schema = load_schema("person-classic")

    original, swapped = words(schema, [RECORD, RECORD | {"date_of_birth": "1980-12-03"}])

    date, other = slot(schema, original, "date_of_birth"), slot(schema, swapped, "date_of_birth")
    assert date[0] == other[1] and date[1] == other[0]
    assert date[0] != other[0]


def test_record_salting_keys_comparisons_too() -> None:
    plain = load_schema("person-classic")
    salted = plain.model_copy(update={"hardening": Hardening(salt_field="date_of_birth")})

    a = slot(plain, words(plain, [RECORD])[0], "first_given")
    b = slot(salted, words(salted, [RECORD])[0], "first_given")

    assert (a != b).any()


def test_the_layout_round_trips_and_refuses_a_slot_out_of_place() -> None:
    layout = comparison_layout(load_schema("person-classic"))

    assert ComparisonLayout.parse(layout.text) == layout
    broken = layout.text.replace('"offset":1,', '"offset":2,')
    with pytest.raises(Exception, match="out of place"):
        ComparisonLayout.parse(broken)


def test_only_a_personal_identifier_is_marked_personal_in_the_layout() -> None:
    layout = comparison_layout(load_schema())
    classic = comparison_layout(load_schema("person-classic"))

    assert [e.name for e in layout.entries if e.personal] == ["document_number"]
    assert ComparisonLayout.parse(layout.text) == layout
    assert '"personal"' not in classic.text  # a schema without one keeps its layout text


def test_the_encoder_repr_shows_no_key() -> None:
    encoder = ComparisonEncoder(load_schema("person-classic"), SECRET)

    assert repr(encoder) == "ComparisonEncoder(schema='person', words=15)"


# Accents, a code point beyond the BMP, and spaces: leading, trailing and doubled.
any_text = st.text(alphabet="abcxyzéñøß\U0001d518 ", max_size=14)
dates = st.dates().map(lambda day: day.isoformat()).filter(lambda text: len(text) == 10)
NAMED_FIELDS = (
    FieldSpec(name="given", kind="given_names"),
    FieldSpec(name="family", kind="surnames"),
    FieldSpec(name="born", kind="date"),
    FieldSpec(name="code", kind="identifier"),
)


@st.composite
def random_comparisons(draw: st.DrawFn) -> tuple[ComparisonSpec, ...]:
    specs = []
    for index in range(draw(st.integers(1, 6))):
        field = draw(st.sampled_from(NAMED_FIELDS))
        method = (
            "date" if field.kind == "date" else draw(st.sampled_from(["bloom", "exact", "bands"]))
        )
        specs.append(
            ComparisonSpec(
                name=f"c{index}",
                field=field.name,
                part=draw(st.sampled_from(ComparisonPart)),
                method=method,
                bits=draw(st.sampled_from([64, 128, 192])),
                bits_per_token=draw(st.integers(1, 16)),
            )
        )
    return tuple(specs)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_numpy_and_compiled_encoders_write_the_same_words(data: st.DataObject) -> None:
    salt = data.draw(st.none() | st.sampled_from([spec.name for spec in NAMED_FIELDS]))
    schema = LinkageSchema(
        name="t",
        fields=NAMED_FIELDS,
        comparisons=data.draw(random_comparisons()),
        hardening=Hardening(salt_field=salt),
    )
    rows = data.draw(st.integers(0, 12))
    born = dates | st.sampled_from(["1980-01", "19800101x"])  # not a date: present, no tags
    columns = [
        data.draw(
            st.lists(
                st.none() | (born if spec.kind == "date" else any_text),
                min_size=rows,
                max_size=rows,
            )
        )
        for spec in NAMED_FIELDS
    ]
    encoder = ComparisonEncoder(schema, SECRET)

    numpy_words = encoder.encode(columns, backend=Backend.VECTORIZED)
    compiled_words = encoder.encode(columns, backend=Backend.COMPILED, threads=False)
    threaded_words = encoder.encode(columns, backend=Backend.COMPILED, threads=True)

    assert numpy_words.shape == (rows, 8 * encoder.layout.words)
    assert np.array_equal(numpy_words, compiled_words)
    assert np.array_equal(numpy_words, threaded_words)
