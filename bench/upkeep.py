"""Benchmark the idle sweep right after a full look, with and without the upkeep between:
`python bench/upkeep.py [--destinations N] [--due M] [--cycles C] [--database-url URL]`.

N channels (one subscription each), M of them with their digest at 09:00 UTC and the rest
at 21:00, one real Daily Papers day stored by the 08:30 poll (see bench/data.py), the
statistics taken while the tables were filled, autovacuum off on the measured server. A full
look of the sweep (every destination "look now", as after an upgrade or a change to all of
them) rewrites each destination's `next_due_at` and leaves a dead index entry per
destination in the range every later sweep reads. Each cycle: every destination set to look
now, the full look, then, every other cycle, the upkeep round (`Upkeep.run(force=True)`:
the VACUUM (ANALYZE) of the hot tables that the scheduler's next check would run; forced
because the bench compresses minutes into seconds and a backend's counts reach
pg_stat_user_tables up to a second late), then `--idle` idle sweeps. Cycles alternate so
that the machine's load drifts over both sides alike. Printed per side: the sweep's read of
the due destinations right after the full look (`due_destinations`, timed alone: the read
that meets the dead entries), and the whole idle sweeps after it.
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

from bench.data import add_data_option, use_data
from bench.delivery_rows import load_papers
from bench.seeding import channels_with_queries, polled
from bot.app import App, build_app
from bot.delivery.sweep import Sweeper
from bot.settings import load_settings
from bot.storage.db import upgrade
from bot.storage.destinations_repo import look_now_values
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


async def idle(sweeper: Sweeper, clock: list[datetime], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        clock[0] += timedelta(seconds=10)
        t0 = time.perf_counter()
        report = await sweeper.sweep()
        out.append((time.perf_counter() - t0) * 1000)
        assert not report.recorded and report.looked_at == 0, report
    return out


def row(name: str, ms: list[float]) -> str:
    samples = " ".join(f"{m:.1f}" for m in ms)
    return f"{name:34} median {statistics.median(ms):6.1f} ms  max {max(ms):6.1f} ms  ({samples})"


async def dead(app: App) -> int | None:
    if app.engine.dialect.name != "postgresql":
        return None
    async with app.engine.connect() as conn:
        return await conn.scalar(
            text("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'destinations'")
        )


async def run(args: argparse.Namespace, url: str) -> None:
    clock = [DAY.replace(hour=8, minute=31)]
    app = build_app(
        load_settings({"DATABASE_URL": url}), source_name="sample", clock=lambda: clock[0]
    )
    await seed(app, args.destinations, args.due, clock[0] - timedelta(minutes=30))
    sweeper, upkeep = Sweeper(app), Upkeep(app.engine)
    print(f"database: {app.engine.dialect.name}; {args.destinations} channels, {args.due} at 09:00")
    first: dict[bool, list[float]] = {False: [], True: []}
    later: dict[bool, list[float]] = {False: [], True: []}
    for cycle in range(args.cycles):
        kept = cycle % 2 == 1
        async with app.sessions.begin() as s:
            await s.execute(update(DestinationRow).values(look_now_values()))
        t0 = time.perf_counter()
        full = await sweeper.sweep()
        took = time.perf_counter() - t0
        assert full.looked_at == args.destinations, full.looked_at
        note = ""
        if kept:
            r = await upkeep.run(force=True)
            note = f"; upkeep {r.seconds * 1000:.0f} ms, vacuumed {list(r.vacuumed)}"
        dead_rows = await dead(app)
        # The sweep's own reads of the due destinations, alone: the first read after the
        # full look is the one that meets the dead entries (it marks them, later ones skip
        # them); the rest of an idle sweep is work in Python that no VACUUM changes.
        clock[0] += timedelta(seconds=10)
        t1 = time.perf_counter()
        due, _ = await app.deliveries.due_destinations(clock[0], clock[0], alerts=True)
        first[kept].append((time.perf_counter() - t1) * 1000)
        assert not due
        ms = await idle(sweeper, clock, args.idle)
        later[kept].extend(ms)
        print(
            f"cycle {cycle}: full look {took:.1f} s{note}; dead destination rows {dead_rows}; "
            f"due read {first[kept][-1]:.1f} ms; idle sweeps {' '.join(f'{m:.1f}' for m in ms)}",
            flush=True,
        )
    print(row("due read right after the full look", first[False]))
    print(row("  with the upkeep between", first[True]))
    print(row("idle sweeps after it", later[False]))
    print(row("  with the upkeep between", later[True]))
    await app.close()


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--destinations", type=int, default=100_000)
    p.add_argument("--due", type=int, default=10_000, help="channels with a digest at 09:00")
    p.add_argument("--cycles", type=int, default=10, help="full looks; every other one upkept")
    p.add_argument("--idle", type=int, default=3, help="idle sweeps after each full look")
    p.add_argument("--database-url", help="an empty database; default: a fresh SQLite file")
    add_data_option(p)
    args = p.parse_args()
    use_data(args)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        url = load_settings({"DATABASE_URL": url}).database_url
        await upgrade(url)
        await run(args, url)


if __name__ == "__main__":
    asyncio.run(main())
