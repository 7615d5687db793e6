"""title_index: the last title index built, so that a one-shot `paperbot lookup` reuses it

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 07:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nothing to backfill: the first title look-up after the upgrade builds and stores it.
    op.create_table(
        "title_index",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("title_index")
