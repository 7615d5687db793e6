"""Benchmark outbox claims while draining a backlog: `python bench/claims.py [--items N]`.

N pending items (default 100,000) over 1,000 channels, due one millisecond apart, are
drained the way the sender does it: claim one item, mark it sent, claim the next. Every
claim is timed; the figures are the percentiles of the first, middle and last 1,000
claims, so a claim that grows with what was sent before it shows as a rising row.

The claims of the drain include their commit. Beside them, at the three points, the claim
statement alone is timed `--tries` times, each rolled back, and so is the naive baseline:
the claim statement as it was (the status as a bound parameter, so
no partial index can serve it; the enabled destinations as an IN list), at the same points
of the same drain. On PostgreSQL the tables are
analysed while empty, before the backlog is inserted, and autovacuum may be off: the
statistics stay stale and dead row versions pile up, as on the measured server.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import and_, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bench.seeding import CHUNK, channels_with_queries, print_plan
from bot.app import App, build_app
from bot.settings import load_settings
from bot.storage.db import upgrade
from bot.storage.kinds import OutboxStatus, RunKind, RunStatus
from bot.storage.models import DestinationRow, DigestRunRow, OutboxRow
from bot.storage.outbox_repo import PostedParts, claim_statement

NOW = datetime(2025, 2, 3, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=3)
WINDOW = 1_000  # claims per percentile row


async def seed(app: App, items: int) -> None:
    await channels_with_queries(app, [()] * 1_000, NOW)
    if app.engine.dialect.name == "postgresql":
        async with app.engine.connect() as conn:
            await conn.execute(text("ANALYZE"))  # the statistics of an empty outbox
    async with app.sessions.begin() as s:
        dests = (await s.scalars(select(DestinationRow.id).order_by(DestinationRow.id))).all()
        for start in range(0, items, CHUNK):
            ks = range(start, min(items, start + CHUNK))
            runs = [run_row(k, dests[k % len(dests)]) for k in ks]
            result = await s.execute(
                insert(DigestRunRow).returning(
                    DigestRunRow.id, DigestRunRow.destination_id, sort_by_parameter_order=True
                ),
                runs,
            )
            pairs = result.all()
            await s.execute(
                insert(OutboxRow), [item_row(k, *p) for k, p in zip(ks, pairs, strict=True)]
            )


def run_row(k: int, destination_id: int) -> dict[str, object]:
    return {
        "destination_id": destination_id,
        "slot": f"bench-{k}",
        "kind": RunKind.DIGEST,
        "window_start": NOW,
        "horizon": NOW,
        "status": RunStatus.QUEUED,
        "created_at": NOW,
    }


def item_row(k: int, run_id: int, destination_id: int) -> dict[str, object]:
    return {
        "run_id": run_id,
        "destination_id": destination_id,
        "platform": "bench",
        "key": f"bench{k}",
        "payload": {"notice": "bench"},
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": NOW - timedelta(hours=2) + timedelta(milliseconds=k),
        "message_ids": [],
        "created_at": NOW,
    }


def old_claim() -> object:
    """The claim statement before the claim index (bot/storage/outbox_repo.py, 2026-12-01)."""
    due = and_(
        OutboxRow.status == OutboxStatus.PENDING,
        OutboxRow.next_attempt_at <= NOW,
        OutboxRow.platform.in_(["bench"]),
        or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < NOW),
        OutboxRow.destination_id.in_(
            select(DestinationRow.id).where(DestinationRow.disabled_reason.is_(None))
        ),
    )
    pick = (
        select(OutboxRow.id)
        .where(due)
        .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
        .limit(1)
        .with_for_update(skip_locked=True, of=OutboxRow)
    )
    return (
        update(OutboxRow)
        .where(OutboxRow.id.in_(pick.scalar_subquery()))
        .values(claimed_by="old", claimed_until=NOW + LEASE)
        .returning(OutboxRow.id)
    )


async def time_statement(app: App, stmt: object, tries: int) -> list[float]:
    """A claim statement `tries` times at this point of the drain, each rolled back (ms)."""
    out = []
    for _ in range(tries):
        async with app.sessions() as s:
            s: AsyncSession
            t0 = time.perf_counter()
            await s.execute(stmt)  # type: ignore[call-overload]
            out.append((time.perf_counter() - t0) * 1000)
            await s.rollback()
    return out


Points = dict[str, tuple[list[float], list[float]]]


async def drain(app: App, items: int, tries: int) -> tuple[list[float], Points]:
    """Claim and send every item; the claim times (ms), and both claim statements' times
    (new, old), rolled back, at three points of the drain."""
    times: list[float] = []
    points = {"first": 0, "middle": items // 2, "last": max(0, items - WINDOW)}
    tried: Points = {}
    new = claim_statement("new", ["bench"], NOW, LEASE, 1)
    while True:
        for name, at in points.items():
            if len(times) == at and name not in tried:
                both = [await time_statement(app, stmt, tries) for stmt in (new, old_claim())]
                tried[name] = (both[0], both[1])
        t0 = time.perf_counter()
        claimed = await app.outbox.claim("bench", ["bench"], NOW, LEASE, 1)
        times.append((time.perf_counter() - t0) * 1000)
        if not claimed:
            return times[:-1], tried
        c = claimed[0]
        await app.outbox.record_posted(
            PostedParts(c.item.id, c.destination.id, ["m"], complete=True), NOW
        )


def pct(ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else ms * 99
    return f"p50 {statistics.median(ms):6.2f}  p95 {q[94]:6.2f}  max {max(ms):6.2f} ms"


async def explain(app: App) -> None:
    pick = (
        "SELECT id FROM outbox WHERE outbox.status = 'pending' AND next_attempt_at <= now() "
        "ORDER BY next_attempt_at, id LIMIT 1"
    )
    await print_plan(app, "the claim's pick", pick)


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--items", type=int, default=100_000)
    p.add_argument("--tries", type=int, default=20, help="old claims timed at each point")
    p.add_argument("--database-url", help="an empty database; default: a fresh SQLite file")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        url = load_settings({"DATABASE_URL": url}).database_url
        await upgrade(url)
        app = build_app(load_settings({"DATABASE_URL": url}), source_name="sample")
        await seed(app, args.items)
        print(f"database: {app.engine.dialect.name}; {args.items} pending items")
        await explain(app)
        t0 = time.perf_counter()
        times, tried = await drain(app, args.items, args.tries)
        took = time.perf_counter() - t0
        assert len(times) == args.items, len(times)
        n = len(times)
        rows = {"first": times[:WINDOW], "middle": times[n // 2 : n // 2 + WINDOW]}
        rows["last"] = times[-WINDOW:]
        print("claim times; rolled back: the statement alone, tried at that point")
        for name, ms in rows.items():
            new, old = tried[name]
            print(f"{name:6} drain {pct(ms)} | rolled back: paperbot {pct(new)}")
            print(f"{'':6} {'':47} | old claim {pct(old)}")

        print(f"drained {n} items in {took:.1f} s ({n / took:.0f} claims + sends per s)")
        await app.close()


if __name__ == "__main__":
    asyncio.run(main())
