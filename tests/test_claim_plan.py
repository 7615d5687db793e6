"""The outbox claim reads its own index in order whatever PostgreSQL's statistics say.

With autovacuum off, the statistics can be those of an empty outbox long after a backlog
piled up; the planner then chose a bitmap scan of every pending item and a sort, so each
claim cost the whole backlog (measured: 0.5 s a claim at 100,000 items). The claim's
transaction pins the plan (`PIN_CLAIM_PLAN`); this checks the plan it gets and the claim.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bench.claims import LEASE, NOW, seed
from bot.app import build_app
from bot.settings import load_settings
from bot.storage.outbox_repo import PIN_CLAIM_PLAN, claim_statement
from tests.conftest import _truncate


@pytest.fixture
async def stale_backlog(pg_database: str | None):
    if pg_database is None:
        pytest.skip("PostgreSQL not configured (set PAPERBOT_TEST_POSTGRES_URL)")
    await _truncate(pg_database)
    app = build_app(load_settings({"DATABASE_URL": pg_database}), source_name="sample")
    await seed(app, 5_000)  # ANALYZE while the outbox is empty, then 5,000 pending items
    yield app
    await app.close()


async def plan(app, before: object | None) -> str:
    stmt = claim_statement("me", ["bench"], NOW, LEASE, 32)
    sql = str(stmt.compile(app.engine, compile_kwargs={"literal_binds": True}))
    async with app.engine.begin() as conn:
        if before is not None:
            await conn.execute(before)
        rows = (await conn.execute(text(f"EXPLAIN {sql}"))).scalars().all()
        await conn.rollback()
    return "\n".join(rows)


@pytest.mark.postgres
async def test_the_claim_reads_its_index_in_order_with_an_empty_outbox_s_statistics(
    stale_backlog,
) -> None:
    pinned = await plan(stale_backlog, PIN_CLAIM_PLAN)
    assert "Index Scan using ix_outbox_claim" in pinned
    assert "Sort" not in pinned and "Bitmap" not in pinned and "Seq Scan" not in pinned
    claimed = await stale_backlog.outbox.claim("me", ["bench"], NOW, LEASE, 32)
    assert [c.item.key for c in claimed] == [f"bench{k}" for k in range(32)]  # claim order
