"""installations and oauth_states (Slack's OAuth installs); Slack destinations keyed by workspace

Slack channel and user ids are unique only within a workspace (or an Enterprise Grid org), so
a Slack destination's external id becomes `<workspace>:<id>` (`T123:C456`), the form the
Slack adapter now gives the core. Rows from the single-workspace days carry their team id in
`workspace_id` and are rewritten here; a row without one is left as it was (the adapter
still reads a bare id in single-workspace mode).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 07:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "installations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform", "workspace_id", name="uq_installation_workspace"),
    )
    op.create_table(
        "oauth_states",
        sa.Column("state", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("state"),
    )
    op.create_index("ix_oauth_states_expires_at", "oauth_states", ["expires_at"])
    # `||` concatenates on SQLite and PostgreSQL alike.
    op.execute(
        "UPDATE destinations SET external_id = workspace_id || ':' || external_id "
        "WHERE platform = 'slack' AND workspace_id IS NOT NULL AND workspace_id <> '' "
        "AND external_id NOT LIKE '%:%'"
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bare = "split_part(external_id, ':', 2)"
    else:
        bare = "substr(external_id, instr(external_id, ':') + 1)"
    op.execute(
        f"UPDATE destinations SET external_id = {bare} "
        "WHERE platform = 'slack' AND external_id LIKE '%:%'"
    )
    op.drop_index("ix_oauth_states_expires_at", table_name="oauth_states")
    op.drop_table("oauth_states")
    op.drop_table("installations")
