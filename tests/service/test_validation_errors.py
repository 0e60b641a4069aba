"""A 422 names where and what kind of error, never the value (pydantic quotes input)."""

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.validation_errors import MAX_ERRORS, field_errors
from tests.service.factories import bearer, make_agency, make_project

MARKER = "JanQdeQVries"  # characters a UUID error would quote back


def test_a_bad_uuid_in_the_path_is_named_without_its_characters(
    client: TestClient, admin_token: str
) -> None:
    response = client.get(f"/v1/projects/{MARKER}", headers=bearer(admin_token))

    assert response.status_code == 422
    assert response.json()["errors"] == [{"loc": ["path", "project_id"], "msg": "not a valid UUID"}]
    assert "J" not in response.text.replace("JSON", "")  # not even the first bad character


def test_an_unknown_field_is_not_named_and_limits_are_not_quoted(
    client: TestClient, session: Session, admin_token: str
) -> None:
    agency = make_agency(session)
    body = {
        "name": "x" * 300,
        "purpose": "p",
        "legal_basis": "b",
        "agency_ids": [str(agency.id), str(uuid.uuid4())],
        "schema_fingerprint": "ab",
        "key_check": MARKER,
        "threshold": 7,
    }

    created = client.post("/v1/projects", json=body, headers=bearer(admin_token))
    project = make_project(session, [agency, make_agency(session, "FIU")])
    patched = client.patch(
        f"/v1/projects/{project.id}", json={MARKER: 1}, headers=bearer(admin_token)
    )

    errors = {tuple(e["loc"]): e["msg"] for e in created.json()["errors"]}
    assert created.status_code == 422
    assert errors[("body", "key_check")] == "not in the expected format"
    assert errors[("body", "threshold")] == "too large"
    assert "300" not in created.text and "200" not in created.text  # no ctx limit quoted
    assert MARKER not in created.text
    assert patched.status_code == 422
    assert MARKER not in patched.text
    assert ["body", "*"] in [e["loc"] for e in patched.json()["errors"]]


def test_the_hubs_own_validators_keep_their_fixed_messages(
    client: TestClient, session: Session, admin_token: str
) -> None:
    agency = make_agency(session)
    body = {
        "name": "Carousel",
        "purpose": "p",
        "legal_basis": "b",
        "agency_ids": [str(agency.id), str(agency.id)],
        "schema_fingerprint": "ab",
        "key_check": "0123456789abcdef",
    }

    response = client.post("/v1/projects", json=body, headers=bearer(admin_token))

    assert response.status_code == 422
    assert [e["msg"] for e in response.json()["errors"]] == ["agency_ids lists an agency twice"]


def test_messages_come_from_the_error_type_never_from_input_or_ctx() -> None:
    errors = [
        {
            "type": "uuid_parsing",
            "loc": ("path", "id"),
            "msg": f"found `{MARKER}`",
            "input": MARKER,
        },
        {"type": "value_error", "loc": ("body",), "msg": f"Value error, {MARKER}", "ctx": {}},
        {"type": "extra_forbidden", "loc": ("body", MARKER), "msg": "Extra", "input": 1},
        {"type": "some_custom_kind", "loc": ("body",), "msg": MARKER, "ctx": {"v": MARKER}},
        *({"type": "missing", "loc": ("body", str(i)), "msg": "Field required"} for i in range(99)),
    ]

    found = field_errors(errors)

    assert len(found) == MAX_ERRORS
    assert found[:4] == [
        (["path", "id"], "not a valid UUID"),
        (["body"], "not a valid value"),
        (["body", "*"], "not a known field"),
        (["body"], "some custom kind"),
    ]
    assert MARKER not in repr(found)
