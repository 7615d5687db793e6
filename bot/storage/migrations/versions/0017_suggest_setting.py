"""suggest setting: a person's choice of "You may also like" in their alerts

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL: not chosen, so the default applies (on once the person has rated 5 papers).
    with op.batch_alter_table("taste_settings") as batch:
        batch.add_column(sa.Column("suggest", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("taste_settings") as batch:
        batch.drop_column("suggest")
