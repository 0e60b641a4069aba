"""Uploads keep their content digest, so a run can read them without their filters.

Additive only. `uploads.content_digest` is `service.probing.content_digest` of the batch,
computed on admission (it was computed then and kept for the upload budget alone). A run
orders its batches by it (`service.matching.canonical`); with it stored, a run reads an
upload of group filters as family digests (`linkage.batch_stream.read_for_matching`).
Uploads stored before have none, and runs read them whole as before.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-23 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("uploads", sa.Column("content_digest", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("uploads", "content_digest")
