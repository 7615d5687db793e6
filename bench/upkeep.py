"""Benchmark the idle sweep after a full look, with and without the upkeep: `python
bench/upkeep.py [--destinations N] [--due M] [--repeat R] [--database-url URL]`.

N channels (one subscription each), M of them with their digest at 09:00 UTC and the rest
at 21:00, one real Daily Papers day stored by the 08:30 poll (see bench/data.py), the
statistics taken while the tables were being filled and never again, autovacuum off on the
measured server. The 08:31 sweep is the first after the upgrade: it looks at every
destination and rewrites each one's `next_due_at`, which leaves a dead index entry per
destination in the range every later sweep reads. Measured:
- idle, no upkeep (the baseline): R idle sweeps at 08:32.., as the bot ran before;
- the upkeep round the scheduler runs (`Upkeep.run()`: it reads the statistics and vacuums
  what they call for), timed, with what it did;
- idle after upkeep: R more idle sweeps.
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

from sqlalchemy import text, update

from bench.delivery_rows import load_papers
from bench.seeding import channels_with_queries, polled, print_plan
from bot.app import App, build_app
from bot.delivery.sweep import Sweeper
from bot.settings import load_settings
from bot.storage.db import upgrade
from bot.storage.models import DestinationRow
from bot.storage.upkeep import Upkeep

DAY = datetime(2025, 2, 3, tzinfo=UTC)
TOPICS = ["diffusion", "agent", "reasoning", "video", "LLM", "benchmark", "3D", "RL"]


async def seed(app: App, destinations: int, due: int, now: datetime) -> None:
    papers = load_papers(DAY.date())
    await channels_with_queries(app, [(TOPICS[k % len(TOPICS)],) for k in range(destinations)], now)
    async with app.sessions.begin() as s:
        first = await s.scalar(text("SELECT min(id) FROM destinations"))
        await s.execute(
            update(DestinationRow)
            .where(DestinationRow.id >= first + due)
            .values(digest_time="21:00")
        )
    await polled(app, papers, now.replace(hour=8, minute=30))
    if app.engine.dialect.name == "postgresql":
        async with app.engine.connect() as conn:
            await conn.execute(text("ANALYZE"))  # then the statistics go stale, as in life
            await conn.commit()


async def idle(
    sweeper: Sweeper, clock: list[datetime], start: datetime, repeat: int
) -> list[float]:
    out = []
    for k in range(repeat):
        clock[0] = start + timedelta(minutes=k)
        t0 = time.perf_counter()
        report = await sweeper.sweep()
        out.append((time.perf_counter() - t0) * 1000)
        assert not report.recorded and report.looked_at == 0, report
    return out


def row(name: str, ms: list[float]) -> str:
    samples = " ".join(f"{m:.1f}" for m in ms)
    return f"{name:22} median {statistics.median(ms):7.1f} ms  max {max(ms):7.1f} ms  ({samples})"


async def dead(app: App) -> str:
    if app.engine.dialect.name != "postgresql":
        return ""
    async with app.engine.connect() as conn:
        await conn.execute(text("SELECT pg_stat_force_next_flush()"))
        await conn.commit()
        n = await conn.scalar(
            text("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'destinations'")
        )
    return f" (destinations: {n} dead row versions)"


async def run(args: argparse.Namespace, url: str) -> None:
    clock = [DAY.replace(hour=8, minute=31)]
    app = build_app(
        load_settings({"DATABASE_URL": url}), source_name="sample", clock=lambda: clock[0]
    )
    await seed(app, args.destinations, args.due, clock[0] - timedelta(minutes=30))
    sweeper = Sweeper(app)
    print(f"database: {app.engine.dialect.name}; {args.destinations} channels, {args.due} at 09:00")
    t0 = time.perf_counter()
    first = await sweeper.sweep()
    took = time.perf_counter() - t0
    print(f"first sweep: looked at {first.looked_at} destinations in {took:.1f} s{await dead(app)}")
    await print_plan(
        app,
        "the due read",
        "SELECT next_due_at, id FROM destinations WHERE next_due_at <= :at "
        "ORDER BY next_due_at, id LIMIT 1000",
        {"at": DAY.replace(hour=8, minute=32)},
        lines=2,
    )
    before = await idle(sweeper, clock, DAY.replace(hour=8, minute=32), args.repeat)
    print(row("idle, no upkeep", before))
    report = await Upkeep(app.engine).run()
    print(
        f"upkeep round {report.seconds * 1000:.0f} ms: vacuumed {list(report.vacuumed)}, "
        f"analysed {list(report.analyzed)}, WAL checkpoint {report.checkpoint}{await dead(app)}"
    )
    after = await idle(sweeper, clock, DAY.replace(hour=8, minute=32 + args.repeat), args.repeat)
    print(row("idle after upkeep", after))
    await app.close()


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--destinations", type=int, default=100_000)
    p.add_argument("--due", type=int, default=10_000, help="channels with a digest at 09:00")
    p.add_argument("--repeat", type=int, default=7, help="idle sweeps measured, each side")
    p.add_argument("--database-url", help="an empty database; default: a fresh SQLite file")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        url = load_settings({"DATABASE_URL": url}).database_url
        await upgrade(url)
        await run(args, url)


if __name__ == "__main__":
    asyncio.run(main())
