"""The fast salt and group-filter paths give what a record-by-record reference gives.

`family_salts` builds parts of several fields from shared one-field parts and transforms
each distinct value once; `group_filters` draws each distinct salt's filter once. Both must
give byte for byte what the definitions give record by record, on awkward values: missing
and empty values, words without a sound key, non-ASCII letters, names swapped between
columns, repeated values and salts shared across records.
"""

import hashlib

import numpy as np
import pytest

from keys import LinkageSecret
from linkage.backend import Backend
from linkage.salting import family_salts, salt_part
from linkage.salting.families import SEPARATOR
from linkage.salting.group_filter import GROUP_BITS, group_filters, group_key
from linkage.schema import LinkageSchema, load_schema, split_salt_part

SECRET = LinkageSecret(project="salting-reference", value=bytes(range(32)))
MASK = 2**64 - 1
GOLDEN, MIX1, MIX2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB

GIVEN = ["maria jose", "jose", None, "", "hh", "øyvind", "jose", "maria jose", "123", "garcia"]
SURNAMES: list[str | None] = ["garcia perez", "garcia", "garcia", "x", "hhh", "garcia"]
SURNAMES += ["maria", "garcia perez", "", "jose"]
DATES = ["1985-03-07", "1985-07-03", None, "1985-03-07", "2001-12-31", "1985-03-07"]
DATES += ["1985-03-07", "1985-03-07", "", "1985-07-03"]
POSTCODES = ["3011ab", "3011ab", "1000", None, "3011ab", "a", "3011ab", "3011ab", "", "9999zz"]
PHONES = ["31612345678", None, "31612345678", "", "1", "31612345678", None, "2", "3", "4"]
DOCUMENTS = ["nx1234", "nx1234", None, "", "nx1234", "b", "c", "nx1234", "d", "e"]


def _columns(schema: LinkageSchema) -> list[list[str | None]]:
    given: dict[str, list[str | None]] = {
        "given_names": GIVEN,
        "surnames": SURNAMES,
        "date_of_birth": DATES,
        "phone": PHONES,
        "postcode": POSTCODES,
        "document_number": DOCUMENTS,
    }
    rows = len(GIVEN)
    return [list(given.get(name, [None] * rows)) for name in schema.field_names]


def _reference_salts(
    schema: LinkageSchema, family_parts: tuple[str, ...], name: str, columns: list[list[str | None]]
) -> list[str | None]:
    out: list[str | None] = []
    for row in range(len(columns[0])):
        pieces = []
        for part in family_parts:
            fields, transform = split_salt_part(part)
            values = [columns[schema.field_names.index(field)][row] for field in fields]
            pieces.append(salt_part(values, transform))
        out.append(
            None if None in pieces else name + SEPARATOR + SEPARATOR.join(pieces)  # type: ignore[arg-type]
        )
    return out


def _mix(value: int) -> int:
    value ^= value >> 30
    value = (value * MIX1) & MASK
    value ^= value >> 27
    value = (value * MIX2) & MASK
    return value ^ (value >> 31)


def _reference_filter(key: bytes, salt: str | None, bits: int) -> bytes:
    state = 0
    if salt is not None:
        digest = hashlib.blake2b(salt.encode("utf-8"), key=key, digest_size=8).digest()
        state = int.from_bytes(digest, "little")
    row = np.zeros(bits, dtype=bool)
    if state:
        for _ in range(GROUP_BITS):
            state = _mix((state + GOLDEN) & MASK)
            row[state % bits] = True
    return np.packbits(row).tobytes()


def _every_transform() -> LinkageSchema:
    # Families that use every transform, parts of several fields with and without one,
    # and the same one-field part named on its own after a family built it for a pair.
    families = [
        {"name": "pair_plain", "parts": ["given_names+surnames", "date_of_birth:decade"]},
        {"name": "pair_word", "parts": ["surnames+given_names:word", "date_of_birth:day"]},
        {"name": "pair_initial", "parts": ["given_names+surnames:initial", "postcode:area"]},
        {"name": "given_key", "parts": ["given_names:key", "date_of_birth:month_day"]},
        {"name": "surname_word", "parts": ["surnames:word"]},
        {"name": "pair_area", "parts": ["postcode+postcode:area", "phone"]},
        # three and four parts: `family_salts` writes out joins of up to three
        {"name": "three", "parts": ["surnames:key", "date_of_birth:year", "date_of_birth:month"]},
        {"name": "four", "parts": ["given_names:key", "postcode", "date_of_birth:day", "phone"]},
    ]
    document = load_schema("person").model_dump(mode="json")
    document["hardening"]["salt_families"] = families
    return LinkageSchema.model_validate(document)


@pytest.mark.parametrize("schema", [load_schema("person"), _every_transform()])
def test_family_salts_match_the_record_by_record_definition(schema: LinkageSchema) -> None:
    columns = _columns(schema)
    shared: dict[str, list[str | None]] = {}
    for family in schema.hardening.salt_families:
        expected = _reference_salts(schema, family.parts, family.name, columns)
        assert family_salts(schema, family, columns) == expected
        assert family_salts(schema, family, columns, shared) == expected  # parts shared
    assert any(
        salt is not None
        for family in schema.hardening.salt_families
        for salt in family_salts(schema, family, columns)
    )


def test_names_swapped_between_columns_share_the_combined_key() -> None:
    schema = load_schema("person")
    family = next(f for f in schema.hardening.salt_families if f.name == "names_postcode")
    names = schema.field_names
    columns: list[list[str | None]] = [[None, None] for _ in names]
    columns[names.index("given_names")] = ["jose", "garcia"]
    columns[names.index("surnames")] = ["garcia", "jose"]
    columns[names.index("postcode")] = ["3011ab", "3011ab"]
    first, second = family_salts(schema, family, columns)
    assert first is not None and first == second


@pytest.mark.parametrize("backend", list(Backend))
@pytest.mark.parametrize("bits", [None, 64, 192])
def test_group_filters_match_the_record_by_record_definition(
    backend: Backend, bits: int | None
) -> None:
    # Both backends draw the bits (numpy straight into packed bytes, numba per salt).
    schema = load_schema("person")
    bits = bits or schema.family_bits
    columns = _columns(schema)
    for family in schema.hardening.salt_families:
        key = group_key(SECRET, family.name)
        salts = [*family_salts(schema, family, columns), None, "only-here", "ünï", ""]
        got = group_filters(key, salts, bits, backend=backend)
        assert got.shape == (len(salts), bits // 8)
        assert [bytes(row) for row in got] == [_reference_filter(key, salt, bits) for salt in salts]


@pytest.mark.parametrize("backend", list(Backend))
def test_group_filters_of_no_records(backend: Backend) -> None:
    assert group_filters(bytes(16), [], 1024, backend=backend).shape == (0, 128)
