"""The ledger without foreign keys (migration 0008): deletes still clear it, nothing orphans it.

The ledger's rows no longer check `destinations`, `papers` and `digest_runs` one by one;
these tests try to leave a ledger row without its destination, paper or run, on both paths.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError

import bot.storage.bulk_record as bulk_record
from bot.storage.delivery_plan import Entry
from bot.storage.kinds import RunStatus
from bot.storage.models import DeliveryRow, DestinationRow, DigestRunRow, OutboxRow
from tests.delivery_helpers import paper
from tests.test_delivery_recording import (
    IDS,
    NOW,
    _app,
    _builder,
    _check_consistent,
    _destinations,
    _plan,
    _stored,
)


async def _orphans(app: Any) -> int:
    """Ledger rows whose destination, paper or run is gone."""
    async with app.sessions() as s:
        return int(
            await s.scalar(
                text(
                    "SELECT count(*) FROM deliveries d WHERE "
                    "NOT EXISTS (SELECT 1 FROM destinations x WHERE x.id = d.destination_id) "
                    "OR NOT EXISTS (SELECT 1 FROM papers p WHERE p.id = d.paper_id) "
                    "OR NOT EXISTS (SELECT 1 FROM digest_runs r WHERE r.id = d.run_id)"
                )
            )
            or 0
        )


async def test_deleting_destinations_deletes_their_ledger_runs_and_outbox(db_url):
    app = await _app(db_url)
    ids = await _destinations(app, 4)
    await app.deliveries.record_many([(_plan(d, IDS[:6]), _builder()) for d in ids], NOW)
    async with app.sessions.begin() as s:
        await s.execute(delete(DestinationRow).where(DestinationRow.id.in_(ids[1:3])))
    runs, ledger, outbox = await _stored(app)
    kept = {ids[0], ids[3]}
    assert {r.destination_id for r in runs} == kept
    assert {row.destination_id for row in ledger} == kept and len(ledger) == 12
    assert {o.destination_id for o in outbox} == kept
    assert await _orphans(app) == 0
    await _check_consistent(app)
    await app.close()


async def test_deleting_papers_deletes_their_ledger_rows_only(db_url):
    app = await _app(db_url)
    samples = [replace(paper(n, f"Sample {n}"), id=f"sample-{n}") for n in range(3)]
    await app.papers.upsert(samples, now=NOW)
    ids = await _destinations(app, 2)
    ranked = [*IDS[:2], *(p.id for p in samples)]
    await app.deliveries.record_many([(_plan(d, ranked, cap=10), _builder()) for d in ids], NOW)
    assert await app.papers.delete_sample(only_beside_real=True) == 3
    _, ledger, _ = await _stored(app)
    assert sorted((row.destination_id, row.paper_id) for row in ledger) == sorted(
        (d, pid) for d in ids for pid in IDS[:2]
    )
    assert await _orphans(app) == 0
    await app.close()


async def test_a_claim_for_a_deleted_destination_records_nothing(db_url):
    """The run's own key still checks the destination, and the ledger rows go with it."""
    app = await _app(db_url)
    [gone, kept] = await _destinations(app, 2)
    async with app.sessions.begin() as s:
        await s.execute(delete(DestinationRow).where(DestinationRow.id == gone))
    with pytest.raises(IntegrityError):
        await app.deliveries.record_many(
            [(_plan(kept, IDS[:3]), _builder()), (_plan(gone, IDS[:3]), _builder())], NOW
        )
    assert await _stored(app) == ([], [], [])
    await app.close()


async def test_a_destination_deleted_during_a_claim_takes_the_claimed_ledger_along(db_url):
    """A delete that comes while a claim is open waits for it (the run's key locks the
    destination), then deletes what the claim recorded: no ledger row outlives it."""
    app = await _app(db_url)
    if app.engine.dialect.name != "postgresql":
        await app.close()
        pytest.skip("SQLite has one writer: a delete cannot come while a claim is open")
    [d] = await _destinations(app, 1)
    deleting: asyncio.Task[None] | None = None

    async def delete_destination() -> None:
        async with app.sessions.begin() as s:
            await s.execute(delete(DestinationRow).where(DestinationRow.id == d))

    async def blocked() -> bool:
        async with app.engine.connect() as conn:
            waiting = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query LIKE 'DELETE FROM destinations%' AND datname = current_database()"
                )
            )
        return bool(waiting)

    async with app.sessions.begin() as s:
        [recorded] = await bulk_record.record_batch(s, [(_plan(d, IDS[:5]), _builder())], NOW)
        assert recorded is not None and recorded.listed == 3
        deleting = asyncio.create_task(delete_destination())
        while not await blocked():  # the delete waits on the claim's lock...
            assert not deleting.done(), deleting
            await asyncio.sleep(0.01)
    await deleting  # ...and finishes once the claim committed
    assert await _stored(app) == ([], [], [])
    assert await _orphans(app) == 0
    await app.close()


async def test_prune_keeps_an_empty_run_that_holds_ledger_rows(db_url):
    """Prune no longer asks the ledger (no index on its run): it keeps every run that
    counted fresh papers, even one that posted nothing."""

    def nothing(listed: list[Entry], more: int) -> None:
        return None

    app = await _app(db_url)
    [d, e] = await _destinations(app, 2)
    results = await app.deliveries.record_many(
        [(_plan(d, IDS[:4]), nothing), (_plan(e, []), nothing)], NOW
    )
    assert [r.status if r else None for r in results] == [RunStatus.EMPTY, RunStatus.EMPTY]
    assert await app.deliveries.prune(NOW.replace(year=2026)) == (0, 1)
    async with app.sessions() as s:
        left = (await s.scalars(select(DigestRunRow.destination_id))).all()
        ledger = await s.scalar(select(func.count()).select_from(DeliveryRow))
        outbox = await s.scalar(select(func.count()).select_from(OutboxRow))
    assert (left, ledger, outbox) == ([d], 4, 0)
    assert await _orphans(app) == 0
    await app.close()
