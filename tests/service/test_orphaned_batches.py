"""A sealed batch a killed replace or delete left behind goes when the hub starts again.

A replace or delete commits its row change, then removes the old sealed object; a SIGKILL
between the two leaves the old object, referenced by no upload. The test builds exactly that
state through the API (the replace and the delete commit; the old objects are then stored
again, as the kill would have left them), restarts the hub and finds them gone, the
referenced objects and a freshly written one (possibly an upload not yet committed) kept,
and the removal logged and audited with its count. Data folder and S3 bucket (moto), each on
SQLite and PostgreSQL.
"""

import logging
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from service.batches import blob_key
from service.config import Settings
from service.main import create_app
from service.models import AuditEntry, Upload
from service.objects import LocalObjects, ObjectStore
from service.orphans import BATCH_PREFIX, ORPHANS_ACTION
from tests.service.batch_files import ARROW, as_file
from tests.service.conftest import SessionFactory
from tests.service.s3_server import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, S3Server, running_s3
from tests.service.test_disclosure import make_disclosure_scene, sealed
from tests.service.test_retention import call
from tests.service.test_s3_hub import upload_ids

_HOURS_AGO = 2 * 3600  # older than the default grace period (one hour)


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with running_s3() as server:
        yield server


@pytest.fixture(params=["local", "s3"])
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """The conftest's settings; for "s3", the batches in a fresh bucket."""
    if request.param == "local":
        return settings
    s3: S3Server = request.getfixturevalue("s3")
    return settings.model_copy(
        update={
            "s3_bucket": s3.fresh_bucket(),
            "s3_endpoint_url": s3.url,
            "s3_region": REGION,
            "s3_prefix": "hub/",
            "s3_access_key_id": SecretStr(ACCESS_KEY_ID),
            "s3_secret_access_key": SecretStr(SECRET_ACCESS_KEY),
        }
    )


def _content(objects: ObjectStore, key: str) -> bytes:
    with objects.reader(key) as stream:
        return stream.read(1 << 30)


def _store(objects: ObjectStore, key: str, content: bytes) -> None:
    with objects.writer(key) as sink:
        sink.write(content)
    if isinstance(objects, LocalObjects):  # written before the crash, hours ago
        past = time.time() - _HOURS_AGO
        os.utime(objects.path(key), (past, past))


def _key(session: Session, upload_id: str) -> str:
    session.expire_all()
    return blob_key(session.get_one(Upload, uuid.UUID(upload_id)))


@contextmanager
def _restart(settings: Settings, engine: Engine, session_factory: SessionFactory) -> Iterator[None]:
    # An S3 object's write time cannot be set back: there the restarted hub's grace is 0.
    grace = 3600.0 if not settings.s3_bucket else 0.0
    app = create_app(settings.model_copy(update={"orphan_grace_s": grace}), engine=engine)
    if engine.dialect.name != "sqlite":
        app.state.sessions = session_factory  # the test's transaction, as the client's app
    with TestClient(app):
        yield


def test_objects_a_killed_replace_and_delete_left_go_when_the_hub_restarts(
    client: TestClient,
    session: Session,
    engine: Engine,
    session_factory: SessionFactory,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    scene = make_disclosure_scene(client, session)
    objects: ObjectStore = client.app.state.objects  # type: ignore[attr-defined]
    fiu, gemeente = upload_ids(client, scene, "FIU")[0], upload_ids(client, scene, "Gemeente")[0]
    replaced_key, deleted_key = _key(session, fiu), _key(session, gemeente)
    left = {key: _content(objects, key) for key in (replaced_key, deleted_key)}
    newer = sealed(
        replace(scene.batches["FIU"], created_at="2026-12-01T00:00:00+00:00"), scene.team
    )
    put = call(client, scene, "FIU", "PUT", f"/uploads/{fiu}", content=as_file(newer), h=ARROW)
    deleted = call(client, scene, "Gemeente", "DELETE", f"/uploads/{gemeente}")
    assert (put.status_code, deleted.status_code) == (200, 204)
    # What a SIGKILL between each commit and its object's removal leaves: the old objects.
    for key, content in left.items():
        _store(objects, key, content)
    if isinstance(objects, LocalObjects):  # unreferenced but fresh: perhaps being committed
        with objects.writer(f"{BATCH_PREFIX}being-committed.vault") as sink:
            sink.write(b"sealed moments ago")
    kept = set(objects.keys(BATCH_PREFIX)) - set(left)
    assert len(kept) >= 2 and set(left) <= set(objects.keys(BATCH_PREFIX))

    with (
        caplog.at_level(logging.INFO, logger="service"),
        _restart(settings, engine, session_factory),
    ):
        pass

    assert set(objects.keys(BATCH_PREFIX)) == kept
    assert _key(session, fiu) in kept
    session.expire_all()
    audited = session.scalars(select(AuditEntry).where(AuditEntry.action == ORPHANS_ACTION))
    assert [entry.records for entry in audited] == [2]
    removal = [r.getMessage() for r in caplog.records if r.name == "service.orphans"]
    assert removal == ["removed 2 sealed batch objects no upload referenced"]
    assert not [r for r in caplog.records if fiu in r.getMessage() or gemeente in r.getMessage()]
