import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.service.factories import bearer, make_agency, make_principal, token_of


def test_new_principal_gets_a_working_token_shown_once(
    client: TestClient, session: Session, admin_token: str
) -> None:
    agency = make_agency(session)

    created = client.post(
        "/v1/principals",
        json={"agency_id": str(agency.id), "name": "Data officer", "role": "data_officer"},
        headers=bearer(admin_token),
    )
    token = created.json()["token"]["token"]
    listed = client.get("/v1/principals", headers=bearer(admin_token))

    assert created.status_code == 201
    assert created.json()["principal"]["role"] == "data_officer"
    assert client.get("/v1/projects", headers=bearer(token)).status_code == 200
    assert token not in listed.text
    assert "Data officer" in listed.text


def test_principal_needs_an_existing_agency(client: TestClient, admin_token: str) -> None:
    body = {"agency_id": str(uuid.uuid4()), "name": "Nobody", "role": "analyst"}

    response = client.post("/v1/principals", json=body, headers=bearer(admin_token))

    assert response.status_code == 422
    assert response.json()["code"] == "invalid-input"


def test_unknown_role_is_refused(client: TestClient, session: Session, admin_token: str) -> None:
    body = {"agency_id": str(make_agency(session).id), "name": "X", "role": "superuser"}

    response = client.post("/v1/principals", json=body, headers=bearer(admin_token))

    assert response.status_code == 422


def test_admin_issues_another_token(client: TestClient, session: Session, admin_token: str) -> None:
    principal, first = make_principal(session, make_agency(session))

    response = client.post(f"/v1/principals/{principal.id}/tokens", headers=bearer(admin_token))

    assert response.status_code == 201
    second = response.json()["token"]
    assert second != first
    assert client.get("/v1/projects", headers=bearer(second)).status_code == 200
    assert client.get("/v1/projects", headers=bearer(first)).status_code == 200


def test_token_for_unknown_principal_is_404(client: TestClient, admin_token: str) -> None:
    response = client.post(f"/v1/principals/{uuid.uuid4()}/tokens", headers=bearer(admin_token))

    assert response.status_code == 404


def test_revoked_token_stops_working_at_once(
    client: TestClient, session: Session, admin_token: str
) -> None:
    principal, token = make_principal(session, make_agency(session))
    path = f"/v1/principals/{principal.id}/tokens/{token_of(session, principal).id}/revoke"

    first = client.post(path, headers=bearer(admin_token))
    second = client.post(path, headers=bearer(admin_token))

    assert first.status_code == 200
    assert first.json()["revoked_at"] is not None
    assert second.json()["revoked_at"] == first.json()["revoked_at"]
    assert client.get("/v1/projects", headers=bearer(token)).status_code == 401


def test_revoke_needs_the_token_to_belong_to_the_principal(
    client: TestClient, session: Session, admin_token: str
) -> None:
    agency = make_agency(session)
    owner, _ = make_principal(session, agency, name="Owner")
    other, _ = make_principal(session, agency, name="Other")
    path = f"/v1/principals/{other.id}/tokens/{token_of(session, owner).id}/revoke"

    response = client.post(path, headers=bearer(admin_token))

    assert response.status_code == 404
