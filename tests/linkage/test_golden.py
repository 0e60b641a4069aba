"""Golden vectors: the exact encodings of fixed records under a fixed secret.

Encodings made by different fieldlink versions cannot be compared, so any change to them
must be deliberate. After such a change, regenerate with:
    python -m tests.linkage.test_golden
and say why in the commit message.

The person schema's fingerprint changed once, deliberately, when it gained field-level
comparisons; its record-level filters did not change by a bit. Schemas without
comparisons keep their old fingerprints.
"""

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from keys import LinkageSecret
from linkage.backend import Backend
from linkage.encode import Encoders, encode_columns
from linkage.schema import Hardening, LinkageSchema, load_schema

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden_v1.json"
SECRET = LinkageSecret(project="golden", value=bytes(range(32)))
RECORDS = [
    {
        "given_names": "María José",
        "surnames": "García de la Peña",
        "date_of_birth": "07-03-1985",
        "sex": "F",
        "nationality": "colombiana",
        "phone": "+57 310 1234567",
        "city": "Rotterdam",
    },
    {
        "given_names": "Jan Willem",
        "surnames": "van der Berg",
        "date_of_birth": "1990-12-01",
        "sex": "M",
        "nationality": "NL",
        "phone": "06-12345678",
        "postcode": "3011 AA",
    },
    {
        "given_names": "João",
        "surnames": "dos Santos Silva",
        "date_of_birth": "850307",
        "document_number": "BR-1234.567",
    },
    {"given_names": "Ana", "surnames": "Pérez"},
]


def schemas() -> dict[str, LinkageSchema]:
    person = load_schema("person-classic")
    hardened = person.model_copy(
        update={
            "name": "person-hardened",
            "hardening": Hardening(
                balance=True, xor_fold=True, salt_field="date_of_birth", flip_probability=0.02
            ),
        }
    )
    return {
        "person": person,
        "person-hardened": LinkageSchema.model_validate(hardened.model_dump()),
    }


def render(backend: Backend = Backend.COMPILED) -> dict[str, Any]:
    out: dict[str, Any] = {"key_check": SECRET.key_check_value(), "schemas": {}}
    for name, schema in schemas().items():
        columns = {
            field: [record.get(field, "") for record in RECORDS] for field in schema.field_names
        }
        encoders = Encoders.of(schema, SECRET, backend=backend)
        encoded = encode_columns(columns, schema, SECRET, encoders=encoders)
        out["schemas"][name] = {
            "fingerprint": schema.fingerprint(),
            "filters": [base64.b64encode(row.tobytes()).decode() for row in encoded.filters],
        }
        if encoded.comparisons is not None:
            out["schemas"][name]["comparisons"] = [
                base64.b64encode(row.tobytes()).decode() for row in encoded.comparisons
            ]
    return out


@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_key_check_value_is_unchanged(golden: dict[str, Any]) -> None:
    assert render()["key_check"] == golden["key_check"]


@pytest.mark.parametrize("backend", list(Backend))
@pytest.mark.parametrize("name", ["person", "person-hardened"])
def test_encodings_are_bit_for_bit_unchanged(
    golden: dict[str, Any], name: str, backend: Backend
) -> None:
    now = render(backend)["schemas"][name]

    assert now["fingerprint"] == golden["schemas"][name]["fingerprint"]
    assert now["filters"] == golden["schemas"][name]["filters"]
    assert now["comparisons"] == golden["schemas"][name]["comparisons"]


def test_a_schema_without_comparisons_keeps_its_fingerprint() -> None:
    person = load_schema("person-classic")
    without = LinkageSchema.model_validate(person.model_dump() | {"comparisons": ()})

    # The person schema's fingerprint before it gained comparisons (golden_v1, 2026-11).
    assert without.fingerprint() == (
        "160c7d4b3248ed87a7a47f448714b178540de07a324a45ce72e2b49b6dc9281e"
    )


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(render(), indent=2) + "\n", encoding="utf-8")
