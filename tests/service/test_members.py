"""Dual control over project teams: one administrator proposes, a second person confirms."""

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.auth import Role
from service.models import Agency, Principal, Project
from tests.service.factories import bearer, make_agency, make_principal, make_project


@dataclass
class Team:
    project: Project
    agencies: list[Agency]
    analyst: Principal
    tokens: dict[str, str]

    def path(self, suffix: str = "") -> str:
        return f"/v1/projects/{self.project.id}/members{suffix}"


@pytest.fixture
def team(session: Session, admin_token: str) -> Team:
    agencies = [make_agency(session, name) for name in ("Politie", "KMar", "FIOD")]
    project = make_project(session, agencies[:2])
    analyst, analyst_token = make_principal(session, agencies[0], name="Analyst")
    tokens = {"admin": admin_token, "analyst": analyst_token}
    for name, agency in (("officer", agencies[1]), ("outsider", agencies[2])):
        _, tokens[name] = make_principal(session, agency, role=Role.DATA_OFFICER, name=name)
    _, tokens["second admin"] = make_principal(session, agencies[2], role=Role.ADMINISTRATOR)
    return Team(project, agencies, analyst, tokens)


def propose(client: TestClient, team: Team, principal: Principal, by: str = "admin") -> int:
    body = {"principal_id": str(principal.id)}
    return int(client.post(team.path(), json=body, headers=bearer(team.tokens[by])).status_code)


def confirm(client: TestClient, team: Team, principal: Principal, by: str) -> int:
    path = team.path(f"/{principal.id}/confirm")
    return int(client.post(path, headers=bearer(team.tokens[by])).status_code)


def test_one_administrator_alone_cannot_put_someone_on_a_team(
    client: TestClient, team: Team
) -> None:
    proposed = propose(client, team, team.analyst)

    by_proposer = confirm(client, team, team.analyst, "admin")
    by_other_admin = confirm(client, team, team.analyst, "second admin")
    by_member = confirm(client, team, team.analyst, "analyst")
    by_outsider = confirm(client, team, team.analyst, "outsider")
    hits = client.get(
        f"/v1/projects/{team.project.id}/runs", headers=bearer(team.tokens["analyst"])
    )

    assert proposed == 202
    # Data officers exist in the project's agencies: an administrator is not the second person.
    assert (by_proposer, by_other_admin, by_member, by_outsider) == (403, 403, 403, 404)
    assert hits.status_code == 404
    assert confirm(client, team, team.analyst, "officer") == 200
    assert confirm(client, team, team.analyst, "officer") == 409


def test_a_data_officer_does_not_confirm_its_own_membership(
    client: TestClient, session: Session, team: Team
) -> None:
    officer = session.query(Principal).filter_by(name="officer").one()

    propose(client, team, officer)

    assert confirm(client, team, officer, "officer") == 403


def test_another_administrator_confirms_where_no_agency_has_a_data_officer(
    client: TestClient, session: Session, team: Team
) -> None:
    lone = [make_agency(session, name) for name in ("Gemeente", "FIU")]
    team.project = make_project(session, lone, name="No officers")
    propose(client, team, team.analyst)

    assert confirm(client, team, team.analyst, "admin") == 403
    assert confirm(client, team, team.analyst, "second admin") == 200
    runs = client.get(
        f"/v1/projects/{team.project.id}/runs", headers=bearer(team.tokens["analyst"])
    )
    assert runs.status_code == 200


def test_a_removed_member_loses_access_with_its_next_request(
    client: TestClient, team: Team
) -> None:
    propose(client, team, team.analyst)
    confirm(client, team, team.analyst, "officer")
    runs = f"/v1/projects/{team.project.id}/runs"
    before = client.get(runs, headers=bearer(team.tokens["analyst"]))

    removed = client.delete(team.path(f"/{team.analyst.id}"), headers=bearer(team.tokens["admin"]))
    after = client.get(runs, headers=bearer(team.tokens["analyst"]))
    again = client.delete(team.path(f"/{team.analyst.id}"), headers=bearer(team.tokens["admin"]))

    assert (before.status_code, removed.status_code, after.status_code) == (200, 204, 404)
    assert again.status_code == 404


def test_the_team_list_shows_who_is_pending(client: TestClient, team: Team) -> None:
    propose(client, team, team.analyst)

    listed = client.get(team.path(), headers=bearer(team.tokens["officer"])).json()["items"]

    assert [(item["name"], item["status"]) for item in listed] == [("Analyst", "pending")]
    assert listed[0]["added_by"] is not None and listed[0]["confirmed_by"] is None


def test_nobody_the_proposer_registered_confirms_its_proposal(
    client: TestClient, session: Session, team: Team
) -> None:
    # The administrator registers an officer of a project agency (a second administrator
    # activates it, as for any agency's first officer), then proposes an analyst: that
    # officer could be the administrator itself, holding the code it created.
    fiu = make_agency(session, "FIU")
    team.project = make_project(session, [team.agencies[0], fiu], name="Second case")
    body = {"agency_id": str(fiu.id), "name": "FIU officer", "role": "data_officer"}
    created = client.post("/v1/principals", json=body, headers=bearer(team.tokens["admin"]))
    redeemed = client.post("/v1/enrolment", json={"code": created.json()["enrolment"]["code"]})
    officer_id, team.tokens["registered"] = (
        created.json()["principal"]["id"],
        redeemed.json()["token"],
    )
    activated = client.post(
        f"/v1/principals/{officer_id}/activate",
        json={"enrolment_check": redeemed.json()["enrolment_check"]},
        headers=bearer(team.tokens["second admin"]),
    )
    assert activated.status_code == 200, activated.text

    propose(client, team, team.analyst, by="admin")
    by_registered = client.post(
        team.path(f"/{team.analyst.id}/confirm"), headers=bearer(team.tokens["registered"])
    )

    assert (by_registered.status_code, by_registered.json()["code"]) == (403, "access-denied")
    assert "registered or gave an enrolment code" in by_registered.json()["detail"]
    client.delete(team.path(f"/{team.analyst.id}"), headers=bearer(team.tokens["admin"]))
    assert propose(client, team, team.analyst, by="second admin") == 202
    assert confirm(client, team, team.analyst, "registered") == 200
