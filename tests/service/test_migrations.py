from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from service import models  # noqa: F401 - registers the tables
from service.db import Base

ROOT = Path(__file__).resolve().parents[2]


def test_migrations_build_exactly_the_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    monkeypatch.setenv("FIELDLINK_DATABASE_URL", url)
    monkeypatch.chdir(ROOT)

    command.upgrade(Config(toml_file=str(ROOT / "pyproject.toml")), "head")

    engine = create_engine(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
        tables = set(inspect(connection).get_table_names())
    engine.dispose()
    assert differences == []
    assert set(Base.metadata.tables) <= tables
