"""ORM base, a UTC timestamp column type, and the engine factory."""

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, create_engine, event, make_url
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

from service.config import Settings

# SQLite has one writer at a time: how long a write waits for another to commit. Storing a
# large run's hits holds the lock for seconds; audit entries wait rather than fail.
SQLITE_BUSY_SECONDS = 30.0


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back timezone-aware.

    SQLite keeps no offset, so without this the API would answer naive times on SQLite
    and aware ones on PostgreSQL.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")  # a bug in our code, never user input
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Declarative base of every hub table."""

    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012 - SQLAlchemy's API


def make_engine(settings: Settings) -> Engine:
    """Create the engine for settings.database_url.

    SQLite gets foreign keys switched on and, for a database file, write-ahead logging:
    readers then never wait for the audit writer. SQL parameters are left out of error
    messages and logs (`hide_parameters`): they hold notes, names and references.
    """
    url = make_url(settings.database_url.get_secret_value())
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, hide_parameters=True)
    connect_args = {"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS}
    options: dict[str, Any] = {"connect_args": connect_args, "hide_parameters": True}
    in_memory = url.database in (None, "", ":memory:")
    if in_memory:
        options["poolclass"] = StaticPool  # one in-memory database shared by all sessions
    engine = create_engine(url, **options)
    event.listen(engine, "connect", _sqlite_pragmas(wal=not in_memory))
    return engine


def prepare_database_file(settings: Settings) -> None:
    """Make a SQLite database file owner-only before the hub first connects (start-up)."""
    url = make_url(settings.database_url.get_secret_value())
    if url.get_backend_name() == "sqlite":
        private_sqlite_file(url.database)


def private_sqlite_file(database: str | None) -> None:
    """Create a SQLite database file owner-only (0600), or take others' access off it.

    SQLite creates its -wal and -shm files with the database file's permissions.
    """
    if database in (None, "", ":memory:") or database.startswith("file:"):
        return
    path = Path(database)
    try:
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        elif path.stat().st_mode & 0o077:
            path.chmod(0o600)
    except OSError:
        return  # no such folder, not ours: connecting fails, and /v1/ready says so


def _sqlite_pragmas(*, wal: bool) -> Any:
    pragmas = ["PRAGMA foreign_keys=ON"]
    if wal:
        # synchronous stays FULL: a committed audit entry must survive a power cut.
        pragmas.append("PRAGMA journal_mode=WAL")

    def apply(dbapi_connection: Any, connection_record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(pragma)
        cursor.close()

    return apply
