"""Purpose and retention: an expired project serves nothing; the purge deletes and signs."""

import base64
import json
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from keys import KeyKind, WrappedKey, generate_keypair
from linkage.audit import verify_receipt
from linkage.cli import main
from service import retention
from service.auth import Role
from service.bootstrap import create_first_admin
from service.config import Settings
from service.db import Base, make_engine
from service.main import create_app
from service.models import (
    Agency,
    AgencyKey,
    Hit,
    HitView,
    Project,
    Suspect,
    Upload,
    utcnow,
)
from service.models import KeyKind as ModelKeyKind
from service.models import WrappedKey as WrappedKeyRow
from tests.service.batch_files import ARROW, as_file, make_batch
from tests.service.factories import KEY_CHECK, bearer, make_agency, make_principal, make_project
from tests.service.test_disclosure import Scene, finished_run, hits_of, make_disclosure_scene


@pytest.fixture
def scene(client: TestClient, session: Session, admin_token: str) -> Scene:
    scene = make_disclosure_scene(client, session)
    scene.tokens["admin"] = admin_token
    run_id = finished_run(client, scene)
    hit = hits_of(client, scene, run_id)[0]
    listed = client.post(
        f"/v1/projects/{scene.project_id}/suspects",
        json={"hit_id": hit["id"], "note": "seen in Breda with a minor"},
        headers=bearer(scene.tokens["analyst"]),
    )
    assert listed.status_code == 201, listed.text
    scene.tokens["run_id"], scene.tokens["suspect_id"] = run_id, listed.json()["id"]
    return scene


def expire(session: Session, scene: Scene) -> None:
    project = session.get_one(Project, scene.project_id)
    project.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()


def call(client: TestClient, scene: Scene, who: str, method: str, path: str, **kw: Any) -> Any:
    url = f"/v1/projects/{scene.project_id}{path}".format(**scene.tokens)
    return client.request(method, url, headers=bearer(scene.tokens[who]) | kw.pop("h", {}), **kw)


def test_after_expiry_the_project_is_read_only_for_auditors_only(
    client: TestClient, session: Session, scene: Scene
) -> None:
    expire(session, scene)
    batch = as_file(make_batch("Politie", first=500))
    refused = {
        "hits": call(client, scene, "analyst", "GET", "/runs/{run_id}/hits"),
        "officer's hits": call(client, scene, "Politie", "GET", "/runs/{run_id}/hits"),
        "envelopes": call(client, scene, "analyst", "POST", "/runs/{run_id}/hits/1/envelopes"),
        "new run": call(client, scene, "analyst", "POST", "/runs", json={}),
        "suspect change": call(
            client, scene, "analyst", "PATCH", "/suspects/{suspect_id}", json={"note": "x"}
        ),
        "suspect list": call(client, scene, "analyst", "GET", "/suspects"),
        "upload": call(client, scene, "Politie", "POST", "/uploads", content=batch, h=ARROW),
        "project": call(client, scene, "analyst", "GET", ""),
        "settings": call(client, scene, "admin", "PATCH", "", json={"min_agencies": 2}),
    }
    readable = {
        "runs": call(client, scene, "auditor", "GET", "/runs"),
        "suspects": call(client, scene, "auditor", "GET", "/suspects"),
        "project": call(client, scene, "auditor", "GET", ""),
    }

    assert {name: answer.status_code for name, answer in refused.items()} == dict.fromkeys(
        refused, 410
    )
    assert {answer.json()["code"] for answer in refused.values()} == {"project-expired"}
    assert {name: answer.status_code for name, answer in readable.items()} == dict.fromkeys(
        readable, 200
    )


def counts(session: Session, project_id: uuid.UUID) -> dict[str, int]:
    def count(column: Any, *where: Any) -> int:
        return session.scalar(select(func.count(column)).where(*where)) or 0

    return {
        "uploads": count(Upload.id, Upload.project_id == project_id),
        "suspects": count(Suspect.id, Suspect.project_id == project_id),
        "hits": count(Hit.id),
        "hit_views": count(HitView.number),
    }


def test_the_purge_deletes_the_data_and_signs_a_receipt_each_agency_verifies(
    client: TestClient, session: Session, settings: Settings, scene: Scene, tmp_path: Path
) -> None:
    blobs = sorted((settings.data_dir / "uploads").glob("*.vault"))
    early = call(client, scene, "admin", "POST", "/purge")
    expire(session, scene)

    purged = call(client, scene, "admin", "POST", "/purge")
    again = call(client, scene, "admin", "POST", "/purge")
    fetched = call(client, scene, "Politie", "GET", "/purge-receipt")

    assert (early.status_code, early.json()["code"]) == (409, "conflict")
    assert purged.status_code == 200, purged.text
    receipt = purged.json()
    assert receipt["counts"]["batches"] == 3 and receipt["counts"]["envelopes"] > 0
    assert receipt["counts"]["hits"] > 0 and receipt["counts"]["suspect_notes"] == 1
    assert again.json() == receipt == fetched.json()
    assert blobs and not any(blob.exists() for blob in blobs)
    session.expire_all()
    assert counts(session, scene.project_id) == dict.fromkeys(
        ("uploads", "suspects", "hits", "hit_views"), 0
    )
    keys = client.get("/v1/audit/keys").json()["public_keys"]
    assert verify_receipt(receipt, trusted_keys=keys.values()).ok
    assert not verify_receipt(receipt | {"counts": {"batches": 0}}).ok
    entries = call(client, scene, "auditor", "GET", "/../../audit/entries").json()["items"]
    logged = {e["action"]: e["records"] for e in entries if e["action"].startswith("purge-")}
    assert logged == {f"purge-{kind}": count for kind, count in receipt["counts"].items()}
    assert sorted(receipt["audit_sequences"]) == sorted(
        e["sequence"] for e in entries if e["action"].startswith("purge-")
    )


def deposit_key_material(client: TestClient, session: Session, scene: Scene) -> None:
    """Politie's wrapped secret (two epochs) and the team's public key, through the API."""
    politie = session.scalars(select(Agency).where(Agency.name == "Politie")).one()
    _, scene.tokens["custodian"] = make_principal(session, politie, role=Role.KEY_CUSTODIAN)
    agency_key = generate_keypair("Politie", KeyKind.AGENCY).public
    registered = client.post(
        f"/v1/agencies/{politie.id}/keys",
        json={"owner": "Politie", "public_key": base64.b64encode(agency_key.key).decode()},
        headers=bearer(scene.tokens["Politie"]),
    )
    assert registered.status_code == 201, registered.text
    team_key = generate_keypair("Carousel team", KeyKind.TEAM).public
    body = {"owner": "Carousel team", "public_key": base64.b64encode(team_key.key).decode()}
    assert call(client, scene, "analyst", "PUT", "/team-key", json=body).status_code == 200
    for epoch, key_check in ((1, KEY_CHECK), (2, "fedcba9876543210")):
        if epoch == 2:
            moved = {"epoch": 2, "key_check": key_check}
            assert call(client, scene, "admin", "PUT", "/key-check", json=moved).status_code == 200
        wrapped = WrappedKey(
            project="carousel",
            recipient="Politie",
            recipient_key_id=registered.json()["key_id"],
            epoch=epoch,
            key_check=key_check,
            ephemeral_key=bytes(range(32)),
            nonce=bytes(12),
            ciphertext=bytes(48),
        )
        url = f"/wrapped-keys/{politie.id}"
        deposited = call(client, scene, "custodian", "PUT", url, json=wrapped.to_document())
        assert deposited.status_code == 200, deposited.text


def key_material(session: Session, project_id: uuid.UUID) -> dict[str, int]:
    session.expire_all()
    wrapped = select(func.count()).select_from(WrappedKeyRow)
    team = select(func.count()).select_from(AgencyKey).where(AgencyKey.kind == ModelKeyKind.TEAM)
    return {
        "wrapped_keys": session.scalar(wrapped.where(WrappedKeyRow.project_id == project_id)) or 0,
        "team_keys": session.scalar(team.where(AgencyKey.project_id == project_id)) or 0,
        "agency_keys": session.scalar(
            select(func.count()).select_from(AgencyKey).where(AgencyKey.kind == ModelKeyKind.AGENCY)
        )
        or 0,
    }


def test_the_purge_deletes_the_projects_key_material_and_counts_it(
    client: TestClient, session: Session, scene: Scene
) -> None:
    deposit_key_material(client, session, scene)
    before = key_material(session, scene.project_id)
    expire(session, scene)

    receipt = call(client, scene, "admin", "POST", "/purge").json()

    assert before == {"wrapped_keys": 2, "team_keys": 1, "agency_keys": 1}
    counts = receipt["counts"]
    assert (counts["wrapped_keys"], counts["team_keys"]) == (2, 1)
    assert counts["hit_views"] > 0 and counts["envelopes"] > 0
    assert "disclosure_approvals" in counts
    # The agency's own public key is the agency's, not the project's: it stays.
    assert key_material(session, scene.project_id) == {
        "wrapped_keys": 0,
        "team_keys": 0,
        "agency_keys": 1,
    }


def test_the_receipt_is_for_the_agencies_auditors_and_administrators(
    client: TestClient, session: Session, scene: Scene
) -> None:
    outsider = make_agency(session, "FIOD")
    _, scene.tokens["outsider"] = make_principal(session, outsider, role=Role.DATA_OFFICER)
    expire(session, scene)
    call(client, scene, "admin", "POST", "/purge")

    statuses = {
        who: call(client, scene, who, "GET", "/purge-receipt").status_code
        for who in ("Politie", "auditor", "admin", "analyst", "outsider")
    }

    assert statuses == {
        "Politie": 200,
        "auditor": 200,
        "admin": 200,
        "analyst": 403,
        "outsider": 404,
    }


def test_verify_receipt_on_the_command_line(
    client: TestClient, session: Session, scene: Scene, tmp_path: Path, capsys: Any
) -> None:
    expire(session, scene)
    receipt = call(client, scene, "admin", "POST", "/purge").json()
    good, bad = tmp_path / "receipt.json", tmp_path / "altered.json"
    good.write_text(json.dumps(receipt))
    bad.write_text(json.dumps(receipt | {"purged_at": "2030-01-01T00:00:00.000000Z"}))
    public_key = receipt["public_key"]

    pinned = main(["audit", "verify-receipt", str(good), "--public-key", public_key])
    other = main(["audit", "verify-receipt", str(good), "--public-key", "ab" * 32])
    altered = main(["audit", "verify-receipt", str(bad)])

    output = capsys.readouterr().out
    assert (pinned, other, altered) == (0, 1, 1)
    assert "ok: project" in output and "does not verify" in output


def test_a_sweep_purges_the_projects_past_their_grace_period_only(
    client: TestClient, session: Session, scene: Scene
) -> None:
    app: Any = client.app
    past_grace, within_grace = scene.project_id, make_project(session, [], name="Recent").id
    for project_id, ago in ((past_grace, timedelta(days=2)), (within_grace, timedelta(hours=1))):
        session.get_one(Project, project_id).expires_at = utcnow() - ago
    session.commit()

    purged = retention.sweep(
        app.state.sessions, retention.PurgeContext.of(app), grace=timedelta(days=1)
    )
    again = retention.sweep(
        app.state.sessions, retention.PurgeContext.of(app), grace=timedelta(days=1)
    )

    assert (purged, again) == (1, 0)
    session.expire_all()
    assert session.get_one(Project, past_grace).purged_at is not None
    assert session.get_one(Project, within_grace).purged_at is None
    assert counts(session, past_grace)["uploads"] == 0


def wait_for_receipt(client: TestClient, scene: Scene) -> dict[str, Any]:
    """Poll for the receipt the schedule stores (the deadline only stops a broken hub)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answer = call(client, scene, "auditor", "GET", "/purge-receipt")
        if answer.status_code == 200:
            receipt: dict[str, Any] = answer.json()
            return receipt
        assert answer.status_code == 404, answer.text
        time.sleep(0.05)
    raise AssertionError("the schedule did not purge the expired project")


def test_the_hub_purges_an_expired_project_on_its_schedule(
    database_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=SecretStr(database_url),
        data_dir=tmp_path / "hub-data",
        run_workers=0,
        run_inline=True,
        purge_interval_s=0.1,
        purge_grace_days=0,
    )
    engine = make_engine(settings)
    Base.metadata.create_all(engine)
    try:
        with (
            Session(engine, expire_on_commit=False) as session,
            TestClient(create_app(settings, engine=engine)) as client,
        ):
            scene = make_disclosure_scene(client, session)
            scene.tokens["admin"] = create_first_admin(session, "Hub operations", "Admin")
            finished_run(client, scene)
            deposit_key_material(client, session, scene)
            blobs = sorted((settings.data_dir / "uploads").glob("*.vault"))
            expire(session, scene)

            receipt = wait_for_receipt(client, scene)
            project = f"/v1/audit/entries?project_id={scene.project_id}&limit=1000"
            entries = client.get(project, headers=bearer(scene.tokens["auditor"])).json()["items"]
            left = counts(session, scene.project_id) | key_material(session, scene.project_id)
            keys = client.get("/v1/audit/keys").json()["public_keys"]
            verified = client.get("/v1/audit/verify", headers=bearer(scene.tokens["auditor"]))
    finally:
        engine.dispose()

    assert verify_receipt(receipt, trusted_keys=keys.values()).ok
    assert receipt["counts"]["batches"] == 3 and receipt["counts"]["wrapped_keys"] == 2
    assert blobs and not any(blob.exists() for blob in blobs)
    assert left == {
        "uploads": 0,
        "suspects": 0,
        "hits": 0,
        "hit_views": 0,
        "wrapped_keys": 0,
        "team_keys": 0,
        "agency_keys": 1,
    }
    by_hub = [e for e in entries if e["role"] == retention.SCHEDULE_ROLE]
    logged = {e["action"]: e["records"] for e in by_hub}
    total = sum(receipt["counts"].values())
    assert logged == {f"purge-{kind}": n for kind, n in receipt["counts"].items()} | {
        retention.PURGE_ACTION: total
    }
    assert {(e["principal_id"], e["token_id"], e["outcome"]) for e in by_hub} == {(None, None, 200)}
    assert sorted(receipt["audit_sequences"]) == sorted(
        e["sequence"] for e in by_hub if e["action"].startswith("purge-")
    )
    assert verified.json()["ok"], verified.text
