"""A hub with a real database for the audit tests: a SQLite file, or a PostgreSQL schema.

The shared fixtures (tests/service/conftest.py) run each PostgreSQL test inside one
rolled-back transaction on one connection. The audit chain needs what a real hub has:
commits that other connections see, several connections taking the chain lock at once, and
entries that outlive the request's own session. So these tests get a database of their own:
a SQLite file, or a fresh PostgreSQL schema that is dropped afterwards.
"""

import os
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import Engine, create_engine, make_url, select, text
from sqlalchemy.orm import Session
from starlette.exceptions import StarletteDeprecationWarning

from service.auth import Role
from service.bootstrap import create_first_admin
from service.config import Settings
from service.db import Base, make_engine
from service.main import create_app
from service.models import AuditCheckpoint, AuditEntry
from tests.service.factories import make_agency, make_principal, make_project

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def hub_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hub.db'}"
        engine = make_engine(Settings(database_url=SecretStr(url)))
        Base.metadata.create_all(engine)
        yield engine
        engine.dispose()
        return
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        pytest.skip("TEST_DATABASE_URL is not set")
    yield from _postgres_schema(server)


def _postgres_schema(url: str) -> Iterator[Engine]:
    schema = f"audit_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    # The schema travels in the URL, so another process can open the same database.
    engine = create_engine(make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}))
    try:
        Base.metadata.create_all(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@dataclass
class Hub:
    """Callers of one hub, by role, and the project the analyst works on."""

    engine: Engine
    tokens: dict[str, str]
    ids: dict[str, uuid.UUID]

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=False)

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def entries(self) -> list[AuditEntry]:
        with self.session() as session:
            return list(session.scalars(select(AuditEntry).order_by(AuditEntry.sequence)))

    def checkpoints(self) -> list[AuditCheckpoint]:
        with self.session() as session:
            query = select(AuditCheckpoint).order_by(AuditCheckpoint.sequence)
            return list(session.scalars(query))


@pytest.fixture
def hub(hub_engine: Engine) -> Hub:
    with Session(hub_engine, expire_on_commit=False) as session:
        admin = create_first_admin(session, "Hub operations", "First administrator")
        politie, kmar = make_agency(session, "Politie"), make_agency(session, "KMar")
        analyst, analyst_token = make_principal(session, politie, role=Role.ANALYST)
        auditor, auditor_token = make_principal(session, kmar, role=Role.AUDITOR, name="Audit")
        project = make_project(session, [politie, kmar], members=[analyst])
        ids = {
            "project": project.id,
            "analyst": analyst.id,
            "politie": politie.id,
            "auditor": auditor.id,
        }
    tokens = {"administrator": admin, "analyst": analyst_token, "auditor": auditor_token}
    return Hub(engine=hub_engine, tokens=tokens, ids=ids)


def hub_app(hub: Hub, tmp_path: Path, *, checkpoint_every: int = 1000) -> FastAPI:
    """A hub app over the test database; its keys live in `tmp_path`."""
    settings = Settings(
        database_url=SecretStr(hub.url),
        data_dir=tmp_path / "hub-data",
        audit_checkpoint_every=checkpoint_every,
        # These tests send hundreds of requests without a token to load the chain; the
        # failed-authentication backoff has its own tests (test_limits.py).
        auth_failures_allowed=100_000,
    )
    return create_app(settings, engine=hub.engine)


@pytest.fixture
def hub_client(hub: Hub, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(hub_app(hub, tmp_path)) as client:
        yield client
