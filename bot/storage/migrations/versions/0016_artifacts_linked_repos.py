"""papers: the Hugging Face models, datasets and Spaces that cite each paper (counts and the
top few, as JSON) and when they were last looked up

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 13:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL: never looked up (every paper stored before); the artifact round fetches recent
    # ones first, older papers stay unknown, which has:model reads as "none". Plain ALTERs,
    # not batch mode: on SQLite a batch that rebuilds `papers` would drop the ledger trigger
    # 0011 put on it.
    op.add_column("papers", sa.Column("artifacts", sa.JSON(), nullable=True))
    op.add_column(
        "papers", sa.Column("artifacts_checked_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    # DROP COLUMN in place (SQLite 3.35+, PostgreSQL), for the same reason.
    op.execute("ALTER TABLE papers DROP COLUMN artifacts_checked_at")
    op.execute("ALTER TABLE papers DROP COLUMN artifacts")
