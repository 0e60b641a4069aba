"""Wrapped keys relayed by the hub, and key epochs: rotation, uploads, runs over one epoch."""

import base64
import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.orm import Session

from keys import (
    KeyKind,
    KeyPair,
    LinkageSecret,
    TamperedKey,
    WrappedKey,
    generate_keypair,
    rotate_secret,
    unwrap_secret,
    wrap_secret,
)
from service.auth import Role
from service.models import Project, ProjectKeyEpoch
from service.models import WrappedKey as StoredWrappedKey
from tests.service.batch_files import ARROW, as_file, make_batch
from tests.service.factories import KEY_CHECK, bearer, make_agency, make_principal, make_project

LABEL = "carousel-2026"
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Scene:
    project_id: uuid.UUID
    agency_ids: dict[str, uuid.UUID]
    tokens: dict[str, str]
    pairs: dict[str, KeyPair]
    secret: LinkageSecret


@pytest.fixture
def scene(client: TestClient, session: Session, admin_token: str) -> Scene:
    agencies = [make_agency(session, name) for name in ("Politie", "FIU", "FIOD")]
    analyst, analyst_token = make_principal(session, agencies[0], name="Analyst")
    project = make_project(session, agencies[:2], members=[analyst])
    secret = LinkageSecret(project=LABEL, value=bytes(range(100, 132)))
    # The project as registered with this secret's key check value.
    project.key_check = secret.key_check_value()
    session.execute(update(ProjectKeyEpoch).values(key_check=project.key_check))
    session.commit()
    tokens = {"admin": admin_token, "analyst": analyst_token}
    for name, agency in (("custodian", agencies[0]), ("outside custodian", agencies[2])):
        _, tokens[name] = make_principal(session, agency, role=Role.KEY_CUSTODIAN, name=name)
    pairs = {}
    for agency in agencies:
        _, tokens[agency.name] = make_principal(session, agency, role=Role.DATA_OFFICER)
        pairs[agency.name] = generate_keypair(agency.name, KeyKind.AGENCY)
        body = {
            "owner": agency.name,
            "public_key": base64.b64encode(pairs[agency.name].public.key).decode(),
        }
        answer = client.post(
            f"/v1/agencies/{agency.id}/keys", json=body, headers=bearer(tokens[agency.name])
        )
        assert answer.status_code == 201, answer.text
    ids = {agency.name: agency.id for agency in agencies}
    return Scene(project.id, ids, tokens, pairs, secret)


def deposit(
    client: TestClient,
    scene: Scene,
    agency: str,
    document: dict[str, object],
    *,
    by: str = "custodian",
    replace: bool = False,
) -> dict[str, object]:
    url = f"/v1/projects/{scene.project_id}/wrapped-keys/{scene.agency_ids[agency]}"
    params = {"replace": "true"} if replace else {}
    response = client.put(url, json=document, params=params, headers=bearer(scene.tokens[by]))
    answer: dict[str, object] = response.json()
    answer["status"] = response.status_code
    return answer


def wrapped_for(
    scene: Scene, agency: str, secret: LinkageSecret | None = None
) -> dict[str, object]:
    return dict(wrap_secret(secret or scene.secret, scene.pairs[agency].public).to_document())


def fetch_own(client: TestClient, scene: Scene, agency: str, **params: int) -> dict[str, object]:
    response = client.get(
        f"/v1/projects/{scene.project_id}/wrapped-keys/mine",
        params=params,
        headers=bearer(scene.tokens[agency]),
    )
    assert response.status_code == 200, response.text
    answer: dict[str, object] = response.json()
    return answer


def test_a_deposited_key_reaches_its_agency_and_unwraps_there(
    client: TestClient, scene: Scene
) -> None:
    document = wrapped_for(scene, "Politie")

    stored = deposit(client, scene, "Politie", document)
    fetched = fetch_own(client, scene, "Politie")
    secret = unwrap_secret(
        WrappedKey.from_document(fetched["document"]), scene.pairs["Politie"], project=LABEL
    )

    assert stored["status"] == 200
    assert document["ciphertext"] not in json.dumps(stored)  # labels only, no ciphertext
    assert fetched["document"] == document
    assert secret.value == scene.secret.value


def test_only_a_key_custodian_of_a_participating_agency_deposits(
    client: TestClient, scene: Scene
) -> None:
    document = wrapped_for(scene, "FIU")

    refused = {
        by: deposit(client, scene, "FIU", document, by=by)["status"]
        for by in ("admin", "Politie", "FIU", "analyst", "outside custodian")
    }
    stored = deposit(client, scene, "FIU", document)
    project = client.get(
        f"/v1/projects/{scene.project_id}", headers=bearer(scene.tokens["analyst"])
    ).json()

    # A data officer of one agency overwrote another agency's wrapped key (answered 200).
    assert refused == {
        "admin": 403,
        "Politie": 403,
        "FIU": 403,
        "analyst": 403,
        "outside custodian": 404,
    }
    assert stored["status"] == 200
    assert project["key_label"] == LABEL


def test_a_wrapped_key_is_never_replaced_silently(
    client: TestClient, scene: Scene, session: Session
) -> None:
    first = deposit(client, scene, "FIU", wrapped_for(scene, "FIU"))
    again = deposit(client, scene, "FIU", wrapped_for(scene, "FIU"))
    still_live = deposit(client, scene, "FIU", wrapped_for(scene, "FIU"), replace=True)
    # FIU registers a new key pair: re-wrapping for it is the explicit replacement.
    scene.pairs["FIU"] = generate_keypair("FIU", KeyKind.AGENCY)
    body = {"owner": "FIU", "public_key": base64.b64encode(scene.pairs["FIU"].public.key).decode()}
    client.post(
        f"/v1/agencies/{scene.agency_ids['FIU']}/keys",
        json=body,
        headers=bearer(scene.tokens["FIU"]),
    )
    rewrapped = deposit(client, scene, "FIU", wrapped_for(scene, "FIU"), replace=True)

    assert first["status"] == 200
    assert (again["status"], again["code"]) == (409, "conflict")
    assert still_live["status"] == 409
    assert rewrapped["status"] == 200
    assert fetch_own(client, scene, "FIU")["recipient_key_id"] == scene.pairs["FIU"].public.key_id


def test_an_agency_gets_its_own_wrapped_key_only(client: TestClient, scene: Scene) -> None:
    deposit(client, scene, "Politie", wrapped_for(scene, "Politie"))
    url = f"/v1/projects/{scene.project_id}/wrapped-keys/mine"

    fiu = client.get(url, headers=bearer(scene.tokens["FIU"]))
    outsider = client.get(url, headers=bearer(scene.tokens["FIOD"]))
    analyst = client.get(url, headers=bearer(scene.tokens["analyst"]))

    assert (fiu.status_code, outsider.status_code, analyst.status_code) == (404, 404, 403)


def test_documents_not_for_the_slot_agency_key_epoch_or_project_are_refused(
    client: TestClient, scene: Scene
) -> None:
    deposit(client, scene, "Politie", wrapped_for(scene, "Politie"))
    other_label = LinkageSecret(project="another", value=scene.secret.value)
    unregistered = generate_keypair("FIU", KeyKind.AGENCY).public
    cases = {
        "for another agency": wrapped_for(scene, "FIU"),
        "for an unregistered key": dict(wrap_secret(scene.secret, unregistered).to_document()),
        "of an unknown secret": wrapped_for(scene, "FIU", rotate_secret(scene.secret)),
        "of another project label": wrapped_for(scene, "FIU", other_label),
        "missing a field": {k: v for k, v in wrapped_for(scene, "FIU").items() if k != "nonce"},
        "with an extra field": wrapped_for(scene, "FIU") | {"note": "x"},
    }

    answers = {
        case: deposit(client, scene, "Politie" if case == "for another agency" else "FIU", doc)
        for case, doc in cases.items()
    }

    assert {case: answer["status"] for case, answer in answers.items()} == dict.fromkeys(cases, 422)
    assert all(
        str(doc["ciphertext"]) not in json.dumps(answers)
        for doc in cases.values()
        if "ciphertext" in doc
    )


def test_a_non_participating_agency_has_no_slot(client: TestClient, scene: Scene) -> None:
    answer = deposit(client, scene, "FIOD", wrapped_for(scene, "FIOD"))

    assert answer["status"] == 404


def test_a_wrapped_key_altered_at_the_hub_fails_to_unwrap(
    client: TestClient, scene: Scene, session: Session
) -> None:
    deposit(client, scene, "Politie", wrapped_for(scene, "Politie"))
    stored = session.scalars(select(StoredWrappedKey)).one()
    document = json.loads(stored.document)
    sealed = bytearray(base64.b64decode(document["ciphertext"]))
    sealed[5] ^= 0x01
    document["ciphertext"] = base64.b64encode(bytes(sealed)).decode()
    session.execute(
        update(StoredWrappedKey)
        .where(StoredWrappedKey.agency_id == stored.agency_id)
        .values(document=json.dumps(document))
    )
    session.commit()

    fetched = fetch_own(client, scene, "Politie")

    with pytest.raises(TamperedKey, match="failed authentication"):
        unwrap_secret(
            WrappedKey.from_document(fetched["document"]), scene.pairs["Politie"], project=LABEL
        )


# Key epochs


def rotate(client: TestClient, scene: Scene, epoch: int, key_check: str) -> int:
    response = client.put(
        f"/v1/projects/{scene.project_id}/key-check",
        json={"epoch": epoch, "key_check": key_check},
        headers=bearer(scene.tokens["admin"]),
    )
    return response.status_code


def test_rotation_moves_the_project_to_a_new_epoch_and_keeps_the_old_wrapped_keys(
    client: TestClient, scene: Scene
) -> None:
    second = rotate_secret(scene.secret)
    deposit(client, scene, "Politie", wrapped_for(scene, "Politie"))

    status = rotate(client, scene, 2, second.key_check_value())
    deposit(client, scene, "Politie", wrapped_for(scene, "Politie", second))

    project = client.get(
        f"/v1/projects/{scene.project_id}", headers=bearer(scene.tokens["analyst"])
    ).json()
    assert status == 200
    assert (project["key_epoch"], project["key_check"]) == (2, second.key_check_value())
    assert fetch_own(client, scene, "Politie")["epoch"] == 2
    assert (
        fetch_own(client, scene, "Politie", epoch=1)["key_check"] == scene.secret.key_check_value()
    )


def test_rotation_refuses_going_back_or_reusing_a_key_check(
    client: TestClient, scene: Scene
) -> None:
    rotate(client, scene, 2, "fedcba9876543210")

    assert rotate(client, scene, 2, "0f0f0f0f0f0f0f0f") == 409
    assert rotate(client, scene, 3, scene.secret.key_check_value()) == 409
    assert rotate(client, scene, 3, "fedcba9876543210") == 409


def upload(
    client: TestClient, scene: Scene, agency: str, key_check: str, *, first: int = 0
) -> dict[str, object]:
    batch = make_batch(agency, key_check=key_check, first=first)
    response = client.post(
        f"/v1/projects/{scene.project_id}/uploads",
        content=as_file(batch),
        headers=bearer(scene.tokens[agency]) | ARROW,
    )
    answer: dict[str, object] = response.json()
    answer["status"] = response.status_code
    return answer


def test_uploads_of_an_earlier_epoch_are_accepted_and_marked_but_a_run_refuses_mixing(
    client: TestClient, scene: Scene
) -> None:
    old = scene.secret.key_check_value()
    rotate(client, scene, 2, KEY_CHECK)
    politie = upload(client, scene, "Politie", KEY_CHECK)
    fiu = upload(client, scene, "FIU", old)
    unknown = upload(client, scene, "FIU", "aaaaaaaaaaaaaaaa", first=50)

    run = client.post(
        f"/v1/projects/{scene.project_id}/runs", json={}, headers=bearer(scene.tokens["analyst"])
    )

    assert (politie["status"], fiu["status"]) == (201, 201)
    assert (politie["key_check"], fiu["key_check"]) == (KEY_CHECK, old)
    assert (unknown["status"], unknown["code"]) == (422, "key-mismatch")
    assert run.status_code == 409
    assert run.json()["code"] == "mixed-key-epochs"
    assert run.json()["detail"].endswith("FIU")


def test_a_run_over_one_epoch_starts(client: TestClient, scene: Scene, session: Session) -> None:
    upload(client, scene, "Politie", scene.secret.key_check_value())
    upload(client, scene, "FIU", scene.secret.key_check_value())

    run = client.post(
        f"/v1/projects/{scene.project_id}/runs", json={}, headers=bearer(scene.tokens["analyst"])
    )

    assert run.status_code == 202, run.text
    assert session.get_one(Project, scene.project_id).key_epoch == 1


def test_migrating_puts_existing_projects_at_epoch_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    monkeypatch.setenv("FIELDLINK_DATABASE_URL", url)
    monkeypatch.chdir(ROOT)
    config = Config(toml_file=str(ROOT / "pyproject.toml"))
    command.upgrade(config, "0002")
    engine = create_engine(url)
    project_id = uuid.uuid4()
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO projects (id, name, purpose, legal_basis, schema_fingerprint, "
                "key_check, min_agencies, expires_at, created_at) VALUES (:id, 'Carousel', "
                "'p', 'b', 'ab', :key_check, 2, '2027-01-01 00:00:00', '2026-01-01 00:00:00')"
            ),
            {"id": project_id.hex, "key_check": KEY_CHECK},
        )

    command.upgrade(config, "head")

    with engine.connect() as connection:
        epochs = connection.execute(text("SELECT epoch, key_check FROM project_key_epochs")).all()
        project = connection.execute(
            text("SELECT key_epoch, key_label, disclosure_approval FROM projects")
        ).one()
    engine.dispose()
    assert [tuple(row) for row in epochs] == [(1, KEY_CHECK)]
    assert tuple(project) == (1, None, 0)
