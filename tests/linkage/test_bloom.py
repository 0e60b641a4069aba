import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keys import LinkageSecret
from linkage.backend import Backend
from linkage.bloom import BloomEncoder
from linkage.schema import FieldSpec, Hardening, LinkageSchema, Tokenization, TokenMethod
from linkage.vectorized import bloom as vectorized_bloom
from tests.linkage import reference_encoder as oracle

FIELDS = (
    FieldSpec(name="given", kind="given_names", bits_per_token=7),
    FieldSpec(
        name="family",
        kind="surnames",
        bits_per_token=9,
        tokenize=Tokenization(method="qgrams", q=3, padded=False),
    ),
    FieldSpec(name="born", kind="date", bits_per_token=15),
    FieldSpec(name="sex", kind="sex", bits_per_token=3),
    FieldSpec(name="salt_only", kind="postcode", bits_per_token=0),
)
HARDENINGS = [
    Hardening(),
    Hardening(balance=True),
    Hardening(xor_fold=True),
    Hardening(salt_field="salt_only"),
    Hardening(flip_probability=0.05),
    Hardening(balance=True, xor_fold=True, salt_field="born", flip_probability=0.01),
]
ORACLE_SECRET = LinkageSecret(project="oracle", value=bytes(range(7, 39)))
words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéñ", min_size=1, max_size=9)
names = st.lists(words, min_size=1, max_size=3).map(" ".join)
dates = st.dates().map(lambda day: day.isoformat()).filter(lambda text: len(text) == 10)
records = st.tuples(
    st.none() | names,
    st.none() | names,
    st.none() | dates,
    st.none() | st.sampled_from("mfx"),
    st.none() | words,
)


def oracle_bits(schema: LinkageSchema, secret: LinkageSecret, values: tuple) -> list[int]:
    keys = secret.field_keys(schema.field_names)
    fields = [
        {
            "key": keys[spec.name],
            "method": spec.tokenization.method.value,
            "q": spec.tokenization.q,
            "padded": spec.tokenization.padded,
            "bits": spec.bits_per_token,
        }
        for spec in schema.fields
    ]
    hardening = schema.hardening
    salt = None
    if hardening.salt_field:
        salt_value = values[schema.field_names.index(hardening.salt_field)] or ""
        salt_hash = oracle.siphash24(
            secret.derive("record-salt", length_bytes=16), salt_value.encode("utf-32-le")
        )
        salt = salt_hash.to_bytes(8, "little")
    return oracle.encode(
        fields,
        list(values),
        schema.filter_bits,
        salt=salt,
        balance_key=secret.derive("balance-permutation") if hardening.balance else None,
        fold=hardening.xor_fold,
        flip=(secret.derive("bit-flip", length_bytes=16), hardening.flip_probability)
        if hardening.flip_probability
        else None,
    )


def kernel_bits(
    encoder: BloomEncoder, rows: list[tuple], backend: Backend | None = None
) -> np.ndarray:
    filters = encoder.encode([list(column) for column in zip(*rows, strict=True)], backend=backend)
    return np.unpackbits(filters, axis=1, bitorder="little")


@pytest.mark.parametrize("backend", list(Backend))
@pytest.mark.parametrize("hardening", HARDENINGS, ids=repr)
@settings(max_examples=15, deadline=None)
@given(rows=st.lists(records, min_size=1, max_size=4))
def test_each_backend_sets_exactly_the_bits_of_the_python_oracle(
    backend: Backend, hardening: Hardening, rows: list[tuple]
) -> None:
    secret = ORACLE_SECRET
    schema = LinkageSchema(name="t", filter_bits=256, fields=FIELDS, hardening=hardening)

    got = kernel_bits(BloomEncoder(schema, secret), rows, backend)

    for row, values in zip(got, rows, strict=True):
        assert row.tolist() == oracle_bits(schema, secret, values)


def test_missing_values_set_no_bits(secret: LinkageSecret) -> None:
    schema = LinkageSchema(name="t", fields=FIELDS)

    bits = kernel_bits(BloomEncoder(schema, secret), [(None, None, None, None, None)])

    assert bits.sum() == 0


def test_same_value_in_two_fields_sets_different_bits(secret: LinkageSecret) -> None:
    schema = LinkageSchema(name="t", fields=FIELDS[:2])
    encoder = BloomEncoder(schema, secret)

    given_only, family_only = kernel_bits(encoder, [("maria", None), (None, "maria")])

    assert (given_only & family_only).sum() < 4


def test_another_secret_gives_unrelated_filters(secret: LinkageSecret) -> None:
    schema = LinkageSchema(name="t", fields=FIELDS[:2])
    other = LinkageSecret(project=secret.project, value=bytes(32))
    row = [("maria jose", "garcia")]

    mine, theirs = (
        kernel_bits(BloomEncoder(schema, secret), row)[0],
        kernel_bits(BloomEncoder(schema, other), row)[0],
    )

    assert 2 * (mine & theirs).sum() / (mine.sum() + theirs.sum()) < 0.3


def test_swapped_day_and_month_still_overlap(secret: LinkageSecret) -> None:
    schema = LinkageSchema(name="t", fields=(FIELDS[2],))
    encoder = BloomEncoder(schema, secret)

    date, swapped, other = kernel_bits(encoder, [("1985-03-07",), ("1985-07-03",), ("1971-11-22",)])

    def dice(a: np.ndarray, b: np.ndarray) -> float:
        return 2 * (a & b).sum() / (a.sum() + b.sum())

    assert dice(date, swapped) > 0.5
    assert dice(date, other) < 0.2


def test_balanced_filters_are_exactly_half_ones(secret: LinkageSecret) -> None:
    schema = LinkageSchema(name="t", fields=FIELDS, hardening=Hardening(balance=True))

    bits = kernel_bits(
        BloomEncoder(schema, secret),
        [("ana", "lopez", None, "f", None), ("jan", None, "1990-01-01", None, None)],
    )

    assert bits.shape[1] == 2048
    assert bits.sum(axis=1).tolist() == [1024, 1024]


def test_encoder_repr_shows_no_key_material(secret: LinkageSecret) -> None:
    encoder = BloomEncoder(LinkageSchema(name="t", fields=FIELDS), secret)

    assert repr(encoder) == "BloomEncoder(schema='t', bits=1024)"


# Accents, a code point beyond the BMP, and spaces: leading, trailing and doubled.
any_text = st.text(alphabet="abcxyzéèñøçß\U0001d518 ", max_size=14)


@st.composite
def random_schemas(draw: st.DrawFn) -> LinkageSchema:
    fields = []
    for index in range(draw(st.integers(1, 4))):
        method = draw(st.sampled_from(TokenMethod))
        tokenize = Tokenization(
            method=method, q=draw(st.integers(1, 4)), padded=draw(st.booleans())
        )
        kind = "date" if method is TokenMethod.DATE_PARTS else "text"
        bits = draw(st.integers(1 if index == 0 else 0, 20))
        fields.append(
            FieldSpec(name=f"f{index}", kind=kind, bits_per_token=bits, tokenize=tokenize)
        )
    filter_bits = draw(st.sampled_from([64, 128, 192, 320, 1024]))
    balance = draw(st.booleans())
    foldable = filter_bits * (2 if balance else 1) % 128 == 0  # folds whole 64-bit words
    hardening = Hardening(
        balance=balance,
        xor_fold=foldable and draw(st.booleans()),
        salt_field=draw(st.none() | st.sampled_from([spec.name for spec in fields])),
        flip_probability=draw(st.sampled_from([0.0, 0.02, 0.3])),
    )
    return LinkageSchema(
        name="t", filter_bits=filter_bits, fields=tuple(fields), hardening=hardening
    )


def random_columns(draw: st.DrawFn, schema: LinkageSchema, rows: int) -> list[list[str | None]]:
    columns = []
    for spec in schema.fields:
        value = dates if spec.kind == "date" else any_text
        columns.append(draw(st.lists(st.none() | value, min_size=rows, max_size=rows)))
    return columns


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_numpy_and_compiled_encoders_set_the_same_bits(data: st.DataObject) -> None:
    schema = data.draw(random_schemas())
    columns = random_columns(data.draw, schema, data.draw(st.integers(0, 12)))
    encoder = BloomEncoder(schema, ORACLE_SECRET)

    numpy_filters = encoder.encode(columns, backend=Backend.VECTORIZED)
    compiled_filters = encoder.encode(columns, backend=Backend.COMPILED, threads=False)

    assert numpy_filters.shape == (len(columns[0]), schema.encoded_bits // 8)
    assert np.array_equal(numpy_filters, compiled_filters)


def test_the_backend_follows_the_number_of_records_unless_forced(
    secret: LinkageSecret, monkeypatch: pytest.MonkeyPatch
) -> None:
    numpy_calls: list[int] = []  # records per call of the numpy encoder
    real = vectorized_bloom.encode_filters
    monkeypatch.setattr(
        vectorized_bloom,
        "encode_filters",
        lambda packed, *rest: numpy_calls.append(packed.starts.shape[1]) or real(packed, *rest),
    )
    monkeypatch.setattr("linkage.backend.SMALL_ROWS", 3)
    schema = LinkageSchema(name="t", fields=FIELDS)
    two, three = [["ana", "jan"]] * len(FIELDS), [["ana", "jan", "piet"]] * len(FIELDS)

    chosen = BloomEncoder(schema, secret)
    chosen.encode(two)
    chosen.encode(three)
    BloomEncoder(schema, secret, backend=Backend.VECTORIZED).encode(three)
    BloomEncoder(schema, secret, backend=Backend.COMPILED).encode(two)

    assert numpy_calls == [2, 3]
