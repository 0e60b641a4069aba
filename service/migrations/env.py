"""Alembic environment: the metadata of service.models and the database URL.

The URL comes from service.schema_version, `-x url=...`, or FIELDLINK_DATABASE_URL, in that
order.
"""

from alembic import context
from sqlalchemy import create_engine, make_url

from service import models  # noqa: F401 - registers the tables on Base.metadata
from service.config import Settings
from service.db import Base, private_sqlite_file

target_metadata = Base.metadata


def database_url() -> str:
    given: str | None = context.config.attributes.get("database_url")
    return (
        given
        or context.get_x_argument(as_dictionary=True).get("url")
        or Settings().database_url.get_secret_value()
    )


def run_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    url = make_url(database_url())
    if url.get_backend_name() == "sqlite":
        private_sqlite_file(url.database)  # `fieldlink hub init` creates hub.db here: 0600
    engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
