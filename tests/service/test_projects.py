import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.auth import Role
from service.models import Agency
from tests.service.factories import (
    FINGERPRINT,
    KEY_CHECK,
    bearer,
    make_agency,
    make_principal,
    make_project,
)


def project_body(agencies: list[Agency], **changes: Any) -> dict[str, Any]:
    body = {
        "name": "Carousel Zuid",
        "purpose": "Find persons moved between cities and across the border",
        "legal_basis": "Art. 20 Wpg",
        "agency_ids": [str(agency.id) for agency in agencies],
        "schema_fingerprint": FINGERPRINT,
        "key_check": KEY_CHECK,
    }
    return body | changes


@pytest.fixture
def agencies(session: Session) -> list[Agency]:
    return [make_agency(session, name) for name in ("Politie", "Gemeente Breda", "FIOD")]


def test_admin_creates_a_project_with_defaults(
    client: TestClient, agencies: list[Agency], admin_token: str
) -> None:
    response = client.post(
        "/v1/projects", json=project_body(agencies[:2]), headers=bearer(admin_token)
    )

    assert response.status_code == 201
    project = response.json()
    assert project["min_agencies"] == 2
    assert project["threshold"] is None
    assert sorted(project["agency_ids"]) == sorted(str(agency.id) for agency in agencies[:2])
    lifetime = datetime.fromisoformat(project["expires_at"]) - datetime.now(UTC)
    assert timedelta(days=99) < lifetime <= timedelta(days=100)


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"min_agencies": 3}, 422),
        ({"threshold": 0}, 422),
        ({"key_check": "ABCDEF0123456789"}, 422),
        ({"expires_at": "2001-01-01T00:00:00Z"}, 422),
        ({"expires_at": "2099-01-01T00:00:00"}, 422),  # no offset
    ],
    ids=["k-above-n", "zero-threshold", "key-check-case", "past-expiry", "naive-expiry"],
)
def test_project_rules_are_checked(
    client: TestClient,
    agencies: list[Agency],
    admin_token: str,
    changes: dict[str, Any],
    status: int,
) -> None:
    body = project_body(agencies[:2], **changes)

    response = client.post("/v1/projects", json=body, headers=bearer(admin_token))

    assert response.status_code == status


def test_project_agencies_must_exist_and_differ(
    client: TestClient, agencies: list[Agency], admin_token: str
) -> None:
    unknown = project_body(agencies[:1]) | {"agency_ids": [str(agencies[0].id), str(uuid.uuid4())]}
    twice = project_body(agencies[:1]) | {"agency_ids": [str(agencies[0].id)] * 2}

    assert (
        client.post("/v1/projects", json=unknown, headers=bearer(admin_token)).json()["code"]
        == "invalid-input"
    )
    assert client.post("/v1/projects", json=twice, headers=bearer(admin_token)).status_code == 422


def test_project_names_are_unique(
    client: TestClient, agencies: list[Agency], admin_token: str
) -> None:
    client.post("/v1/projects", json=project_body(agencies[:2]), headers=bearer(admin_token))

    again = client.post(
        "/v1/projects", json=project_body(agencies[1:]), headers=bearer(admin_token)
    )

    assert again.status_code == 409


def test_data_officer_of_a_participating_agency_sees_the_project(
    client: TestClient, session: Session, agencies: list[Agency]
) -> None:
    project = make_project(session, agencies[:2])
    _, inside = make_principal(session, agencies[1], role=Role.DATA_OFFICER, name="In")
    _, outside = make_principal(session, agencies[2], role=Role.DATA_OFFICER, name="Out")

    seen = client.get(f"/v1/projects/{project.id}", headers=bearer(inside))
    hidden = client.get(f"/v1/projects/{project.id}", headers=bearer(outside))

    assert seen.status_code == 200
    assert hidden.status_code == 404
    assert [
        item["id"] for item in client.get("/v1/projects", headers=bearer(inside)).json()["items"]
    ] == [str(project.id)]
    assert client.get("/v1/projects", headers=bearer(outside)).json()["items"] == []


def test_foreign_and_absent_projects_get_the_same_answer(
    client: TestClient, session: Session, agencies: list[Agency]
) -> None:
    project = make_project(session, agencies[:2])
    _, analyst = make_principal(session, agencies[0], role=Role.ANALYST)  # not a member

    foreign = client.get(f"/v1/projects/{project.id}", headers=bearer(analyst))
    absent = client.get(f"/v1/projects/{uuid.uuid4()}", headers=bearer(analyst))

    assert foreign.status_code == absent.status_code == 404
    assert foreign.json() == absent.json()


def test_members_see_the_project_once_a_second_person_confirmed_them(
    client: TestClient, session: Session, agencies: list[Agency], admin_token: str
) -> None:
    project = make_project(session, agencies[:2])
    analyst, token = make_principal(session, agencies[2], role=Role.ANALYST, name="Analyst")
    _, officer = make_principal(session, agencies[1], role=Role.DATA_OFFICER, name="Officer")
    path = f"/v1/projects/{project.id}/members"

    added = client.post(path, json={"principal_id": str(analyst.id)}, headers=bearer(admin_token))
    again = client.post(path, json={"principal_id": str(analyst.id)}, headers=bearer(admin_token))
    pending = client.get(f"/v1/projects/{project.id}", headers=bearer(token))
    confirmed = client.post(f"{path}/{analyst.id}/confirm", headers=bearer(officer))
    members = client.get(path, headers=bearer(token))

    assert (added.status_code, added.json()["status"]) == (202, "pending")
    assert again.status_code == 409
    assert pending.status_code == 404
    assert (confirmed.status_code, confirmed.json()["status"]) == (200, "confirmed")
    assert client.get(f"/v1/projects/{project.id}", headers=bearer(token)).status_code == 200
    assert [item["id"] for item in members.json()["items"]] == [str(analyst.id)]


@pytest.mark.parametrize("who", ["unknown", "administrator", "key_custodian"])
def test_members_must_exist_and_hold_data_rights(
    client: TestClient, session: Session, agencies: list[Agency], admin_token: str, who: str
) -> None:
    project = make_project(session, agencies[:2])
    holder, _ = make_principal(
        session, agencies[0], role=Role(who) if who != "unknown" else Role.ANALYST
    )
    principal_id = uuid.uuid4() if who == "unknown" else holder.id

    response = client.post(
        f"/v1/projects/{project.id}/members",
        json={"principal_id": str(principal_id)},
        headers=bearer(admin_token),
    )

    assert response.status_code == 422
    assert response.json()["code"] == "invalid-input"


def test_admin_gets_404_for_an_absent_project(client: TestClient, admin_token: str) -> None:
    response = client.get(f"/v1/projects/{uuid.uuid4()}/members", headers=bearer(admin_token))

    assert response.status_code == 404


def test_admin_changes_settings_and_the_rest_stays(
    client: TestClient, session: Session, agencies: list[Agency], admin_token: str
) -> None:
    project = make_project(session, agencies)
    url = f"/v1/projects/{project.id}"
    before = client.get(url, headers=bearer(admin_token)).json()
    expiry = (datetime.now(UTC) + timedelta(days=300)).replace(microsecond=0)

    changed = client.patch(
        url,
        json={
            "threshold": 0.8,
            "min_agencies": 3,
            "expires_at": expiry.isoformat(),
            "disclosure_approval": True,
        },
        headers=bearer(admin_token),
    )
    back = client.patch(url, json={"threshold": None}, headers=bearer(admin_token))

    assert changed.status_code == 200
    body = changed.json()
    assert (body["threshold"], body["min_agencies"], body["disclosure_approval"]) == (0.8, 3, True)
    assert datetime.fromisoformat(body["expires_at"]) == expiry
    assert back.json()["threshold"] is None  # chosen from the data again
    assert back.json()["min_agencies"] == 3  # not named: unchanged
    unchanged = ("name", "purpose", "legal_basis", "agency_ids", "key_check", "created_at")
    assert {key: back.json()[key] for key in unchanged} == {key: before[key] for key in unchanged}


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({}, 422),  # nothing to change
        ({"min_agencies": 4}, 422),  # k above the three agencies
        ({"min_agencies": None}, 422),
        ({"min_agencies": 1}, 422),
        ({"threshold": 1.5}, 422),
        ({"expires_at": "2001-01-01T00:00:00Z"}, 422),
        ({"disclosure_approval": None}, 422),
        ({"name": "Renamed"}, 422),  # not a setting that may change
    ],
    ids=["empty", "k-above-n", "null-k", "k-of-one", "threshold", "past", "null-flag", "name"],
)
def test_setting_changes_are_checked(
    client: TestClient,
    session: Session,
    agencies: list[Agency],
    admin_token: str,
    change: dict[str, Any],
    status: int,
) -> None:
    project = make_project(session, agencies)

    response = client.patch(f"/v1/projects/{project.id}", json=change, headers=bearer(admin_token))

    assert response.status_code == status
    assert (
        client.get(f"/v1/projects/{project.id}", headers=bearer(admin_token)).json()["min_agencies"]
        == 2
    )
