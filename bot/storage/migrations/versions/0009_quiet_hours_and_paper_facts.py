"""destinations: quiet hours for instant alerts (local start and end, HH:MM); papers: the
claiming organisation's Hugging Face handle (for org: queries)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 07:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Both NULL: no quiet hours (every existing destination), so nothing to backfill.
    with op.batch_alter_table("destinations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quiet_start", sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column("quiet_end", sa.String(length=5), nullable=True))
    # NULL for papers stored before: filled by their next poll (a missing value never
    # erases a known one, and fills one that is missing).
    with op.batch_alter_table("papers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organization_handle", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("papers", schema=None) as batch_op:
        batch_op.drop_column("organization_handle")
    with op.batch_alter_table("destinations", schema=None) as batch_op:
        batch_op.drop_column("quiet_end")
        batch_op.drop_column("quiet_start")
