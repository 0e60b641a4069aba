"""Purpose and retention: an expired project serves nothing; the purge deletes and signs."""

import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linkage.audit import verify_receipt
from linkage.cli import main
from service.auth import Role
from service.config import Settings
from service.models import Hit, HitView, Project, Suspect, Upload, utcnow
from tests.service.batch_files import ARROW, as_file, make_batch
from tests.service.factories import bearer, make_agency, make_principal
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
