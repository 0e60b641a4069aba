"""Second-person activation: an administrator cannot act as a principal it registered."""

import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from linkage.cli import main
from service.activation import OPERATOR_ACTION, OPERATOR_ROLE
from service.auth import Role
from service.config import Settings
from service.db import make_engine
from service.main import create_app
from service.models import Agency, AuditEntry, Principal
from tests.service.factories import bearer, make_agency, make_principal


@dataclass(frozen=True)
class Enrolled:
    principal_id: str
    token: str
    check: str


def register(client: TestClient, admin: str, agency: Agency, role: str, name: str) -> str:
    """An administrator registers a principal; its enrolment code."""
    body = {"agency_id": str(agency.id), "name": name, "role": role}
    created = client.post("/v1/principals", json=body, headers=bearer(admin))
    assert created.status_code == 201, created.text
    code: str = created.json()["enrolment"]["code"]
    return code


def redeem(client: TestClient, code: str) -> Enrolled:
    redeemed = client.post("/v1/enrolment", json={"code": code})
    assert redeemed.status_code == 201, redeemed.text
    answer = redeemed.json()
    return Enrolled(answer["principal_id"], answer["token"], answer["enrolment_check"])


def activate(client: TestClient, token: str, principal_id: str, check: str) -> Any:
    url = f"/v1/principals/{principal_id}/activate"
    return client.post(url, json={"enrolment_check": check}, headers=bearer(token))


def other_check(check: str) -> str:
    return ("B" if check[0] == "A" else "A") + check[1:]


def test_an_administrator_cannot_act_as_a_principal_it_registered(
    client: TestClient, session: Session, admin_token: str
) -> None:
    politie = make_agency(session, "Politie")
    _, officer = make_principal(session, politie, role=Role.DATA_OFFICER, name="Officer")
    # The administrator registers a fake analyst and redeems its code itself.
    fake = redeem(client, register(client, admin_token, politie, "analyst", "Fake analyst"))

    refused = client.get("/v1/projects", headers=bearer(fake.token))
    own_token = client.post("/v1/principals/me/tokens", headers=bearer(fake.token))
    by_admin = activate(client, admin_token, fake.principal_id, fake.check)
    wrong_check = activate(client, officer, fake.principal_id, other_check(fake.check))

    assert (refused.status_code, refused.json()["code"]) == (403, "principal-not-activated")
    assert own_token.status_code == 403
    assert (by_admin.status_code, by_admin.json()["code"]) == (403, "access-denied")
    assert (wrong_check.status_code, wrong_check.json()["code"]) == (422, "invalid-input")
    assert fake.check not in wrong_check.text
    # The agency's officer knows its people: it activates only with the check read out.
    activated = activate(client, officer, fake.principal_id, fake.check.lower())
    assert activated.status_code == 200, activated.text
    assert activated.json()["pending_activation"] is False
    assert client.get("/v1/projects", headers=bearer(fake.token)).status_code == 200
    again = activate(client, officer, fake.principal_id, fake.check)
    assert (again.status_code, again.json()["code"]) == (409, "conflict")


def test_a_first_officer_is_activated_by_an_administrator_who_did_not_register_it(
    client: TestClient, session: Session, admin_token: str
) -> None:
    kmar = make_agency(session, "KMar")
    hub = session.scalars(select(Agency).where(Agency.name == "Hub operations")).one()
    _, second_admin = make_principal(session, hub, role=Role.ADMINISTRATOR, name="Second")
    first = redeem(client, register(client, admin_token, kmar, "data_officer", "KMar officer"))

    by_registrar = activate(client, admin_token, first.principal_id, first.check)
    by_second = activate(client, second_admin, first.principal_id, first.check)

    assert by_registrar.status_code == 403
    assert "created the principal's enrolment code" in by_registrar.json()["detail"]
    assert by_second.status_code == 200, by_second.text
    assert by_second.json()["activated_by"] is not None
    # Now the agency has an officer: its next principal is the officer's to activate.
    analyst = redeem(client, register(client, admin_token, kmar, "analyst", "KMar analyst"))
    assert activate(client, second_admin, analyst.principal_id, analyst.check).status_code == 403
    assert activate(client, first.token, analyst.principal_id, analyst.check).status_code == 200


def test_a_principal_is_activated_only_after_it_enrolled_and_only_by_its_agency(
    client: TestClient, session: Session, admin_token: str
) -> None:
    politie, fiod = make_agency(session, "Politie"), make_agency(session, "FIOD")
    _, officer = make_principal(session, politie, role=Role.DATA_OFFICER, name="Officer")
    _, custodian = make_principal(session, politie, role=Role.KEY_CUSTODIAN, name="Custodian")
    _, foreign = make_principal(session, fiod, role=Role.DATA_OFFICER, name="Foreign officer")
    _, analyst = make_principal(session, politie, role=Role.ANALYST, name="Analyst")
    register(client, admin_token, politie, "auditor", "Auditor")
    waiting = client.get("/v1/principals/pending", headers=bearer(officer)).json()["items"]
    auditor_id = waiting[0]["id"]

    not_enrolled = activate(client, officer, auditor_id, "AAAA-AAAA")

    assert [(item["name"], item["pending_activation"]) for item in waiting] == [("Auditor", True)]
    assert (not_enrolled.status_code, not_enrolled.json()["code"]) == (409, "conflict")
    code = client.post(f"/v1/principals/{auditor_id}/enrolment", headers=bearer(admin_token))
    auditor = redeem(client, code.json()["code"])
    assert activate(client, foreign, auditor_id, auditor.check).status_code == 404
    assert activate(client, analyst, auditor_id, auditor.check).status_code == 403
    assert client.get("/v1/principals/pending", headers=bearer(foreign)).json()["items"] == []
    assert activate(client, custodian, auditor_id, auditor.check).status_code == 200


def test_a_new_enrolment_code_needs_a_new_activation(
    client: TestClient, session: Session, admin_token: str
) -> None:
    politie = make_agency(session, "Politie")
    _, officer = make_principal(session, politie, role=Role.DATA_OFFICER, name="Officer")
    analyst, token = make_principal(session, politie, role=Role.ANALYST, name="Analyst")

    code = client.post(f"/v1/principals/{analyst.id}/enrolment", headers=bearer(admin_token))
    taken = redeem(client, code.json()["code"])  # redeemed by whoever holds the code

    assert client.get("/v1/projects", headers=bearer(token)).status_code == 401
    assert client.get("/v1/projects", headers=bearer(taken.token)).status_code == 403
    assert activate(client, officer, str(analyst.id), taken.check).status_code == 200
    assert client.get("/v1/projects", headers=bearer(taken.token)).status_code == 200
    me = client.get("/v1/principals/me", headers=bearer(admin_token)).json()
    own = client.post(f"/v1/principals/{me['id']}/enrolment", headers=bearer(admin_token))
    assert own.status_code == 409  # an administrator cannot take itself off the second person


def test_activation_and_the_refused_requests_are_audited_with_the_acting_token(
    client: TestClient, session: Session, admin_token: str
) -> None:
    politie = make_agency(session, "Politie")
    _, officer = make_principal(session, politie, role=Role.DATA_OFFICER, name="Officer")
    _, auditor = make_principal(session, politie, role=Role.AUDITOR, name="Auditor")
    fake = redeem(client, register(client, admin_token, politie, "analyst", "Fake"))
    client.post("/v1/principals/me/tokens", headers=bearer(fake.token))
    activate(client, officer, fake.principal_id, fake.check)

    entries = client.get("/v1/audit/entries", headers=bearer(auditor)).json()["items"]

    tokens = {
        who: client.get("/v1/principals/me", headers=bearer(token)).json()["id"]
        for who, token in (("officer", officer), ("fake", fake.token))
    }
    refused = [e for e in entries if e["action"] == "principals-create_own_token"]
    assert [(e["principal_id"], e["outcome"]) for e in refused] == [(fake.principal_id, 403)]
    assert refused[0]["token_id"] is not None
    done = [e for e in entries if e["action"] == "principals-activate_principal"]
    assert [(e["principal_id"], e["outcome"]) for e in done] == [(tokens["officer"], 200)]
    assert done[0]["token_id"] is not None and done[0]["resource"].endswith("/activate")
    assert fake.token not in str(entries) and fake.check not in str(entries)


def test_a_pending_principal_cannot_sign_in_to_the_web_pages(
    client: TestClient, session: Session, admin_token: str
) -> None:
    politie = make_agency(session, "Politie")
    _, officer = make_principal(session, politie, role=Role.DATA_OFFICER, name="Officer")
    fake = redeem(client, register(client, admin_token, politie, "analyst", "Fake analyst"))

    def sign_in(token: str) -> Any:
        form = client.get("/app/sign-in")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert csrf is not None
        body = {"token": token, "csrf_token": csrf.group(1), "next": "/app"}
        return client.post("/app/sign-in", data=body, follow_redirects=False)

    pending = sign_in(fake.token)
    activate(client, officer, fake.principal_id, fake.check)
    active = sign_in(fake.token)

    assert pending.status_code == 401 and "fieldlink_session" not in pending.cookies
    assert active.status_code == 303 and "fieldlink_session" in active.cookies


# The hub operator's bootstrap: `fieldlink hub activate`, on SQLite and PostgreSQL.


def test_the_hub_operator_activates_a_second_administrator_nobody_else_can(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub = ["--database-url", database_url, "--data-dir", str(tmp_path / "hub-data")]
    assert main(["hub", "init", *hub, "--token-file", str(tmp_path / "admin.token")]) == 0
    admin = (tmp_path / "admin.token").read_text().strip()
    settings = Settings(
        database_url=SecretStr(database_url), data_dir=tmp_path / "hub-data", run_workers=0
    )
    engine = make_engine(settings)
    try:
        with TestClient(create_app(settings, engine=engine)) as client, Session(engine) as session:
            operations = session.scalars(select(Agency)).one()
            second = redeem(client, register(client, admin, operations, "administrator", "Two"))
            officer = redeem(client, register(client, admin, operations, "data_officer", "Off"))
            third = redeem(client, register(client, admin, operations, "administrator", "Three"))

            wrong = main(["hub", "activate", *hub, "--principal", "two", "--check", "AAAA-AAAA"])
            not_admin = main(
                ["hub", "activate", *hub, "--principal", "Off", "--check", officer.check]
            )
            done = main(["hub", "activate", *hub, "--principal", "Two", "--check", second.check])
            works = client.get("/v1/agencies", headers=bearer(second.token)).status_code
            needless = main(
                ["hub", "activate", *hub, "--principal", "Three", "--check", third.check]
            )

            _, auditor_token = make_principal(session, operations, role=Role.AUDITOR)
            verified = client.get("/v1/audit/verify", headers=bearer(auditor_token)).json()
            entries = session.scalars(
                select(AuditEntry).where(AuditEntry.action == OPERATOR_ACTION)
            )
            logged = [(e.role, e.principal_id, e.token_id, e.resource) for e in entries]
            two = session.scalars(select(Principal).where(Principal.name == "Two")).one()
    finally:
        engine.dispose()

    errors = capsys.readouterr().err
    assert (wrong, not_admin, done, works, needless) == (1, 1, 0, 200, 1)
    assert "enrolment check does not match" in errors
    assert "administrators only" in errors and "another administrator activates it" in errors
    assert logged == [(OPERATOR_ROLE, None, None, f"/v1/principals/{two.id}/activate")]
    assert verified["ok"], verified
    assert uuid.UUID(second.principal_id) == two.id and two.activated_by is None
