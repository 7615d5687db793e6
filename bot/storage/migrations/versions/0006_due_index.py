"""destinations: when the sweep next looks at each one; outbox: an index fit for claims

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every destination starts at "look now" (the epoch, bot.storage.models.LOOK_NOW): the
    # first sweep looks at each once and stores when it is due next. The server default is
    # for rows inserted by hand; SQLite compares the stored text, so it is written as
    # SQLAlchemy writes datetimes there.
    sqlite = op.get_bind().dialect.name == "sqlite"
    look_now = "1970-01-01 00:00:00.000000" if sqlite else "1970-01-01 00:00:00+00"
    with op.batch_alter_table("destinations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "next_due_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.text(f"'{look_now}'"),
            )
        )
        batch_op.add_column(sa.Column("alert_mark", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("due_version", sa.Integer(), nullable=False, server_default="0")
        )
    # With the id: the sweep pages through them in this order (keyset), which the planner
    # serves from the index whatever its statistics say.
    op.create_index("ix_destinations_next_due_at", "destinations", ["next_due_at", "id"])
    op.create_index("ix_destinations_alert_mark", "destinations", ["alert_mark", "id"])
    # Exactly the claim's predicate and order (OutboxRepo.claim): only items waiting to be
    # sent are in it, so a claim reads its first few entries however many were sent.
    op.create_index(
        "ix_outbox_claim",
        "outbox",
        ["next_attempt_at", "id"],
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_claim", table_name="outbox")
    op.drop_index("ix_destinations_alert_mark", table_name="destinations")
    op.drop_index("ix_destinations_next_due_at", table_name="destinations")
    with op.batch_alter_table("destinations", schema=None) as batch_op:
        batch_op.drop_column("due_version")
        batch_op.drop_column("alert_mark")
        batch_op.drop_column("next_due_at")
