"""Inputs the database cannot hold are a 422, not a 500: huge integers, NUL characters, names."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.auth import Role
from tests.service.factories import bearer, make_principal
from tests.service.test_suspects import Team

HUGE = 2**63  # one past PostgreSQL's bigint (and SQLite's integer)


@pytest.fixture
def team(session: Session) -> Team:
    return Team(session)


@pytest.fixture
def auditor_token(session: Session, team: Team) -> str:
    return make_principal(session, team.politie, role=Role.AUDITOR, name="Auditor")[1]


def assert_refused(response_status: int, body: dict[str, object], field: str) -> None:
    assert response_status == 422
    assert body["code"] == "invalid-request"
    errors = body["errors"]
    assert isinstance(errors, list)
    assert any(field in error["loc"] for error in errors)
    assert str(HUGE) not in str(body)


@pytest.mark.parametrize("value", [HUGE, 2**31])
def test_hit_numbers_past_the_column_are_refused(
    client: TestClient, team: Team, value: int
) -> None:
    run = f"/v1/projects/{team.project.id}/runs/{team.run.id}"
    analyst = bearer(team.token)

    answers = {
        "after": client.get(f"{run}/hits?after={value}", headers=analyst),
        "number": client.post(f"{run}/hits/{value}/envelopes", headers=analyst),
        "hits": client.post(f"{run}/envelopes", json={"hits": [1, value]}, headers=analyst),
    }
    approvals = client.get(f"{run}/approvals?after={value}", headers=analyst)

    for field, answer in answers.items():
        assert_refused(answer.status_code, answer.json(), field)
    assert_refused(approvals.status_code, approvals.json(), "after")


def test_audit_sequences_past_bigint_are_refused(client: TestClient, auditor_token: str) -> None:
    auditor = bearer(auditor_token)

    listed = client.get(f"/v1/audit/entries?after={HUGE}", headers=auditor)
    exported = client.get(f"/v1/audit/export?from={HUGE}", headers=auditor)
    up_to = client.get(f"/v1/audit/export?to={HUGE}", headers=auditor)

    assert_refused(listed.status_code, listed.json(), "after")
    assert_refused(exported.status_code, exported.json(), "from")
    assert_refused(up_to.status_code, up_to.json(), "to")


def test_an_epoch_past_the_column_is_refused(client: TestClient, team: Team) -> None:
    url = f"/v1/projects/{team.project.id}/wrapped-keys/mine?epoch={HUGE}"

    answer = client.get(url, headers=bearer(team.officer_token))

    assert_refused(answer.status_code, answer.json(), "epoch")


def test_nul_characters_in_json_are_refused_naming_the_field(
    client: TestClient, team: Team, admin_token: str
) -> None:
    note = client.post(
        f"/v1/projects/{team.project.id}/suspects",
        json={"hit_id": str(team.hits[0].id), "note": "seen in\x00Breda"},
        headers=bearer(team.token),
    )
    agency = client.post("/v1/agencies", json={"name": "FIOD\x00"}, headers=bearer(admin_token))

    assert note.status_code == agency.status_code == 422
    assert note.json()["errors"] == [
        {"loc": ["body", "note"], "msg": "must not contain NUL characters"}
    ]
    assert agency.json()["errors"][0]["loc"] == ["body", "name"]
    assert "Breda" not in note.text


@pytest.mark.parametrize("query", ["action=x%00y", "action=%00", "since%00=1"])
def test_nul_characters_in_a_query_string_are_refused(
    client: TestClient, auditor_token: str, query: str
) -> None:
    answer = client.get(f"/v1/audit/entries?{query}", headers=bearer(auditor_token))

    assert answer.status_code == 422
    assert answer.json()["errors"] == [{"loc": ["query"], "msg": "must not contain NUL characters"}]


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "x" * 81,
        "Politie/Zeeland",
        "..",
        "FIU\\NL",
        "KMar\u202egnirts",  # right-to-left override: displays as another name
        "FIOD\u200b",  # zero-width space
        "line\nbreak",
        "tab\there",
    ],
)
def test_agency_names_that_could_mislead_are_refused(
    client: TestClient, admin_token: str, name: str
) -> None:
    answer = client.post("/v1/agencies", json={"name": name}, headers=bearer(admin_token))

    assert answer.status_code == 422
    assert answer.json()["errors"][0]["loc"] == ["body", "name"]


def test_names_are_stored_trimmed_and_normalised(client: TestClient, admin_token: str) -> None:
    answer = client.post(
        "/v1/agencies", json={"name": "  Gemeente Zu\u0308rich  "}, headers=bearer(admin_token)
    )

    assert answer.status_code == 201
    assert answer.json()["name"] == "Gemeente Z\u00fcrich"
