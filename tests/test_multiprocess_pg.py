"""Three bot processes on one PostgreSQL: each digest is claimed and sent exactly once."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import func, insert, select

from bot.storage.models import DestinationRow, DigestRunRow, SubscriptionRow
from tests.conftest import PG_ENV
from tests.delivery_helpers import FakeSource, Harness, RecordingAdapter, make_app, paper, utc
from tests.helpers import FakeClock

pytestmark = pytest.mark.skipif(
    not os.environ.get(PG_ENV),
    reason=f"needs PostgreSQL: set {PG_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/test)",
)
DESTINATIONS = 1000
DAY = date(2025, 2, 3)


async def _seed(h: Harness) -> None:
    now = h.clock()
    async with h.app.sessions.begin() as s:
        await s.execute(
            insert(DestinationRow),
            [
                {
                    "platform": "test",
                    "kind": "channel",
                    "external_id": f"C{i}",
                    "timezone": "UTC",
                    "digest_time": "09:00",
                    "digest_max": 10,
                    "min_upvotes": 0,
                    "weekdays_only": False,
                    "paused": False,
                    "alerts_mode": "daily",
                    "created_at": now,
                }
                for i in range(DESTINATIONS)
            ],
        )
        ids = (await s.scalars(select(DestinationRow.id))).all()
        await s.execute(
            insert(SubscriptionRow),
            [
                {
                    "destination_id": d,
                    "query": q,
                    "canonical": q,
                    "created_at": now,
                }
                for d in ids
                for q in ("diffusion", "video")
            ],
        )


async def test_three_processes_share_1000_digests_exactly_once(request):
    url = request.getfixturevalue("pg_database")
    from tests.conftest import _truncate

    await _truncate(url)
    source = FakeSource()
    source.delay = 0.2  # the three ingests overlap, so the lock has something to decide
    clock = FakeClock(utc(2025, 2, 3, 8, 55))
    source.feature(
        DAY,
        paper(1, "Video diffusion", upvotes=5),
        paper(2, "Diffusion policies", upvotes=9),
        paper(3, "Graph databases", upvotes=50),
    )
    # A small pool each: three processes (and whatever else runs on this server) stay far
    # below PostgreSQL's max_connections, with the sender's workers sharing six connections.
    procs = [
        Harness(make_app(url, clock, source, DATABASE_POOL_SIZE="6"), source, RecordingAdapter())
        for _ in range(3)
    ]
    try:
        await _seed(procs[0])
        ingests = await asyncio.gather(*(p.scheduler.ingest_once() for p in procs))
        assert sum(1 for r in ingests if r is not None) == 1, "more than one process ingested"
        assert sorted(source.calls) == [date(2025, 2, 2), DAY]
        clock.set(utc(2025, 2, 3, 9, 0))
        sweeps = await asyncio.gather(*(p.scheduler.sweeper.sweep() for p in procs))
        assert sum(r.queued for r in sweeps) == DESTINATIONS
        await asyncio.gather(*(p.scheduler.sender.drain() for p in procs))
        # A second round finds nothing left to do.
        again = await asyncio.gather(*(p.scheduler.sweeper.sweep() for p in procs))
        await asyncio.gather(*(p.scheduler.sender.drain() for p in procs))
        assert sum(r.queued for r in again) == 0
    finally:
        for p in procs:
            await p.app.close()
    sent = [s for p in procs for s in p.adapter.sent]
    assert len(sent) == DESTINATIONS
    assert Counter(s.destination.id for s in sent) == {f"C{i}": 1 for i in range(DESTINATIONS)}
    assert all(s.paper_ids == ["2501.00002", "2501.00001"] for s in sent)
    assert all(p.adapter.sent for p in procs), "one process did all the work"
    check = make_app(url, clock, source)
    try:
        async with check.sessions() as s:
            runs = await s.scalar(select(func.count()).select_from(DigestRunRow))
        assert runs == DESTINATIONS
    finally:
        await check.close()


async def test_a_process_sees_another_one_ingesting_without_taking_its_lock(request):
    """Instant alerts wait while any process ingests; looking must not block an ingest."""
    from bot.delivery.claims import IngestLock

    url = request.getfixturevalue("pg_database")
    source, clock = FakeSource(), FakeClock(utc(2025, 2, 3, 8, 0))
    a, b = make_app(url, clock, source), make_app(url, clock, source)
    try:
        mine, theirs = IngestLock(a.engine), IngestLock(b.engine)
        assert not await theirs.busy()
        async with mine.hold() as got:
            assert got and await theirs.busy()
        assert not await theirs.busy()
        async with theirs.hold() as got:  # looking did not leave the lock taken
            assert got
    finally:
        await a.close()
        await b.close()


async def test_an_ingest_in_another_database_of_the_server_is_not_ours(request):
    """Two deployments on one PostgreSQL server (two databases) never wait for each other:
    advisory locks belong to a database, though pg_locks lists the whole server's."""
    import uuid

    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    from bot.delivery.claims import IngestLock

    url = request.getfixturevalue("pg_database")
    other_name = f"paperbot_other_{uuid.uuid4().hex[:8]}"
    server = make_url(url)
    admin = create_async_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{other_name}"'))
    other = create_async_engine(server.set(database=other_name))
    ours = create_async_engine(url)
    try:
        async with IngestLock(other).hold() as got:
            assert got
            assert not await IngestLock(ours).busy()
            async with IngestLock(ours).hold() as also:
                assert also  # each database has its own lock
    finally:
        await ours.dispose()
        await other.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{other_name}" WITH (FORCE)'))
        await admin.dispose()
