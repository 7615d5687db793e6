"""deliveries: no per-row foreign keys; deleting a destination or a paper still clears its ledger

Recording 10,000 digests writes ~110,000 ledger rows in a few statements, and each row ran
three foreign-key triggers (a locking look-up in `destinations`, `papers`, `digest_runs`):
55-60 % of the claim statement's time, more once `destinations` holds dead row versions
(every reschedule leaves one, and autovacuum may be off). None of the three protects
anything the writes do not already guarantee:

- `run_id` -> digest_runs: the one statement (or transaction, on the portable path) that
  inserts a ledger row inserts its run first and takes the row's `run_id` from it. A run is
  deleted only by `DeliveryRepo.prune`, and never one that may have ledger rows (it keeps
  runs that counted papers), or with its destination (then its ledger goes too, below).
- `destination_id` -> destinations: the row's run has that destination, and the run's own
  foreign key (kept) checks it once per run and locks it until commit, so a destination
  cannot vanish under a claim; a concurrent delete waits for the claim, then clears all.
- `paper_id` -> papers: a ledger row's paper is a candidate the sweep read from the stored
  papers; papers are deleted only as the bundled sample, in bulk.

What the cascades did on delete stays, in triggers that cost nothing when rows are added:
deleting destinations or papers deletes their ledger rows (PostgreSQL: once per statement,
where the paper cascade scanned the whole ledger once per paper). The index on `run_id`
served only the `run_id` cascade and prune's "has ledger rows" test (which now reads the
run's own counts), and cost every ledger row an index insert: dropped.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 07:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (name, referred table, column of deliveries)
KEYS = (
    ("deliveries_destination_id_fkey", "destinations", "destination_id"),
    ("deliveries_paper_id_fkey", "papers", "paper_id"),
    ("deliveries_run_id_fkey", "digest_runs", "run_id"),
)
# (trigger, table whose deleted rows take their ledger rows along, column of deliveries)
CLEARS = (
    ("deliveries_of_destination", "destinations", "destination_id"),
    ("deliveries_of_paper", "papers", "paper_id"),
)
# SQLite's foreign keys are unnamed: batch mode finds them by this convention.
SQLITE_NAMES = {"fk": "deliveries_%(column_0_name)s_fkey"}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, _, _ in KEYS:
            op.drop_constraint(name, "deliveries", type_="foreignkey")
        op.drop_index("ix_deliveries_run_id", table_name="deliveries")
        for trigger, table, column in CLEARS:
            op.execute(
                f"""
CREATE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM deliveries WHERE {column} IN (SELECT id FROM gone);
    RETURN NULL;
END $$"""
            )
            op.execute(
                f"CREATE TRIGGER {trigger} AFTER DELETE ON {table} "
                f"REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION {trigger}()"
            )
        return
    with op.batch_alter_table("deliveries", naming_convention=SQLITE_NAMES) as batch_op:
        for name, _, _ in KEYS:
            batch_op.drop_constraint(name, type_="foreignkey")
        batch_op.drop_index("ix_deliveries_run_id")
    for trigger, table, column in CLEARS:
        op.execute(
            f"CREATE TRIGGER {trigger} AFTER DELETE ON {table} FOR EACH ROW "
            f"BEGIN DELETE FROM deliveries WHERE {column} = OLD.id; END"
        )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for trigger, table, _ in CLEARS:
        op.execute(f"DROP TRIGGER {trigger}" + (f" ON {table}" if postgres else ""))
        if postgres:
            op.execute(f"DROP FUNCTION {trigger}()")
    # Ledger rows whose run went meanwhile (none, if only the bot wrote) would refuse the key.
    op.execute("DELETE FROM deliveries WHERE run_id NOT IN (SELECT id FROM digest_runs)")
    with op.batch_alter_table("deliveries", naming_convention=SQLITE_NAMES) as batch_op:
        batch_op.create_index("ix_deliveries_run_id", ["run_id"], unique=False)
        for name, table, column in KEYS:
            batch_op.create_foreign_key(name, table, [column], ["id"], ondelete="CASCADE")
