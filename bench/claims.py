"""Benchmark outbox claims while draining a backlog: `python bench/claims.py [--items N]`.

N pending items (default 100,000) over 1,000 channels, due one millisecond apart, are
drained the way the sender's feeder does it: claim a batch (`--batch`, default 32: what the
feeder claims when its queue of 48 runs down to 16), mark them sent, claim the next. Every
claim is timed; the figures are the percentiles of the first, middle and last tenth of the
claims (at most 1,000 each), so a claim that grows with what was sent before it shows as a
rising row. The items of a batch are marked sent in one statement, with the values the
sender's `record_posted` writes, so that the sends do not dominate the drain.

The claims of the drain include their commit. Beside them, at the three points, the claim
statement of one item alone is timed `--tries` times, each rolled back, and so is the naive
baseline: the claim statement as it was (the status as a bound parameter, so no partial
index can serve it; the enabled destinations as an IN list), at the same points of the same
drain. On PostgreSQL the tables are analysed while empty, before the backlog is inserted,
and autovacuum may be off: the statistics stay stale and dead row versions pile up, as on
the measured server. With `--upkeep`, the bot's own upkeep round (bot/storage/upkeep.py,
what the scheduler runs every UPKEEP_INTERVAL_MINUTES) runs once the backlog is in, and
again every `--upkeep-every` seconds of the drain.
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
from bot.storage.outbox_repo import PIN_CLAIM_PLAN, claim_statement
from bot.storage.upkeep import Upkeep

NOW = datetime(2025, 2, 3, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=3)
WINDOW = 1_000  # claims per percentile row, at most


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


async def time_statement(app: App, stmt: object, tries: int, pin: bool = False) -> list[float]:
    """A claim statement `tries` times at this point of the drain, each rolled back (ms);
    with `pin`, after the planner settings the bot's claim makes (timed with it)."""
    out = []
    for _ in range(tries):
        async with app.sessions() as s:
            s: AsyncSession
            t0 = time.perf_counter()
            if pin and app.engine.dialect.name == "postgresql":
                await s.execute(PIN_CLAIM_PLAN)
            await s.execute(stmt)  # type: ignore[call-overload]
            out.append((time.perf_counter() - t0) * 1000)
            await s.rollback()
    return out


Points = dict[str, tuple[list[float], list[float]]]


async def mark_sent(app: App, ids: list[int]) -> None:
    """What `record_posted` writes for a completely posted item, for a batch at once."""
    async with app.sessions.begin() as s:
        await s.execute(
            update(OutboxRow)
            .where(OutboxRow.id.in_(ids))
            .values(
                message_ids=["m"],
                status=OutboxStatus.SENT,
                sent_at=NOW,
                claimed_by=None,
                claimed_until=None,
                last_error=None,
            )
        )


async def drain(
    app: App, args: argparse.Namespace, upkeep: Upkeep | None
) -> tuple[list[float], Points]:
    """Claim and send every item; the claim times (ms), and both claim statements' times
    (new, old), rolled back, at three points of the drain."""
    times: list[float] = []
    claims = -(-args.items // args.batch)
    points = {"first": 0, "middle": claims // 2, "last": max(0, claims - window(claims))}
    tried: Points = {}
    new = claim_statement("new", ["bench"], NOW, LEASE, 1)
    last_upkeep = time.perf_counter()
    while True:
        for name, at in points.items():
            if len(times) == at and name not in tried:
                both = [
                    await time_statement(app, new, args.tries, pin=True),
                    await time_statement(app, old_claim(), args.tries),
                ]
                tried[name] = (both[0], both[1])
                # As it goes: a drain with stale statistics may take long.
                print(f"{name} point, after {at} claims, rolled back:", flush=True)
                print(f"  paperbot  {pct(both[0])}\n  old claim {pct(both[1])}", flush=True)
        if upkeep is not None and time.perf_counter() - last_upkeep > args.upkeep_every:
            await report_upkeep(upkeep, f"after {len(times)} claims")
            last_upkeep = time.perf_counter()
        t0 = time.perf_counter()
        claimed = await app.outbox.claim("bench", ["bench"], NOW, LEASE, args.batch)
        times.append((time.perf_counter() - t0) * 1000)
        if not claimed:
            return times[:-1], tried
        await mark_sent(app, [c.item.id for c in claimed])


def window(claims: int) -> int:
    return max(1, min(WINDOW, claims // 10))


async def report_upkeep(upkeep: Upkeep, when: str) -> None:
    r = await upkeep.run()
    print(
        f"upkeep {when}: {r.seconds * 1000:.0f} ms, vacuumed {list(r.vacuumed)}, "
        f"analysed {list(r.analyzed)}"
    )


def pct(ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else ms * 99
    return f"p50 {statistics.median(ms):6.2f}  p95 {q[94]:6.2f}  max {max(ms):6.2f} ms"


async def explain(app: App, label: str) -> None:
    """The plan of the claim itself (EXPLAIN of the statement the bot runs)."""
    if app.engine.dialect.name != "postgresql":
        return
    stmt = claim_statement("new", ["bench"], NOW, LEASE, 32)
    sql = str(stmt.compile(app.engine, compile_kwargs={"literal_binds": True}))
    await print_plan(
        app, f"the claim ({label})", sql.replace("\n", " "), lines=12, before=PIN_CLAIM_PLAN
    )


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--items", type=int, default=100_000)
    p.add_argument("--tries", type=int, default=20, help="old claims timed at each point")
    p.add_argument("--batch", type=int, default=32, help="items per claim of the drain")
    p.add_argument("--upkeep", action="store_true", help="run the bot's upkeep rounds")
    p.add_argument("--upkeep-every", type=float, default=600.0, help="seconds between rounds")
    p.add_argument("--database-url", help="an empty database; default: a fresh SQLite file")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        url = load_settings({"DATABASE_URL": url}).database_url
        await upgrade(url)
        app = build_app(load_settings({"DATABASE_URL": url}), source_name="sample")
        await seed(app, args.items)
        print(
            f"database: {app.engine.dialect.name}; {args.items} pending items; "
            f"claims of {args.batch}; upkeep {'on' if args.upkeep else 'off'}"
        )
        await explain(app, "statistics of the empty tables")
        upkeep = Upkeep(app.engine) if args.upkeep else None
        if upkeep is not None:
            await report_upkeep(upkeep, "once the backlog is in")
            await explain(app, "after the upkeep")
        t0 = time.perf_counter()
        times, tried = await drain(app, args, upkeep)
        took = time.perf_counter() - t0
        n = len(times)
        assert n == -(-args.items // args.batch), n
        w = window(n)
        rows = {"first": times[:w], "middle": times[n // 2 : n // 2 + w], "last": times[-w:]}
        print(f"claim times ({w} claims a row); rolled back: one item's claim alone, at that point")
        for name, ms in rows.items():
            new, old = tried[name]
            print(f"{name:6} drain {pct(ms)} | rolled back: paperbot {pct(new)}")
            print(f"{'':6} {'':47} | old claim {pct(old)}")
        if app.engine.dialect.name == "postgresql":
            await explain(app, "at the end of the drain")

        print(f"drained {args.items} items in {n} claims in {took:.1f} s ({n / took:.0f} claims/s)")
        await app.close()


if __name__ == "__main__":
    asyncio.run(main())
