"""Benchmark the minute sweep: `python bench/sweep.py [--destinations N] [--due M]`.

N channels (two subscriptions each, drawn from a pool of topic words and title words of
real papers), of which M have their digest at 09:00 UTC and the rest at 21:00; one real
Daily Papers day (the fullest of the last 30 files in --data DIR, see
bench/data.py) stored by the 08:30 poll. Measured, each beside the naive baseline in the
same run, the old full-load sweep (every active destination and subscription through the
ORM, every schedule evaluated, each minute):
- first: the first sweep after the upgrade, which looks at every destination once;
- idle: sweeps at 08:32..08:36, when nothing is due;
- compose: the 09:00 sweep that composes the M digests (the baseline composes them first,
  recording them row by row as before, its runs are deleted, then the bot's sweep composes
  them again on the same data); the bot's time is also given by step;
- after: the 09:01 sweep.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import delete, event, text, update

from bench.data import add_data_option, use_data
from bench.delivery_rows import load_papers
from bench.seeding import channels_with_queries, polled, print_plan
from bot.app import App, build_app
from bot.delivery.digest import Candidates, Occasion
from bot.delivery.planning import Rules, special_occasions, split, triage
from bot.delivery.sweep import Sweeper, SweepReport
from bot.papers import Paper
from bot.settings import load_settings
from bot.storage.db import upgrade
from bot.storage.delivery_plan import PayloadBuilder, Recorded, RunPlan
from bot.storage.delivery_repo import DeliveryRepo
from bot.storage.due_reads import DueDestination, NextLook
from bot.storage.models import DeliveryRow, DestinationRow, DigestRunRow, OutboxRow

DAY = datetime(2025, 2, 3, tzinfo=UTC)
TOPICS = ["diffusion", "agent", "reasoning", "video", "LLM", "benchmark", "3D", "RL"]


class RowByRowDeliveries(DeliveryRepo):
    """The recording as it was: row by row (executemany), 200 runs per transaction."""

    async def _bulk(self) -> bool:
        return False


class FullLoadSweeper(Sweeper):
    """The sweep as it was: every active destination loaded (ORM rows) and evaluated each
    minute, its digests recorded row by row."""

    def __init__(self, app: App):
        super().__init__(app)
        self.repo = RowByRowDeliveries(app.sessions)

    async def sweep(self, *, alerts: bool = True) -> SweepReport:
        rules = Rules.of(
            self.app.settings, await self.app.state.ingest_status(), self.app.clock(), alerts
        )
        report = SweepReport()
        destinations = await self.repo.active_destinations()
        report.looked_at = len(destinations)
        parts = split(destinations, rules)
        last = await self.repo.last_horizons(
            [d.id for d in parts.special] + [o.destination.id for o in parts.daily]
        )
        latest = await self.repo.latest_seen(rules.horizon) if parts.special else None
        occasions = special_occasions(parts.special, rules, latest, last)
        keys = [(o.destination.id, o.slot) for o in [*occasions, *parts.daily]]
        taken = await self.repo.taken_slots(keys)
        ready = triage(parts.daily, taken, rules).ready
        todo = [o for o in occasions if (o.destination.id, o.slot) not in taken]
        await self._compose([*todo, *ready], rules.horizon, last, report)
        return report


class TimedDeliveries(DeliveryRepo):
    """The bot's repository, noting the time its sweep spends in each step."""

    def __init__(self, app: App, phases: dict[str, float]):
        super().__init__(app.sessions)
        self.phases = phases

    async def due_destinations(
        self, now: datetime, horizon: datetime, *, alerts: bool
    ) -> tuple[list[DueDestination], datetime | None]:
        with timing(self.phases, "read"):
            return await super().due_destinations(now, horizon, alerts=alerts)

    async def record_many(
        self, plans: Sequence[tuple[RunPlan, PayloadBuilder]], now: datetime
    ) -> list[Recorded | None]:
        with timing(self.phases, "record"):
            return await super().record_many(plans, now)

    async def reschedule(self, looks: Sequence[NextLook]) -> int:
        with timing(self.phases, "reschedule"):
            return await super().reschedule(looks)


class TimedSweeper(Sweeper):
    """The bot's sweep, with the time of each step (read, candidates, record, reschedule)."""

    def __init__(self, app: App):
        super().__init__(app)
        self.phases: dict[str, float] = defaultdict(float)
        self.repo = TimedDeliveries(app, self.phases)

    async def _candidates(
        self,
        occasions: list[Occasion],
        horizon: datetime,
        last: dict[int, datetime],
        *,
        sweeping: bool = False,
    ) -> tuple[list[tuple[datetime, Candidates]], dict[str, Paper]]:
        with timing(self.phases, "candidates"):
            return await super()._candidates(occasions, horizon, last, sweeping=sweeping)


@contextmanager
def statement_times(app: App, into: dict[str, float]) -> Iterator[None]:
    """Add the time each kind of statement takes (from send to result) to `into`."""
    engine = app.engine.sync_engine

    def before(conn: Any, _cursor: Any, _sql: str, *_: Any) -> None:
        conn.info["bench_t0"] = time.perf_counter()

    def after(conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        into[f"sql {statement_kind(sql)}"] += time.perf_counter() - conn.info.pop("bench_t0")

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def statement_kind(sql: str) -> str:
    if "INSERT INTO deliveries" in sql:
        return "claim+ledger" if "INSERT INTO digest_runs" in sql else "INSERT deliveries"
    if "INSERT INTO outbox" in sql:
        return "outbox"
    words = sql.split()
    table = next((w for w in words[1:] if w.islower() and w.isidentifier()), "")
    return f"{words[0]} {table}".strip() if words else "?"


def load() -> str:
    """The machine's load average: the figures mean little without it on a shared machine."""
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


@contextmanager
def timing(phases: dict[str, float], name: str) -> Iterator[None]:
    t0 = time.perf_counter()
    try:
        yield
    finally:
        phases[name] += time.perf_counter() - t0


def query_pool(papers: list) -> list[str]:
    words = sorted({w for p in papers for w in p.title.split() if w.isalpha() and len(w) > 5})
    return TOPICS + words[:400]


async def seed(app: App, args: argparse.Namespace, now: datetime) -> None:
    papers = load_papers(DAY.date())
    pool = query_pool(papers)
    pairs = [(pool[k % len(pool)], pool[(k * 7 + 3) % len(pool)]) for k in range(args.destinations)]
    # Set up half an hour before: nothing is owed before the 09:00 digest.
    await channels_with_queries(app, pairs, now - timedelta(minutes=30))
    async with app.sessions.begin() as s:
        first = await s.scalar(text("SELECT min(id) FROM destinations"))
        await s.execute(
            update(DestinationRow)
            .where(DestinationRow.id >= first + args.due)
            .values(digest_time="21:00")
        )
    await polled(app, papers, now.replace(hour=8, minute=30))
    if app.engine.dialect.name == "postgresql":
        async with app.engine.connect() as conn:
            await conn.execute(text("ANALYZE"))  # then the statistics go stale, as in life


async def timed(sweeper: Sweeper, clock: list[datetime], at: datetime) -> tuple[float, SweepReport]:
    clock[0] = at
    t0 = time.perf_counter()
    report = await sweeper.sweep()
    return time.perf_counter() - t0, report


async def idle(sweeper: Sweeper, clock: list[datetime], repeat: int) -> list[float]:
    out = []
    for k in range(repeat):
        took, report = await timed(sweeper, clock, DAY.replace(hour=8, minute=32 + k))
        assert not report.recorded
        out.append(took * 1000)
    return out


def line(name: str, ms: list[float], base: list[float], looked: tuple[int, int]) -> str:
    m, b = statistics.median(ms), statistics.median(base)
    return (
        f"{name:8} paperbot {m:9.1f} ms (max {max(ms):.1f}, read {looked[0]} destinations)   "
        f"full-load {b:9.1f} ms (max {max(base):.1f}, read {looked[1]})   {b / m:6.1f}x"
    )


async def run(args: argparse.Namespace, url: str) -> None:
    clock = [DAY.replace(hour=8, minute=31)]
    app = build_app(
        load_settings({"DATABASE_URL": url}), source_name="sample", clock=lambda: clock[0]
    )
    await seed(app, args, clock[0])
    bot, old = TimedSweeper(app), FullLoadSweeper(app)
    size = f"{args.destinations} channels, {args.due} due at 09:00"
    print(f"database: {app.engine.dialect.name}; {size}; {load()}")
    t_old, r_old = await timed(old, clock, clock[0])
    t_new, r_new = await timed(bot, clock, clock[0])
    print(line("first", [t_new * 1000], [t_old * 1000], (r_new.looked_at, r_old.looked_at)))
    new_idle = await idle(bot, clock, args.repeat)
    old_idle = await idle(old, clock, args.repeat)
    print(line("idle", new_idle, old_idle, (0, r_old.looked_at)))
    nine = DAY.replace(hour=9)
    t_old, r_old = await timed(old, clock, nine)
    async with app.sessions.begin() as s:
        for model in (OutboxRow, DeliveryRow, DigestRunRow):
            await s.execute(delete(model))
    bot.phases.clear()
    print(f"         before paperbot's compose: {load()}")
    statements: dict[str, float] = defaultdict(float)
    with statement_times(app, statements):
        t_new, r_new = await timed(bot, clock, nine)
    assert r_new.queued == r_old.queued, (r_new.queued, r_old.queued)
    print(
        f"compose  paperbot {t_new:9.2f} s  ({r_new.queued} digests queued, "
        f"{len(r_new.recorded) - r_new.queued} empty)   full-load {t_old:9.2f} s   "
        f"{t_old / t_new:6.1f}x"
    )
    steps = ", ".join(f"{k} {v:.2f} s" for k, v in bot.phases.items())
    print(f"         paperbot's compose by step: {steps}")
    slowest = sorted(statements.items(), key=lambda kv: -kv[1])[:6]
    print(
        "         ...statements (summed; PostgreSQL has two transactions at once):",
        ", ".join(f"{k} {v:.2f} s" for k, v in slowest),
    )
    after_new = [(await timed(bot, clock, nine + timedelta(minutes=1)))[0] * 1000]
    after_old = [(await timed(old, clock, nine + timedelta(minutes=1)))[0] * 1000]
    print(line("after", after_new, after_old, (0, r_old.looked_at)))
    print(f"         at the end: {load()}")
    await explain(app, nine)
    await app.close()


async def explain(app: App, at: datetime) -> None:
    """How PostgreSQL reads the due destinations, with the statistics of before the sweeps."""
    due = (
        "SELECT next_due_at, id FROM destinations WHERE next_due_at <= :at "
        "ORDER BY next_due_at, id LIMIT 1000"
    )
    await print_plan(app, "the due read", due, {"at": at}, lines=2)


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--destinations", type=int, default=100_000)
    p.add_argument("--due", type=int, default=10_000, help="channels with a digest at 09:00")
    p.add_argument("--repeat", type=int, default=5, help="idle sweeps measured")
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
