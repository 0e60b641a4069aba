"""Database, session and client fixtures: SQLite in memory, and PostgreSQL when configured.

Every database-facing test runs once per backend. The PostgreSQL run needs
TEST_DATABASE_URL; each test then works inside one outer transaction that is rolled back,
schema included (PostgreSQL DDL is transactional), so the database is left as found.
"""

import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.orm import Session
from starlette.exceptions import StarletteDeprecationWarning

from benchmarks.fault_injection import postgres_database
from service.bootstrap import create_first_admin
from service.config import Settings
from service.db import Base, make_engine
from service.deps import get_session
from service.main import create_app

with warnings.catch_warnings():
    # Starlette 1.x prefers httpx2 for its TestClient; the project depends on httpx, and
    # TestClient must stay an httpx.Client for the contract tests against linkage.HubClient.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

SessionFactory = Callable[[], Session]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """An in-memory database and a fresh data folder (hub keys, vault) per test.

    Runs execute inline, in the request that starts them: worker threads would share the
    test's one database connection. tests/service/test_jobs.py starts real workers on a
    database file, tests/service/test_retention.py the purge schedule.
    """
    return Settings(
        database_url=SecretStr("sqlite://"),
        data_dir=tmp_path / "hub-data",
        run_workers=0,
        run_inline=True,
        purge_interval_s=0,  # no purge schedule thread on the test's shared connection
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of the test's own, for a hub whose threads open their own connections.

    A SQLite file; on PostgreSQL a fresh database on the TEST_DATABASE_URL server, dropped
    afterwards. Empty: create the tables (or run `fieldlink hub init`) first.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.db'}"
        return
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        pytest.skip("TEST_DATABASE_URL is not set")
    with postgres_database(server) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(settings)  # StaticPool: one database shared with the threadpool
        Base.metadata.create_all(engine)
    else:
        url = os.environ.get("TEST_DATABASE_URL")
        if not url:
            pytest.skip("TEST_DATABASE_URL is not set")
        engine = create_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> Iterator[SessionFactory]:
    if engine.dialect.name == "sqlite":
        yield lambda: Session(engine, expire_on_commit=False)
        return
    with engine.connect() as connection:
        outer = connection.begin()
        Base.metadata.create_all(connection)
        yield lambda: _joined_session(connection)
        outer.rollback()


def _joined_session(connection: Connection) -> Session:
    # commit() inside tests and routes releases a savepoint; the outer transaction stays.
    return Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def session(session_factory: SessionFactory) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture
def client(
    engine: Engine, session_factory: SessionFactory, settings: Settings
) -> Iterator[TestClient]:
    app = create_app(settings, engine=engine)
    if engine.dialect.name != "sqlite":

        def joined() -> Iterator[Session]:
            with session_factory() as session:
                yield session

        app.dependency_overrides[get_session] = joined
        app.state.sessions = session_factory  # the audit writer's sessions join the test's too
    with TestClient(app) as client:
        yield client


@pytest.fixture
def admin_token(session: Session) -> str:
    return create_first_admin(session, "Hub operations", "First administrator")
