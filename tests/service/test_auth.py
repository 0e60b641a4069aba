from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, select
from sqlalchemy.orm import Session

from service.auth import Principal, Role, hash_token, new_token
from service.deps import (
    AdminDep,
    AnalystDep,
    AuditorDep,
    DataOfficerDep,
    KeyCustodianDep,
    PrincipalDep,
)
from service.models import utcnow
from tests.service.factories import bearer, make_agency, make_principal, token_of


def test_tokens_are_random_and_stored_as_sha256_hex() -> None:
    first, second = new_token(), new_token()

    assert first != second
    assert len(first) >= 43
    assert len(hash_token(first)) == 64
    assert hash_token(first) == hash_token(first)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        bearer("not-a-token"),
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
    ],
    ids=["missing", "unknown", "basic", "empty"],
)
def test_bad_credentials_are_a_401_problem(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get("/v1/projects", headers=headers)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["code"] == "unauthenticated"


def test_revoked_token_is_refused(client: TestClient, session: Session) -> None:
    principal, token = make_principal(session, make_agency(session))
    token_of(session, principal).revoked_at = utcnow()
    session.commit()

    response = client.get("/v1/projects", headers=bearer(token))

    assert response.status_code == 401


def test_expired_token_is_refused(client: TestClient, session: Session) -> None:
    principal, token = make_principal(session, make_agency(session))
    token_of(session, principal).expires_at = utcnow() - timedelta(seconds=1)
    session.commit()

    response = client.get("/v1/projects", headers=bearer(token))

    assert response.status_code == 401


def test_live_token_is_accepted(client: TestClient, session: Session) -> None:
    _, token = make_principal(session, make_agency(session))

    response = client.get("/v1/projects", headers=bearer(token))

    assert response.status_code == 200


def _probe_routes(app: FastAPI) -> None:
    @app.get("/probe/administrator", tags=["probe"])
    def admin(principal: AdminDep) -> str:
        return principal.role

    @app.get("/probe/data_officer", tags=["probe"])
    def data_officer(principal: DataOfficerDep) -> str:
        return principal.role

    @app.get("/probe/analyst", tags=["probe"])
    def analyst(principal: AnalystDep) -> str:
        return principal.role

    @app.get("/probe/auditor", tags=["probe"])
    def auditor(principal: AuditorDep) -> str:
        return principal.role

    @app.get("/probe/key_custodian", tags=["probe"])
    def key_custodian(principal: KeyCustodianDep) -> str:
        return principal.role

    @app.get("/probe/any", tags=["probe"])
    def anyone(principal: PrincipalDep) -> str:
        return str(principal.principal_id)


@pytest.mark.parametrize("caller", list(Role))
@pytest.mark.parametrize("required", list(Role))
def test_role_dependencies_admit_only_their_role(
    client: TestClient, session: Session, caller: Role, required: Role
) -> None:
    _probe_routes(client.app)  # type: ignore[arg-type]
    principal, token = make_principal(session, make_agency(session), role=caller)

    response = client.get(f"/probe/{required}", headers=bearer(token))
    anyone = client.get("/probe/any", headers=bearer(token))

    assert response.status_code == (200 if caller is required else 403)
    assert anyone.json() == str(principal.id)


def test_principal_value_object_is_frozen(session: Session) -> None:
    agency = make_agency(session)
    principal = Principal(principal_id=agency.id, agency_id=agency.id, role=Role.ANALYST)

    with pytest.raises(AttributeError):
        principal.role = Role.ADMINISTRATOR  # type: ignore[misc]


def test_raw_tokens_are_nowhere_in_the_database(
    client: TestClient, session: Session, admin_token: str
) -> None:
    agency = client.post("/v1/agencies", json={"name": "KMar"}, headers=bearer(admin_token)).json()
    created = client.post(
        "/v1/principals",
        json={"agency_id": agency["id"], "name": "Analyst", "role": "analyst"},
        headers=bearer(admin_token),
    ).json()
    code = created["enrolment"]["code"]
    token = client.post("/v1/enrolment", json={"code": code}).json()["token"]
    raw_secrets = [admin_token, token, code, code.replace("-", "")]

    stored = _every_stored_value(session)

    assert hash_token(token) in stored
    assert not [value for value in stored for raw in raw_secrets if raw in value]


def _every_stored_value(session: Session) -> list[str]:
    metadata = MetaData()
    metadata.reflect(bind=session.connection())
    values: list[str] = []
    for table in metadata.sorted_tables:
        for row in session.execute(select(table)):
            values.extend(str(value) for value in row if value is not None)
    return values
