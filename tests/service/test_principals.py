import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.auth import Role
from service.models import Agency, EnrolmentCode, Principal, utcnow
from tests.service.factories import bearer, make_agency, make_principal, token_of


def _register(client: TestClient, admin_token: str, agency_id: uuid.UUID) -> dict[str, Any]:
    body = {"agency_id": str(agency_id), "name": "Data officer", "role": "data_officer"}
    response = client.post("/v1/principals", json=body, headers=bearer(admin_token))
    assert response.status_code == 201
    answer: dict[str, Any] = response.json()
    return answer


def _redeem(client: TestClient, code: str) -> Any:
    return client.post("/v1/enrolment", json={"code": code})


def _activate(session: Session, client: TestClient, principal_id: str, check: str) -> None:
    """A data officer of the principal's agency activates it: the second person."""
    principal = session.get_one(Principal, uuid.UUID(principal_id))
    agency = session.get_one(Agency, principal.agency_id)
    _, officer = make_principal(session, agency, role=Role.DATA_OFFICER, name="Second person")
    url = f"/v1/principals/{principal_id}/activate"
    answer = client.post(url, json={"enrolment_check": check}, headers=bearer(officer))
    assert answer.status_code == 200, answer.text


def test_new_principal_gets_an_enrolment_code_and_no_token(
    client: TestClient, session: Session, admin_token: str
) -> None:
    created = _register(client, admin_token, make_agency(session).id)
    code = created["enrolment"]["code"]
    listed = client.get("/v1/principals", headers=bearer(admin_token))

    assert "token" not in created
    assert created["principal"]["role"] == "data_officer"
    assert client.get("/v1/projects", headers=bearer(code)).status_code == 401
    assert code not in listed.text
    stored = session.scalars(select(EnrolmentCode)).one()
    assert code not in stored.code_hash and stored.expires_at < utcnow() + timedelta(days=2)


def test_an_enrolment_code_is_redeemed_once_for_the_principals_own_token(
    client: TestClient, session: Session, admin_token: str
) -> None:
    created = _register(client, admin_token, make_agency(session).id)
    code = created["enrolment"]["code"]

    redeemed = client.post("/v1/enrolment", json={"code": code.lower().replace("-", " ")})
    again = client.post("/v1/enrolment", json={"code": code})

    assert redeemed.status_code == 201
    token = redeemed.json()["token"]
    assert redeemed.json()["principal_id"] == created["principal"]["id"]
    assert again.status_code == 401
    assert again.json()["code"] == "invalid-enrolment-code"
    # Pending until a second person activates it (tests/service/test_activation.py).
    pending = client.get("/v1/principals/me", headers=bearer(token))
    assert pending.json()["code"] == "principal-not-activated"
    _activate(session, client, created["principal"]["id"], redeemed.json()["enrolment_check"])
    me = client.get("/v1/principals/me", headers=bearer(token))
    assert me.json()["id"] == created["principal"]["id"]


def test_wrong_expired_and_used_codes_get_the_same_answer(
    client: TestClient, session: Session, admin_token: str
) -> None:
    created = _register(client, admin_token, make_agency(session).id)
    code = created["enrolment"]["code"]
    stored = session.scalars(select(EnrolmentCode)).one()
    stored.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()

    expired = client.post("/v1/enrolment", json={"code": code})
    unknown = client.post("/v1/enrolment", json={"code": "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF"})

    assert expired.status_code == unknown.status_code == 401
    assert expired.json() == unknown.json()
    assert code not in expired.text


def test_administrators_cannot_mint_tokens_for_others(
    client: TestClient, session: Session, admin_token: str
) -> None:
    principal, _ = make_principal(session, make_agency(session))

    response = client.post(f"/v1/principals/{principal.id}/tokens", headers=bearer(admin_token))

    assert response.status_code in (404, 405)
    assert "token" not in response.json()


def test_a_principal_issues_itself_another_token(client: TestClient, session: Session) -> None:
    principal, first = make_principal(session, make_agency(session))

    response = client.post("/v1/principals/me/tokens", headers=bearer(first))

    assert response.status_code == 201
    second = response.json()["token"]
    assert response.json()["principal_id"] == str(principal.id)
    assert client.get("/v1/projects", headers=bearer(second)).status_code == 200
    assert client.get("/v1/projects", headers=bearer(first)).status_code == 200


def test_a_new_enrolment_code_revokes_the_principals_tokens(
    client: TestClient, session: Session, admin_token: str
) -> None:
    principal, token = make_principal(session, make_agency(session))

    response = client.post(f"/v1/principals/{principal.id}/enrolment", headers=bearer(admin_token))

    assert response.status_code == 201
    assert client.get("/v1/projects", headers=bearer(token)).status_code == 401
    redeemed = _redeem(client, response.json()["code"]).json()
    _activate(session, client, str(principal.id), redeemed["enrolment_check"])
    assert client.get("/v1/projects", headers=bearer(redeemed["token"])).status_code == 200


def test_a_disabled_principal_is_locked_out_at_once(
    client: TestClient, session: Session, admin_token: str
) -> None:
    agency = make_agency(session)
    principal, _ = make_principal(session, agency)
    code = client.post(f"/v1/principals/{principal.id}/enrolment", headers=bearer(admin_token))
    principal_two, token_two = make_principal(session, agency, name="Second")

    disabled = client.post(
        f"/v1/principals/{principal_two.id}/disable", headers=bearer(admin_token)
    )
    client.post(f"/v1/principals/{principal.id}/disable", headers=bearer(admin_token))

    assert disabled.status_code == 200
    assert disabled.json()["disabled_at"] is not None
    assert client.get("/v1/projects", headers=bearer(token_two)).status_code == 401
    assert _redeem(client, code.json()["code"]).status_code == 401
    again = client.post(f"/v1/principals/{principal.id}/enrolment", headers=bearer(admin_token))
    assert again.status_code == 409


def test_an_administrator_cannot_disable_itself(
    client: TestClient, session: Session, admin_token: str
) -> None:
    me = client.get("/v1/principals/me", headers=bearer(admin_token)).json()

    response = client.post(f"/v1/principals/{me['id']}/disable", headers=bearer(admin_token))

    assert response.status_code == 409


def test_only_administrators_disable_principals(client: TestClient, session: Session) -> None:
    agency = make_agency(session)
    target, _ = make_principal(session, agency, name="Target")
    _, officer = make_principal(session, agency, role=Role.DATA_OFFICER, name="Officer")

    response = client.post(f"/v1/principals/{target.id}/disable", headers=bearer(officer))

    assert response.status_code == 403


def test_principal_needs_an_existing_agency(client: TestClient, admin_token: str) -> None:
    body = {"agency_id": str(uuid.uuid4()), "name": "Nobody", "role": "analyst"}

    response = client.post("/v1/principals", json=body, headers=bearer(admin_token))

    assert response.status_code == 422
    assert response.json()["code"] == "invalid-input"


def test_unknown_role_is_refused(client: TestClient, session: Session, admin_token: str) -> None:
    body = {"agency_id": str(make_agency(session).id), "name": "X", "role": "superuser"}

    response = client.post("/v1/principals", json=body, headers=bearer(admin_token))

    assert response.status_code == 422


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


def test_every_audit_entry_names_the_token_that_acted(
    client: TestClient, session: Session, admin_token: str
) -> None:
    agency = make_agency(session)
    principal, token = make_principal(session, agency, role=Role.AUDITOR)
    token_id = str(token_of(session, principal).id)
    created = _register(client, admin_token, agency.id)
    redeemed = client.post("/v1/enrolment", json={"code": created["enrolment"]["code"]}).json()

    # A request that commits: on the PostgreSQL test fixture, entries of requests that do not
    # are rolled back with the request's savepoint (one shared test connection).
    client.post("/v1/principals/me/tokens", headers=bearer(token))
    entries = client.get("/v1/audit/entries", headers=bearer(token)).json()["items"]

    by_action = {entry["action"]: entry for entry in entries}
    acted = by_action["principals-create_own_token"]
    assert acted["token_id"] == token_id
    enrolled = by_action["principals-redeem_enrolment_code"]
    assert (enrolled["principal_id"], enrolled["token_id"]) == (
        created["principal"]["id"],
        redeemed["id"],
    )
    assert by_action["principals-create_principal"]["token_id"] is not None
    assert token not in str(entries) and redeemed["token"] not in str(entries)
    verified = client.get("/v1/audit/verify", headers=bearer(token)).json()
    assert verified["ok"], verified
