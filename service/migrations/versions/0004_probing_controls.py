"""Probing controls at upload: per-project settings and the record counts budgets count.

Additive only. Existing projects keep behaving as before: no upload budget, unsalted
encodings still accepted (`require_salted_encodings` false); the near-duplicate and fill
rules apply to them with their defaults. Projects created afterwards require salted
encodings (the model's default). Every upload stored now is entered in `accepted_contents`
under its file digest, so the budget counts what the agencies hold at the hub today;
uploads deleted before this migration are not known and not counted.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _project_settings()
    op.create_table(
        "accepted_contents",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("record_count", sa.BigInteger(), nullable=False),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project_id", "agency_id", "digest"),
    )
    # (project, agency, digest) is unique among uploads, so each stored upload is one entry.
    op.execute(
        "INSERT INTO accepted_contents (project_id, agency_id, digest, record_count, created_at) "
        "SELECT project_id, agency_id, digest, record_count, created_at FROM uploads"
    )


def _project_settings() -> None:
    op.add_column("projects", sa.Column("upload_budget_records", sa.BigInteger(), nullable=True))
    op.add_column(
        "projects",
        sa.Column("max_near_duplicate_share", sa.Double(), nullable=False, server_default="0.15"),
    )
    op.add_column(
        "projects", sa.Column("min_fill_share", sa.Double(), nullable=False, server_default="0.05")
    )
    op.add_column(
        "projects",
        sa.Column(
            "require_salted_encodings", sa.Boolean(), nullable=False, server_default=sa.false()
        ),
    )


def downgrade() -> None:
    op.drop_table("accepted_contents")
    op.drop_column("projects", "require_salted_encodings")
    op.drop_column("projects", "min_fill_share")
    op.drop_column("projects", "max_near_duplicate_share")
    op.drop_column("projects", "upload_budget_records")
