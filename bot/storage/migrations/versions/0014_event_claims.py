"""event claims: a re-sent platform event is acted on once across processes

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 13:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_claims",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_event_claims_expires_at", "event_claims", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_event_claims_expires_at", table_name="event_claims")
    op.drop_table("event_claims")
