"""Principal activation: a second person activates every enrolment (service.activation).

Additive only. Principals get `activated_at` and `activated_by`. Principals that exist now
are marked active (by nobody), since they were enrolled before a second person had to
activate them; a code of theirs still open makes them pending once redeemed, like every
enrolment from now on.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-22 09:00:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = service.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.add_column("principals", sa.Column("activated_at", _WHEN, nullable=True))
    op.add_column("principals", sa.Column("activated_by", sa.Uuid(), nullable=True))
    principals = sa.table("principals", sa.column("activated_at", _WHEN))
    op.execute(sa.update(principals).values(activated_at=datetime.now(UTC)))


def downgrade() -> None:
    op.drop_column("principals", "activated_by")
    op.drop_column("principals", "activated_at")
