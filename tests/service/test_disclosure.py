"""Sealed disclosure at the hub: envelopes of hit members, to the team only, audited.

Agencies upload planted batches with real envelopes sealed to a real team key; the run is
real matching. What the hub releases is opened with the team's private key here.
"""

import uuid
from dataclasses import dataclass, replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from keys import KeyKind, KeyPair, generate_keypair, sealing_keys
from linkage.batch import Batch, Envelopes
from linkage.envelopes import open_released
from service.auth import Role
from tests.service.batch_files import ARROW, as_file
from tests.service.factories import bearer, make_agency, make_principal, make_project
from tests.service.matching_data import THRESHOLD, plant

LABEL = "carousel"
AGENCIES = ("FIU", "Gemeente", "Politie")


@dataclass
class Scene:
    project_id: uuid.UUID
    tokens: dict[str, str]
    team: KeyPair
    persons: list[frozenset[tuple[str, str]]]
    batches: dict[str, Batch]


def details(reference: str) -> dict[str, str]:
    return {"surname": f"Surname {reference}", "date_of_birth": "1985-03-07"}


def sealed(batch: Batch, team: KeyPair) -> Batch:
    keys = sealing_keys(team.public, project=LABEL, agency=batch.agency)
    envelopes = Envelopes(
        ephemeral_key=keys.ephemeral_key.hex(),
        team_key_id=keys.team_key_id,
        sealed=tuple(keys.seal(ref, details(ref)) for ref in batch.references),
    )
    return replace(batch, envelopes=envelopes)


def make_disclosure_scene(
    client: TestClient, session: Session, *, approval: bool = False, unsealed: str = ""
) -> Scene:
    agencies = {name: make_agency(session, name) for name in AGENCIES}
    analyst, analyst_token = make_principal(session, agencies["Politie"], name="Analyst")
    auditor, auditor_token = make_principal(session, agencies["FIU"], role=Role.AUDITOR)
    project = make_project(session, list(agencies.values()), members=[analyst, auditor])
    project.disclosure_approval = approval
    session.commit()
    team = generate_keypair("Carousel team", KeyKind.TEAM)
    planted = plant(list(AGENCIES))
    tokens = {"analyst": analyst_token, "auditor": auditor_token}
    batches = {}
    for name, agency in agencies.items():
        _, tokens[name] = make_principal(session, agency, role=Role.DATA_OFFICER, name="Officer")
        batch = planted.batches[name]
        batches[name] = batch if name == unsealed else sealed(batch, team)
        response = client.post(
            f"/v1/projects/{project.id}/uploads",
            content=as_file(batches[name]),
            headers=bearer(tokens[name]) | ARROW,
        )
        assert response.status_code == 201, response.text
    return Scene(project.id, tokens, team, planted.persons, batches)


def finished_run(client: TestClient, scene: Scene) -> str:
    started = client.post(
        f"/v1/projects/{scene.project_id}/runs",
        json={"threshold": THRESHOLD},
        headers=bearer(scene.tokens["analyst"]),
    )
    assert started.status_code == 202, started.text
    return str(started.json()["id"])


def hits_of(client: TestClient, scene: Scene, run_id: str) -> list[dict[str, Any]]:
    url = f"/v1/projects/{scene.project_id}/runs/{run_id}/hits"
    answer = client.get(url, params={"limit": 1000}, headers=bearer(scene.tokens["analyst"]))
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def release(
    client: TestClient, scene: Scene, run_id: str, number: int, *, who: str = "analyst"
) -> Any:
    url = f"/v1/projects/{scene.project_id}/runs/{run_id}/hits/{number}/envelopes"
    return client.post(url, headers=bearer(scene.tokens[who]))


@pytest.fixture
def scene(client: TestClient, session: Session) -> Scene:
    return make_disclosure_scene(client, session)


def test_the_team_gets_exactly_the_envelopes_of_a_hits_members(
    client: TestClient, scene: Scene
) -> None:
    run_id = finished_run(client, scene)
    hits = hits_of(client, scene, run_id)

    for hit in hits:
        answer = release(client, scene, run_id, hit["number"])
        assert answer.status_code == 200, answer.text
        documents = answer.json()["envelopes"]
        opened = open_released(scene.team, documents, project=LABEL)
        members = {(m["agency"], m["reference"]) for m in hit["members"]}
        assert {(d["agency"], d["reference"]) for d in documents} == members
        assert opened == [details(document["reference"]) for document in documents]
        assert answer.json()["pending_agencies"] == answer.json()["unsealed_agencies"] == []
    assert {frozenset((m["agency"], m["reference"]) for m in h["members"]) for h in hits} == set(
        scene.persons
    )


def test_each_release_is_audited_with_its_envelope_count(client: TestClient, scene: Scene) -> None:
    run_id = finished_run(client, scene)
    hit = hits_of(client, scene, run_id)[0]

    release(client, scene, run_id, hit["number"])
    many = client.post(
        f"/v1/projects/{scene.project_id}/runs/{run_id}/envelopes",
        json={"hits": [1, 2, 3]},
        headers=bearer(scene.tokens["analyst"]),
    )

    entries = client.get(
        "/v1/audit/entries", params={"limit": 1000}, headers=bearer(scene.tokens["auditor"])
    ).json()["items"]
    releases = [e for e in entries if e["action"].startswith("disclosure-release")]
    released = sum(len(item["envelopes"]) for item in many.json()["items"])
    assert [(e["outcome"], e["records"]) for e in releases] == [
        (200, len(hit["members"])),
        (200, released),
    ]


def test_only_analysts_on_the_team_get_envelopes(client: TestClient, scene: Scene) -> None:
    run_id = finished_run(client, scene)

    statuses = {who: release(client, scene, run_id, 1, who=who).status_code for who in scene.tokens}

    assert statuses == {"analyst": 200, "auditor": 403, "FIU": 403, "Gemeente": 403, "Politie": 403}


def test_an_absent_hit_or_unfinished_run_releases_nothing(client: TestClient, scene: Scene) -> None:
    run_id = finished_run(client, scene)

    assert release(client, scene, run_id, 999).status_code == 404
    assert release(client, scene, str(uuid.uuid4()), 1).status_code == 404


def test_members_of_an_agency_without_envelopes_are_named(
    client: TestClient, session: Session
) -> None:
    scene = make_disclosure_scene(client, session, unsealed="Gemeente")
    run_id = finished_run(client, scene)
    hit = next(h for h in hits_of(client, scene, run_id) if "Gemeente" in h["agencies"])

    answer = release(client, scene, run_id, hit["number"]).json()

    assert answer["unsealed_agencies"] == ["Gemeente"]
    assert {d["agency"] for d in answer["envelopes"]} == set(hit["agencies"]) - {"Gemeente"}


def test_a_batch_replaced_after_the_run_releases_nothing_of_it(
    client: TestClient, scene: Scene
) -> None:
    run_id = finished_run(client, scene)
    hit = next(h for h in hits_of(client, scene, run_id) if "FIU" in h["agencies"])
    uploads = client.get(
        f"/v1/projects/{scene.project_id}/uploads", headers=bearer(scene.tokens["FIU"])
    ).json()["items"]
    replacement = sealed(
        replace(scene.batches["FIU"], created_at="2026-12-01T00:00:00+00:00"), scene.team
    )
    client.put(
        f"/v1/projects/{scene.project_id}/uploads/{uploads[0]['id']}",
        content=as_file(replacement),
        headers=bearer(scene.tokens["FIU"]) | ARROW,
    )

    answer = release(client, scene, run_id, hit["number"]).json()

    assert answer["unavailable_agencies"] == ["FIU"]
    assert "FIU" not in {d["agency"] for d in answer["envelopes"]}


# Step-up approval


def approve(client: TestClient, scene: Scene, run_id: str, number: int, agency: str) -> Any:
    url = f"/v1/projects/{scene.project_id}/runs/{run_id}/hits/{number}/approvals"
    return client.post(url, headers=bearer(scene.tokens[agency]))


def own_numbers(client: TestClient, scene: Scene, run_id: str, agency: str) -> dict[str, int]:
    """Hit id -> the hit's number as the agency's data officer sees it (1..n)."""
    url = f"/v1/projects/{scene.project_id}/runs/{run_id}/hits"
    answer = client.get(url, params={"limit": 1000}, headers=bearer(scene.tokens[agency]))
    return {item["id"]: item["number"] for item in answer.json()["items"]}


def test_with_step_up_only_approved_agencies_envelopes_are_released(
    client: TestClient, session: Session
) -> None:
    scene = make_disclosure_scene(client, session, approval=True)
    run_id = finished_run(client, scene)
    hit = next(h for h in hits_of(client, scene, run_id) if len(h["agencies"]) >= 3)

    own = own_numbers(client, scene, run_id, "Politie")[hit["id"]]

    before = release(client, scene, run_id, hit["number"]).json()
    first = approve(client, scene, run_id, own, "Politie")
    again = approve(client, scene, run_id, own, "Politie")
    after = release(client, scene, run_id, hit["number"]).json()

    assert before["envelopes"] == [] and before["pending_agencies"] == hit["agencies"]
    assert (first.status_code, again.status_code) == (201, 200)
    assert {d["agency"] for d in after["envelopes"]} == {"Politie"}
    assert after["pending_agencies"] == [a for a in hit["agencies"] if a != "Politie"]
    assert open_released(scene.team, after["envelopes"], project=LABEL)


def test_an_officer_approves_only_hits_holding_the_own_agency(
    client: TestClient, session: Session
) -> None:
    scene = make_disclosure_scene(client, session, approval=True)
    run_id = finished_run(client, scene)
    hit = next(h for h in hits_of(client, scene, run_id) if "FIU" not in h["agencies"])
    own = own_numbers(client, scene, run_id, "FIU")

    # An officer names hits by the own numbers: one past them is not a hit of the agency.
    refused = approve(client, scene, run_id, len(own) + 1, "FIU")
    absent = approve(client, scene, run_id, 999, "FIU")
    analyst = approve(client, scene, run_id, hit["number"], "analyst")

    assert hit["id"] not in own
    assert refused.status_code == absent.status_code == 404
    assert refused.json() == absent.json()
    assert analyst.status_code == 403


def test_an_officer_sees_the_own_pending_approvals(client: TestClient, session: Session) -> None:
    scene = make_disclosure_scene(client, session, approval=True)
    run_id = finished_run(client, scene)
    own = [h["number"] for h in hits_of(client, scene, run_id) if "Politie" in h["agencies"]]
    approve(client, scene, run_id, 1, "Politie")  # the officer's first own hit
    url = f"/v1/projects/{scene.project_id}/runs/{run_id}/approvals"

    pending = client.get(url, params={"pending": True}, headers=bearer(scene.tokens["Politie"]))
    every = client.get(url, headers=bearer(scene.tokens["analyst"]))

    assert pending.json()["required"] is True
    assert [(i["hit_number"], i["agency"]) for i in pending.json()["items"]] == [
        (number, "Politie") for number in range(2, len(own) + 1)
    ]
    approved = [i for i in every.json()["items"] if i["approved"]]
    assert [(i["hit_number"], i["agency"]) for i in approved] == [(own[0], "Politie")]


def test_nothing_is_pending_where_disclosure_needs_no_approval(
    client: TestClient, scene: Scene
) -> None:
    run_id = finished_run(client, scene)
    url = f"/v1/projects/{scene.project_id}/runs/{run_id}/approvals"

    pending = client.get(url, params={"pending": True}, headers=bearer(scene.tokens["analyst"]))

    assert pending.json()["required"] is False
    assert pending.json()["items"] == []


def test_an_upload_without_the_wanted_references_adds_nothing_and_does_not_fail() -> None:
    # An agency with two uploads: the hit's members are all in the other one. Taking
    # zero rows once failed in Arrow (an untyped empty index list) and answered 500.
    from linkage.batch_stream import pick_envelopes

    team = generate_keypair("Carousel team", KeyKind.TEAM)
    batch = sealed(plant(list(AGENCIES)).batches["Politie"], team)
    content = as_file(batch)
    present = batch.references[1]

    assert pick_envelopes([content], ["elsewhere-1", "elsewhere-2"]).envelopes == {}
    picked = pick_envelopes([content], [present, "elsewhere"])
    assert picked.envelopes == {present: batch.envelopes.sealed[1]}  # type: ignore[union-attr]
