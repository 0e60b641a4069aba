import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import create_engine, inspect, select
from sqlalchemy.orm import Session

from service import models  # noqa: F401 - registers the tables
from service.auth import Role
from service.config import Settings
from service.db import Base, UTCDateTime, make_engine
from service.main import create_app
from service.models import AcceptedContent, Agency, utcnow
from service.schema_version import alembic_config
from tests.service.batch_files import ARROW, as_file, make_batch
from tests.service.factories import FINGERPRINT, KEY_CHECK, bearer, make_principal, make_project

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


def _table(table: str, /, **columns: sa.types.TypeEngine[Any]) -> sa.TableClause:
    return sa.table(table, *(sa.column(column, kind) for column, kind in columns.items()))


def _hub_before_probing_controls(url: str) -> dict[str, uuid.UUID]:
    """A hub database at revision 0003 with a project of two agencies and one upload."""
    command.upgrade(alembic_config(url), "0003")
    ids = {name: uuid.uuid4() for name in ("politie", "kmar", "project", "officer", "upload")}
    now = utcnow()
    engine = create_engine(url)
    with engine.begin() as connection:
        agencies = _table("agencies", id=sa.Uuid(), name=sa.String())
        connection.execute(
            sa.insert(agencies), [{"id": ids[n], "name": n} for n in ("politie", "kmar")]
        )
        projects = _table(
            "projects",
            id=sa.Uuid(),
            name=sa.String(),
            purpose=sa.String(),
            legal_basis=sa.String(),
            schema_fingerprint=sa.String(),
            key_check=sa.String(),
            min_agencies=sa.Integer(),
            expires_at=UTCDateTime(),
            created_at=UTCDateTime(),
        )
        connection.execute(
            sa.insert(projects).values(
                id=ids["project"],
                name="Old",
                purpose="p",
                legal_basis="b",
                schema_fingerprint=FINGERPRINT,
                key_check=KEY_CHECK,
                min_agencies=2,
                expires_at=now + timedelta(days=30),
                created_at=now,
            )
        )
        members = _table("project_agencies", project_id=sa.Uuid(), agency_id=sa.Uuid())
        connection.execute(
            sa.insert(members),
            [{"project_id": ids["project"], "agency_id": ids[n]} for n in ("politie", "kmar")],
        )
        principals = _table(
            "principals", id=sa.Uuid(), agency_id=sa.Uuid(), name=sa.String(), role=sa.String()
        )
        connection.execute(
            sa.insert(principals).values(
                id=ids["officer"], agency_id=ids["kmar"], name="o", role="data_officer"
            )
        )
        uploads = _table(
            "uploads",
            id=sa.Uuid(),
            project_id=sa.Uuid(),
            agency_id=sa.Uuid(),
            uploaded_by=sa.Uuid(),
            digest=sa.String(),
            record_count=sa.Integer(),
            filter_bits=sa.Integer(),
            size_bytes=sa.Integer(),
            storage_key_id=sa.String(),
            created_at=UTCDateTime(),
        )
        connection.execute(
            sa.insert(uploads).values(
                id=ids["upload"],
                project_id=ids["project"],
                agency_id=ids["kmar"],
                uploaded_by=ids["officer"],
                digest="d" * 64,
                record_count=7,
                filter_bits=1024,
                size_bytes=1,
                storage_key_id="k",
                created_at=now,
            )
        )
    engine.dispose()
    return ids


def test_the_probing_controls_migration_keeps_old_projects_as_they_were(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    ids = _hub_before_probing_controls(url)

    command.upgrade(alembic_config(url), "head")

    settings = Settings(database_url=SecretStr(url), data_dir=tmp_path / "data", run_workers=0)
    engine = make_engine(settings)
    with Session(engine, expire_on_commit=False) as session:
        politie = session.get(Agency, ids["politie"])
        assert politie is not None
        _, token = make_principal(session, politie, role=Role.DATA_OFFICER)
        counted = session.scalars(select(AcceptedContent)).all()
        new = make_project(session, [politie], name="New", require_salted_encodings=True)
        with TestClient(create_app(settings, engine=engine)) as client:
            old = client.get(f"/v1/projects/{ids['project']}", headers=bearer(token)).json()
            unsalted = as_file(make_batch("politie", records=10))
            response = client.post(
                f"/v1/projects/{ids['project']}/uploads",
                content=unsalted,
                headers=bearer(token) | ARROW,
            )
    engine.dispose()
    assert old["require_salted_encodings"] is False
    assert old["upload_budget_records"] is None
    assert (old["max_near_duplicate_share"], old["min_fill_share"]) == (0.15, 0.05)
    assert response.status_code == 201, response.text
    assert [(c.agency_id, c.digest, c.record_count) for c in counted] == [
        (ids["kmar"], "d" * 64, 7)
    ]
    assert new.require_salted_encodings is True
