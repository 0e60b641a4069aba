"""Public keys at the hub: agencies register their own, the team registers its key."""

import base64
import uuid
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from keys import KeyKind, PublicKey, generate_keypair
from keys.keypair import KEY_ID_LABEL, key_id_of
from service import public_keys
from service.auth import Role
from tests.service.factories import bearer, make_agency, make_principal, make_project


def key_body(owner: str, kind: KeyKind = KeyKind.AGENCY) -> tuple[dict[str, str], PublicKey]:
    public = generate_keypair(owner, kind).public
    return {"owner": owner, "public_key": base64.b64encode(public.key).decode()}, public


@dataclass
class Hub:
    project_id: uuid.UUID
    agency_ids: dict[str, uuid.UUID]
    tokens: dict[str, str]


@pytest.fixture
def hub(session: Session) -> Hub:
    politie, fiu, outside = (make_agency(session, name) for name in ("Politie", "FIU", "FIOD"))
    analyst, analyst_token = make_principal(session, politie, name="Analyst")
    project = make_project(session, [politie, fiu], members=[analyst])
    tokens = {"analyst": analyst_token}
    for agency in (politie, fiu, outside):
        _, tokens[agency.name] = make_principal(session, agency, role=Role.DATA_OFFICER)
    _, tokens["outsider"] = make_principal(session, politie, name="Not on the team")
    ids = {agency.name: agency.id for agency in (politie, fiu, outside)}
    return Hub(project_id=project.id, agency_ids=ids, tokens=tokens)


def register(client: TestClient, hub: Hub, agency: str, body: dict[str, str]) -> dict[str, str]:
    url = f"/v1/agencies/{hub.agency_ids[agency]}/keys"
    response = client.post(url, json=body, headers=bearer(hub.tokens[agency]))
    assert response.status_code in (200, 201), response.text
    answer: dict[str, str] = response.json()
    return answer


def test_the_hub_computes_key_ids_as_the_key_files_do() -> None:
    keys = [generate_keypair("Politie", KeyKind.AGENCY).public.key for _ in range(20)]

    assert public_keys.KEY_ID_LABEL == KEY_ID_LABEL
    assert [public_keys.key_id_of(key) for key in keys] == [key_id_of(key) for key in keys]


def test_an_officer_registers_the_own_agency_key_and_the_hub_sets_its_id(
    client: TestClient, hub: Hub
) -> None:
    body, public = key_body("Politie")

    answer = register(client, hub, "Politie", body | {"key_id": "0000000000000000"})

    assert answer["key_id"] == public.key_id
    assert answer["kind"] == "agency" and answer["revoked_at"] is None
    assert answer["public_key"] == body["public_key"]


def test_registering_the_same_key_again_answers_the_stored_one(
    client: TestClient, hub: Hub
) -> None:
    body, _ = key_body("Politie")
    first = register(client, hub, "Politie", body)
    url = f"/v1/agencies/{hub.agency_ids['Politie']}/keys"

    again = client.post(url, json=body, headers=bearer(hub.tokens["Politie"]))

    assert again.status_code == 200
    assert again.json()["id"] == first["id"]


def test_a_new_key_revokes_the_old_one(client: TestClient, hub: Hub) -> None:
    old, _ = key_body("Politie")
    new, public = key_body("Politie")
    register(client, hub, "Politie", old)
    register(client, hub, "Politie", new)

    listed = client.get(
        f"/v1/projects/{hub.project_id}/keys", headers=bearer(hub.tokens["analyst"])
    ).json()["items"]

    assert [item["key_id"] for item in listed] == [public.key_id]


def test_another_agencys_key_slot_answers_like_an_absent_agency(
    client: TestClient, hub: Hub
) -> None:
    body, _ = key_body("FIU")

    response = client.post(
        f"/v1/agencies/{hub.agency_ids['FIU']}/keys",
        json=body,
        headers=bearer(hub.tokens["Politie"]),
    )
    absent = client.post(
        f"/v1/agencies/{uuid.uuid4()}/keys", json=body, headers=bearer(hub.tokens["Politie"])
    )

    assert response.status_code == absent.status_code == 404
    assert response.json() == absent.json()


@pytest.mark.parametrize(
    ("owner", "public_key", "status"),
    [
        ("FIU", None, 422),  # the owner label must be the agency's name
        ("Politie", base64.b64encode(bytes(32)).decode(), 422),  # the all-zero key
        ("Politie", "not base64 at all", 422),
        ("Politie", base64.b64encode(bytes(range(16))).decode(), 422),  # too short
    ],
)
def test_unusable_keys_are_refused(
    client: TestClient, hub: Hub, owner: str, public_key: str | None, status: int
) -> None:
    body, _ = key_body(owner)
    if public_key is not None:
        body["public_key"] = public_key

    response = client.post(
        f"/v1/agencies/{hub.agency_ids['Politie']}/keys",
        json=body,
        headers=bearer(hub.tokens["Politie"]),
    )

    assert response.status_code == status
    assert body["public_key"] not in response.text


def test_the_project_lists_its_agencies_keys_and_team_key_only(
    client: TestClient, hub: Hub
) -> None:
    for agency in ("Politie", "FIU", "FIOD"):
        register(client, hub, agency, key_body(agency)[0])
    team_body, team = key_body("Carousel team", KeyKind.TEAM)
    url = f"/v1/projects/{hub.project_id}/team-key"
    set_answer = client.put(url, json=team_body, headers=bearer(hub.tokens["analyst"]))

    listed = client.get(
        f"/v1/projects/{hub.project_id}/keys", headers=bearer(hub.tokens["FIU"])
    ).json()["items"]
    fetched = client.get(url, headers=bearer(hub.tokens["Politie"]))

    assert set_answer.status_code == 200 and set_answer.json()["key_id"] == team.key_id
    assert sorted((item["kind"], item["owner"]) for item in listed) == [
        ("agency", "FIU"),
        ("agency", "Politie"),
        ("team", "Carousel team"),
    ]
    assert fetched.json()["key_id"] == team.key_id


def test_the_team_key_is_set_only_by_the_team_or_an_administrator(
    client: TestClient, hub: Hub, admin_token: str
) -> None:
    url = f"/v1/projects/{hub.project_id}/team-key"
    body, _ = key_body("Carousel team", KeyKind.TEAM)

    statuses = {
        who: client.put(url, json=body, headers=bearer(token)).status_code
        for who, token in [("admin", admin_token), *hub.tokens.items()]
    }

    assert statuses == {
        "admin": 200,
        "analyst": 200,
        "Politie": 403,
        "FIU": 403,
        "FIOD": 403,
        "outsider": 404,
    }


def test_a_project_without_a_team_key_says_so(client: TestClient, hub: Hub) -> None:
    response = client.get(
        f"/v1/projects/{hub.project_id}/team-key", headers=bearer(hub.tokens["analyst"])
    )

    assert response.status_code == 404
