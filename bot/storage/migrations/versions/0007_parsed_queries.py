"""subscriptions: the parsed query, stored so that no run parses saved queries again

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 23:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1_000


def upgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parsed", sa.JSON(), nullable=True))
    _backfill()


def _backfill() -> None:
    """Parse every saved query once, now; one that no longer parses stays NULL."""
    from bot.query import QueryError, parse_query
    from bot.query.stored import dump

    subs = sa.table(
        "subscriptions", sa.column("id", sa.Integer), sa.column("query", sa.Text),
        sa.column("parsed", sa.JSON),
    )
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.select(subs.c.id, subs.c.query).where(subs.c.id > last).order_by(subs.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        values = []
        for sub_id, text in rows:
            try:
                values.append({"b_id": sub_id, "b_parsed": dump(parse_query(text))})
            except QueryError:
                continue
        if values:
            conn.execute(
                subs.update()
                .where(subs.c.id == sa.bindparam("b_id"))
                .values(parsed=sa.bindparam("b_parsed")),
                values,
            )
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_column("parsed")
