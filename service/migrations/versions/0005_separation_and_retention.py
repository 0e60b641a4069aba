"""Separation of duties and retention: enrolment codes, disabled principals, and more.

Also dual-control membership, the acting token in the audit log, purged projects and
their receipts. Additive only. Existing team members stay members: they are marked confirmed now (by
nobody), since they were added before a second person had to confirm. Existing audit
entries keep no token id; their hashes do not cover one (linkage.audit). Suspect notes
stored before are sealed by `fieldlink hub init`, which has the hub's storage key.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08 09:00:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = service.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.add_column("principals", sa.Column("disabled_at", _WHEN, nullable=True))
    op.add_column("projects", sa.Column("purged_at", _WHEN, nullable=True))
    op.add_column("audit_entries", sa.Column("token_id", sa.Uuid(), nullable=True))
    _membership_columns()
    op.create_table(
        "enrolment_codes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("principal_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("expires_at", _WHEN, nullable=False),
        sa.Column("redeemed_at", _WHEN, nullable=True),
        sa.Column("token_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["principal_id"], ["principals.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], ["principals.id"]),
        sa.ForeignKeyConstraint(["token_id"], ["api_tokens.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
    )
    op.create_index("ix_enrolment_codes_principal_id", "enrolment_codes", ["principal_id"])
    op.create_table(
        "purge_receipts",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("purged_at", _WHEN, nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project_id"),
    )


def _membership_columns() -> None:
    for name, kind in (
        ("added_by", sa.Uuid()),
        ("added_at", _WHEN),
        ("confirmed_by", sa.Uuid()),
        ("confirmed_at", _WHEN),
    ):
        op.add_column("project_members", sa.Column(name, kind, nullable=True))
    members = sa.table("project_members", sa.column("confirmed_at", _WHEN))
    op.execute(sa.update(members).values(confirmed_at=datetime.now(UTC)))


def downgrade() -> None:
    op.drop_table("purge_receipts")
    op.drop_index("ix_enrolment_codes_principal_id", table_name="enrolment_codes")
    op.drop_table("enrolment_codes")
    for name in ("confirmed_at", "confirmed_by", "added_at", "added_by"):
        op.drop_column("project_members", name)
    op.drop_column("audit_entries", "token_id")
    op.drop_column("projects", "purged_at")
    op.drop_column("principals", "disabled_at")
