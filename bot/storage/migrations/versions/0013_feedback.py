"""feedback: per-person ratings and saves, and ranking preferences per destination

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 07:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ratings",
        sa.Column("platform", sa.String(16), primary_key=True),
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column(
            "paper_id",
            sa.String(32),
            sa.ForeignKey("papers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("value", sa.SmallInteger(), nullable=False),
        sa.Column("place_id", sa.String(64), nullable=True),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ratings_place", "ratings", ["platform", "place_id"])
    op.create_table(
        "saves",
        sa.Column("platform", sa.String(16), primary_key=True),
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column(
            "paper_id",
            sa.String(32),
            sa.ForeignKey("papers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("place_id", sa.String(64), nullable=True),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "taste_settings",
        sa.Column("platform", sa.String(16), primary_key=True),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("external_id", sa.String(64), primary_key=True),
        sa.Column("digest_rank", sa.String(12), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("taste_settings")
    op.drop_table("saves")
    op.drop_index("ix_ratings_place", table_name="ratings")
    op.drop_table("ratings")
