"""Key distribution and sealed disclosure: public keys, wrapped keys, epochs, approvals.

Additive only: four new tables, and new columns that existing rows fill as they were
before (epoch 1, no step-up approval; uploads and runs from before keep NULL).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 04:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _add_columns()
    _key_tables()
    _approval_table()
    # Every existing project is at epoch 1 with the key check value it was created with.
    op.execute(
        "INSERT INTO project_key_epochs (project_id, epoch, key_check, created_at) "
        "SELECT id, 1, key_check, created_at FROM projects"
    )


def _add_columns() -> None:
    op.add_column(
        "projects", sa.Column("key_epoch", sa.Integer(), nullable=False, server_default="1")
    )
    op.add_column("projects", sa.Column("key_label", sa.String(length=200), nullable=True))
    op.add_column(
        "projects",
        sa.Column("disclosure_approval", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("uploads", sa.Column("key_check", sa.String(length=16), nullable=True))
    op.add_column("runs", sa.Column("upload_digests", sa.JSON(), nullable=True))


def _key_tables() -> None:
    op.create_table(
        "project_key_epochs",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("key_check", sa.String(length=16), nullable=False),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project_id", "epoch"),
    )
    op.create_table(
        "agency_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum("agency", "team", name="key_kind", native_enum=False),
            nullable=False,
        ),
        sa.Column("owner", sa.String(length=80), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["principals.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_agency_keys_owner", "agency_keys", ["agency_id", "project_id", "kind"], unique=False
    )
    op.create_table(
        "wrapped_keys",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("recipient_key_id", sa.String(length=16), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["principals.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project_id", "agency_id", "epoch"),
    )


def _approval_table() -> None:
    op.create_table(
        "disclosure_approvals",
        sa.Column("hit_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("approved_by", sa.Uuid(), nullable=False),
        sa.Column("approved_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"]),
        sa.ForeignKeyConstraint(["approved_by"], ["principals.id"]),
        sa.ForeignKeyConstraint(["hit_id"], ["hits.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("hit_id", "agency_id"),
    )


def downgrade() -> None:
    op.drop_table("disclosure_approvals")
    op.drop_table("wrapped_keys")
    op.drop_index("ix_agency_keys_owner", table_name="agency_keys")
    op.drop_table("agency_keys")
    op.drop_table("project_key_epochs")
    op.drop_column("runs", "upload_digests")
    op.drop_column("uploads", "key_check")
    op.drop_column("projects", "disclosure_approval")
    op.drop_column("projects", "key_label")
    op.drop_column("projects", "key_epoch")
