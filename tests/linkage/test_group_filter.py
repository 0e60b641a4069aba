"""Salt group filters: the record-level filter of a family encodes its salt alone."""

import json

import numpy as np
import pytest

from keys import LinkageSecret
from linkage.encode import Encoders, encode_records
from linkage.errors import SchemaError
from linkage.salting.group_filter import GROUP_BITS, group_filters, group_key
from linkage.schema import load_schema, parse_schema

SECRET = LinkageSecret(project="p", value=bytes(range(32)))
PERSON = {
    "given_names": "Maria José",
    "surnames": "García López",
    "date_of_birth": "1985-03-07",
    "sex": "F",
    "phone": "+31 6 12345678",
    "postcode": "1011 AB",
    "document_number": "NX1234567",
}


def _dice(left: np.ndarray, right: np.ndarray) -> float:
    a, b = np.unpackbits(left), np.unpackbits(right)
    total = int(a.sum() + b.sum())
    return 2 * int((a & b).sum()) / total if total else 0.0


def test_equal_salts_give_equal_filters_and_others_unrelated_ones() -> None:
    key = group_key(SECRET, "born_surname")
    filters = group_filters(key, ["1985-03-07|grk", "1985-03-07|grk", "1985-03-08|grk", None], 1024)

    assert filters.shape == (4, 128)
    assert (filters[0] == filters[1]).all()
    assert 0 < np.unpackbits(filters[0]).sum() <= GROUP_BITS
    assert _dice(filters[0], filters[2]) < 0.25  # a near salt is no nearer than any other
    assert not filters[3].any()


def test_group_filters_depend_on_the_secret_and_the_family() -> None:
    salts = ["1985-03-07|grk"]
    other = LinkageSecret(project="p", value=bytes(32))

    mine = group_filters(group_key(SECRET, "born_surname"), salts, 1024)
    assert not (mine == group_filters(group_key(other, "born_surname"), salts, 1024)).all()
    assert not (mine == group_filters(group_key(SECRET, "born_given"), salts, 1024)).all()


def test_the_default_schema_writes_group_filters_that_hide_the_values() -> None:
    schema = load_schema()
    assert schema.hardening.group_filters
    relative = {**PERSON, "given_names": "Ana", "document_number": ""}
    encoded = encode_records([PERSON, relative], schema, SECRET)
    filters = encoded.filters.reshape(2, schema.families, -1)
    born_surname = [f.name for f in schema.hardening.salt_families].index("born_surname")

    # Same birth date and surname key: one salt group, so the same filter, however much
    # the given names differ; the comparison encodings still tell them apart.
    assert (filters[0, born_surname] == filters[1, born_surname]).all()
    assert encoded.comparisons is not None
    assert not (encoded.comparisons[0] == encoded.comparisons[1]).all()


def test_group_filters_need_salt_families_and_exclude_filter_hardening() -> None:
    document = json.loads(load_schema().model_dump_json())
    document["hardening"]["balance"] = True
    with pytest.raises(SchemaError, match="group_filters"):
        parse_schema(json.dumps(document))
    classic = json.loads(load_schema("person-classic").model_dump_json())
    classic["hardening"]["group_filters"] = True
    with pytest.raises(SchemaError, match="need salt_families"):
        parse_schema(json.dumps(classic))


def test_salted_schemas_without_group_filters_keep_their_fingerprint() -> None:
    document = json.loads(load_schema().model_dump_json())
    document["hardening"]["group_filters"] = False
    plain = parse_schema(json.dumps(document))
    assert "group_filters" not in plain.canonical_json()
    assert plain.fingerprint() != load_schema().fingerprint()


def test_encoders_do_not_show_their_keys() -> None:
    encoders = Encoders.of(load_schema(), SECRET)
    assert all(key.hex() not in repr(encoders) for key in encoders.group_keys.values())
