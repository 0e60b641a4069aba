"""A hub whose sealed batches live in an S3 bucket (a real S3 API server, moto's).

The whole life of a batch, through the API: upload, a run over it, envelope release,
replacement, deletion, a key rotation and the retention purge, each reading and writing
the bucket. What the bucket holds is sealed: no stretch of an uploaded file is in it.
Every other upload test keeps the default, files under the data folder.
"""

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from linkage.envelopes import open_released
from service.batches import open_upload, reseal_uploads
from service.config import Settings
from service.hub_keys import Keyring, load_hub_keys, rotate
from service.models import Upload
from service.objects import S3Objects
from service.vault import MAGIC
from tests.service.batch_files import ARROW, as_file
from tests.service.factories import bearer
from tests.service.s3_server import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, S3Server, running_s3
from tests.service.test_disclosure import (
    LABEL,
    Scene,
    finished_run,
    hits_of,
    make_disclosure_scene,
    release,
    sealed,
)
from tests.service.test_retention import call, expire

PREFIX = "hub/"
_WINDOW = 32  # any stretch of 48 plain bytes holds one of the windows checked


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with running_s3() as server:
        yield server


@pytest.fixture
def settings(settings: Settings, s3: S3Server) -> Settings:
    """The conftest's settings, with the batches in a fresh bucket."""
    return settings.model_copy(
        update={
            "s3_bucket": s3.fresh_bucket(),
            "s3_endpoint_url": s3.url,
            "s3_region": REGION,
            "s3_prefix": PREFIX,
            "s3_access_key_id": SecretStr(ACCESS_KEY_ID),
            "s3_secret_access_key": SecretStr(SECRET_ACCESS_KEY),
        }
    )


def bucket(client: TestClient) -> dict[str, bytes]:
    """Every object in the hub's bucket, by key (the hub's prefix included)."""
    store: S3Objects = client.app.state.objects  # type: ignore[attr-defined]
    listed = store.client.list_objects_v2(Bucket=store.bucket).get("Contents", [])
    return {
        item["Key"]: store.client.get_object(Bucket=store.bucket, Key=item["Key"])["Body"].read()
        for item in listed
    }


def plain_stretches(files: list[bytes]) -> set[bytes]:
    return {
        content[start : start + _WINDOW]
        for content in files
        for start in range(0, len(content) - _WINDOW + 1, _WINDOW // 2)
    }


def upload_ids(client: TestClient, scene: Scene, agency: str) -> list[str]:
    url = f"/v1/projects/{scene.project_id}/uploads"
    return [
        item["id"] for item in client.get(url, headers=bearer(scene.tokens[agency])).json()["items"]
    ]


def test_uploads_runs_releases_replacements_deletes_and_the_purge_use_the_bucket(
    client: TestClient, session: Session, settings: Settings, admin_token: str
) -> None:
    scene = make_disclosure_scene(client, session)
    scene.tokens["admin"] = admin_token
    uploaded = [as_file(batch) for batch in scene.batches.values()]
    stored, listed = bucket(client), client.app.state.objects.keys()  # type: ignore[attr-defined]

    run_id = finished_run(client, scene)
    hits = hits_of(client, scene, run_id)
    hit = next(h for h in hits if "FIU" in h["agencies"])
    released = release(client, scene, run_id, hit["number"])

    replacement = sealed(
        replace(scene.batches["FIU"], created_at="2026-12-01T00:00:00+00:00"), scene.team
    )
    fiu_upload = upload_ids(client, scene, "FIU")[0]
    replaced = call(
        client, scene, "FIU", "PUT", f"/uploads/{fiu_upload}", content=as_file(replacement), h=ARROW
    )
    after_replacement = bucket(client)
    withheld = release(client, scene, run_id, hit["number"]).json()
    gemeente_upload = upload_ids(client, scene, "Gemeente")[0]
    deleted = call(client, scene, "Gemeente", "DELETE", f"/uploads/{gemeente_upload}")
    after_delete = bucket(client)
    expire(session, scene)
    purged = call(client, scene, "admin", "POST", "/purge")

    assert sorted(stored) == [f"{PREFIX}{key}" for key in listed]
    assert len(stored) == 3 and all(blob.startswith(MAGIC) for blob in stored.values())
    assert not plain_stretches(uploaded) & {
        blob[start : start + _WINDOW] for blob in stored.values() for start in range(len(blob))
    }
    assert not (settings.data_dir / "uploads").exists()  # nothing went to the data folder
    assert not any((settings.data_dir / "spool").iterdir())
    assert hits and released.status_code == 200, released.text
    opened = open_released(scene.team, released.json()["envelopes"], project=LABEL)
    assert len(opened) == len(hit["members"])
    assert replaced.status_code == 200, replaced.text
    assert len(after_replacement) == 3 and fiu_upload in str(
        sorted(set(after_replacement) - set(stored))
    )
    assert withheld["unavailable_agencies"] == ["FIU"]  # the run matched the old content
    assert deleted.status_code == 204 and len(after_delete) == 2
    assert not any(gemeente_upload in key for key in after_delete)
    assert purged.status_code == 200, purged.text
    assert purged.json()["counts"]["batches"] == 2 and purged.json()["counts"]["envelopes"] > 0
    assert bucket(client) == {}


def test_a_storage_key_rotation_reseals_the_bucket(
    client: TestClient, session: Session, settings: Settings
) -> None:
    make_disclosure_scene(client, session)
    objects: S3Objects = client.app.state.objects  # type: ignore[attr-defined]
    before = bucket(client)
    new_id = rotate(settings.data_dir, "storage")
    ring = load_hub_keys(settings.data_dir, create=False).storage

    moved = reseal_uploads(session, objects=objects, keyring=ring)
    session.commit()

    after = bucket(client)
    only_new = Keyring(keys={new_id: ring.keys[new_id]}, active_id=new_id)
    rows = session.scalars(select(Upload)).all()
    assert moved == 3 and sorted(after) == sorted(before)
    assert all(blob[len(MAGIC) : len(MAGIC) + 16] == new_id.encode() for blob in after.values())
    assert [len(open_upload(row, objects=objects, keyring=only_new)) for row in rows] == [120] * 3


def test_the_hub_is_not_ready_while_its_bucket_is_missing(
    client: TestClient, settings: Settings
) -> None:
    store: Any = client.app.state.objects  # type: ignore[attr-defined]

    ready = client.get("/v1/ready")
    store.client.delete_bucket(Bucket=store.bucket)
    unready = client.get("/v1/ready")

    assert ready.status_code == 200
    assert (unready.status_code, unready.json()["code"]) == (503, "unavailable")
    assert settings.s3_bucket not in unready.text
