"""Standing watch: a project re-runs by itself when a batch is added or replaced.

Additive only. Projects get the `watch` switch (off, as every project was until now); runs
get the upload that queued them under the watch (none: an analyst started them) and the
counts of what changed since the previous succeeded run (none for runs made before).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-21 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "projects", sa.Column("watch", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("runs", sa.Column("trigger_upload_id", sa.Uuid(), nullable=True))
    op.add_column("runs", sa.Column("changes", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("runs", "changes")
    op.drop_column("runs", "trigger_upload_id")
    op.drop_column("projects", "watch")
