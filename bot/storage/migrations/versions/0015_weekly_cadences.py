"""destinations: a weekly digest cadence (the weekday of the digest; NULL: daily);
subscriptions: trending ("--when-crossed") subscriptions, which post a paper once its
upvotes reach the query's threshold

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 13:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL: the daily cadence, which every existing destination keeps; nothing to backfill.
    with op.batch_alter_table("destinations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("digest_weekday", sa.SmallInteger(), nullable=True))
    # False: every existing subscription is an ordinary one.
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("when_crossed", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+), not batch mode: on SQLite that copies
    # the table, which would drop the ledger-clearing trigger on destinations (0011).
    op.execute("ALTER TABLE subscriptions DROP COLUMN when_crossed")
    op.execute("ALTER TABLE destinations DROP COLUMN digest_weekday")
