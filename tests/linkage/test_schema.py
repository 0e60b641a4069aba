from typing import Any

import pytest
from pydantic import ValidationError

from linkage.schema import LinkageSchema


def schema(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "version": 1,
        "name": "t",
        "filter_bits": 1024,
        "fields": [{"name": "surname", "kind": "surnames", "bits_per_token": 10}],
    }
    return document | changes


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"fields": [{"name": "a", "kind": "text"}, {"name": "a", "kind": "text"}]}, "unique"),
        ({"hardening": {"salt_field": "phone"}}, "salt_field 'phone' is not a field"),
        ({"fields": [{"name": "a", "kind": "text", "bits_per_token": 0}]}, "must set bits"),
        ({"filter_bits": 192, "hardening": {"xor_fold": True}}, "multiple of 128"),
        ({"filter_bits": 100}, "multiple of 64"),
    ],
)
def test_inconsistent_schemas_are_refused_with_the_reason(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        LinkageSchema.model_validate(schema(**changes))


@pytest.mark.parametrize(
    ("hardening", "filter_bits", "encoded"),
    [({}, 1024, 1024), ({"balance": True}, 192, 384), ({"xor_fold": True}, 256, 128)],
)
def test_encoded_length_follows_balancing_and_folding(
    hardening: dict[str, bool], filter_bits: int, encoded: int
) -> None:
    parsed = LinkageSchema.model_validate(schema(filter_bits=filter_bits, hardening=hardening))

    assert parsed.encoded_bits == encoded
