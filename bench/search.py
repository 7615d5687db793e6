"""Benchmark `/search` over long windows against the uncached path: `python bench/search.py`.

Stores ~580 days of papers in a fresh SQLite database (or `--database-url`, an empty
PostgreSQL database): the saved days of --data DIR (bench/data.py, read at
run time), padded to `--days` with copies of the oldest real days shifted back in time
(new ids, same text). Then it sends `/search ...` through the core's command dispatch
(`Core.handle_text`, the registry every adapter uses) with the clock on the newest day:
- index: today's `search` command (the per-day token index of `app.search_index`);
- naive: the command as it was (load every paper of the window, `match_batch` them), the
  baseline, in the same run, on the same database.
Cold is the first search after start-up (a fresh `App`: the index is built then); warm is
p50/p95 of `--repeat` further searches. The loop's longest step during a cold and a warm
search is timed on the loop thread's CPU clock (as bench/loop_stall.py and
tests/loop_stalls.py do), with the cyclic GC paused meanwhile. The cache's memory at 580
days is measured with tracemalloc on another fresh `App`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Awaitable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.data import add_data_option, need_days, use_data
from bot.app import App, build_app
from bot.commands import build_registry
from bot.commands.args import Style
from bot.commands.registry import Context, Registry
from bot.commands.search import SHOWN
from bot.core import Core
from bot.messages import Notice, PaperItem, PaperList, Place, Reply, User
from bot.papers import Paper
from bot.plural import plural
from bot.services.queries import parse_or_usage
from bot.services.search import (
    PREVIEW_DAYS,
    period,
    reason_lines,
    recent_papers,
    search_papers,
)
from bot.settings import load_settings
from bot.sources.huggingface import parse_daily_items
from bot.storage.db import upgrade

USER = User(platform="bench", id="U1", name="ada", can_manage_channel=True)
PLACE = Place(platform="bench", id="C1", name="papers", workspace_id="W1")
STORED_AT = datetime(2026, 1, 1, 6, 0, tzinfo=UTC)


# --- the data ---------------------------------------------------------------------------


def real_days() -> dict[date, list[Paper]]:
    days: dict[date, list[Paper]] = {}
    for path in need_days():
        day = date.fromisoformat(Path(path).stem[:10])
        days[day] = parse_daily_items(json.loads(Path(path).read_text("utf-8")), day)[0]
    return days


def padded(days: dict[date, list[Paper]], total: int) -> dict[date, list[Paper]]:
    """`days` and, before them, copies of the oldest real days (new ids) up to `total` days."""
    real = sorted(days)
    out = dict(days)
    first = real[0]
    for k in range(total - len(real)):
        source = real[k % len(real)]
        day = first - timedelta(days=total - len(real) - k)
        # "2405.01234" -> "1905.01234": arXiv-shaped ids no real paper of these years has.
        out[day] = [
            replace(p, id=f"{int(p.id[:2]) - 5:02d}{p.id[2:]}", featured_on=(day,))
            for p in days[source]
            if p.id[:2].isdigit()
        ]
    return dict(sorted(out.items()))


async def store(app: App, days: dict[date, list[Paper]]) -> int:
    batch: list[Paper] = []
    stored = 0
    for papers in days.values():
        batch += papers
        if len(batch) >= 1000:
            stored += (await app.papers.upsert(batch, now=STORED_AT)).new
            batch = []
    if batch:
        stored += (await app.papers.upsert(batch, now=STORED_AT)).new
    return stored


def pick_queries(days: dict[date, list[Paper]], today: date) -> list[tuple[str, str, int]]:
    """(label, query, days): the issue's query, then each kind of query the issue names."""
    year = [p for d, ps in days.items() if d > today - timedelta(days=365) for p in ps]
    words: Counter[str] = Counter()
    for p in year:
        words.update({w.lower() for w in p.title.split() if w.isalpha() and len(w) > 7})
    rare = sorted(w for w, n in words.items() if n == 2)[len(words) // 50 % 50]
    authors = Counter(a for p in year for a in p.authors)
    author = authors.most_common(1)[0][0]
    return [
        ("LLM, 365 days", "LLM", 365),
        ("rare word, 365 days", rare, 365),
        ("phrase, 365 days", '"diffusion model"', 365),
        ("author, 365 days", f'author:"{author}"', 365),
        ("title field, 365 days", "title:(agent OR agents)", 365),
        ("OR with NOT, 365 days", "(video OR audio) -diffusion", 365),
        ("LLM, 30 days", "LLM", 30),
        ("LLM, 7 days", "LLM", 7),
    ]


# --- the command as it was: the baseline --------------------------------------------------


async def naive_search_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """The `search` handler before the index: load the window's papers, match them afresh."""
    query = parse_or_usage(args["query"], "search", ("--days",), typed=ctx.style is Style.TYPED)
    days = args.get("days", PREVIEW_DAYS)
    papers = await recent_papers(ctx.app, days)
    if not papers:
        return [Notice("No papers are stored.", ephemeral=True)]
    found = await search_papers(papers, query)
    shown = found[:SHOWN]
    items = tuple(PaperItem(p, reasons=reason_lines(m.reasons)) for p, m in shown)
    title = f"“{query.text}” matches {len(found)} of {plural(len(papers), 'paper')} of "
    return [PaperList(title=title + period(days), items=items, ephemeral=True)]


def naive_registry() -> Registry:
    commands = build_registry().all()
    return Registry(
        replace(c, handler=naive_search_command) if c.name == "search" else c for c in commands
    )


# --- timing ---------------------------------------------------------------------------------


class LoopSteps:
    """The longest step of the running loop, on the loop thread's CPU clock."""

    def __init__(self) -> None:
        self.longest = 0.0
        self.what = ""

    def __enter__(self) -> LoopSteps:
        self._run = run = asyncio.events.Handle._run
        gc.collect()
        gc.disable()  # a full collection stops every thread; it is the heap's size, not ours

        def timed(handle: asyncio.events.Handle) -> None:
            started = time.thread_time()
            try:
                run(handle)
            finally:
                took = time.thread_time() - started
                if took > self.longest:
                    self.longest, self.what = took, repr(handle)[:100]

        asyncio.events.Handle._run = timed  # type: ignore[method-assign, assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.events.Handle._run = self._run  # type: ignore[method-assign]
        gc.enable()


async def timed(call: Awaitable[Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    out = await call
    return time.perf_counter() - started, out


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def summary(replies: list[Reply]) -> str:
    first = replies[0]
    return first.title if isinstance(first, PaperList) else str(first)


async def run(args: argparse.Namespace) -> None:
    tmp = tempfile.TemporaryDirectory()
    raw = args.database_url or f"sqlite+aiosqlite:///{tmp.name}/search.sqlite3"
    url = load_settings({"DATABASE_URL": raw}).database_url  # postgresql:// -> its async driver
    await upgrade(url)
    days = padded(real_days(), args.days)
    today = max(days)
    clock = lambda: datetime.combine(today, datetime.min.time(), UTC).replace(hour=12)  # noqa: E731
    settings = load_settings({"DATABASE_URL": url})

    def fresh() -> App:
        return build_app(settings, source_name="sample", clock=clock)

    app = fresh()
    started = time.perf_counter()
    stored = await store(app, days)
    total = sum(len(p) for p in days.values())
    print(f"database: {app.engine.dialect.name}; stored {len(days)} days ({min(days)} to {today}),")
    print(f"  {total} papers ({stored} new), in {time.perf_counter() - started:.1f} s")
    real = len(real_days())
    print(f"  {real} real days from --data, {len(days) - real} shifted copies")
    queries = pick_queries(days, today)
    await app.close()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    rows: list[str] = []
    for label, registry in (("index", build_registry()), ("naive", naive_registry())):
        app = fresh()
        core = Core(app, registry)

        async def say(q: str, d: int, core: Core = core) -> list[Reply]:
            return await core.handle_text(f"search {q} --days {d}", USER, PLACE)

        first_query, first_days = queries[0][1], queries[0][2]
        with LoopSteps() as cold_loop:
            cold, replies = await timed(say(first_query, first_days))
        print(
            f"{label}: cold {queries[0][0]}: {ms(cold)}; longest loop step {ms(cold_loop.longest)}"
        )
        print(f"  reply: {summary(replies)}")
        for name, q, d in queries:
            times = []
            with LoopSteps() as warm_loop:
                for _ in range(args.repeat if label == "index" else args.naive_repeat):
                    took, replies = await timed(say(q, d))
                    times.append(took)
            times.sort()
            p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
            rows.append(
                f"{label}  {name:24} p50 {ms(statistics.median(times))}  p95 {ms(p95)}  "
                f"loop {ms(warm_loop.longest)}  | {summary(replies)}"
            )
        if label == "index":
            year = today - timedelta(days=364)
            versions, _ = await timed(app.papers.day_versions(year, today))
            rows.append(f"index  version check alone (365 days, one query): {ms(versions)}")
            stats = app.search_index.stats
            rows.append(f"index  cache: {len(app.search_index)} days, {stats}")
        await app.close()
    print(
        f"warm (p50/p95 of {args.repeat} searches each, naive {args.naive_repeat}; "
        "through Core.handle_text):"
    )
    print("\n".join(rows))

    # Memory: a year, then every stored day cached, each on a fresh App traced from start-up.
    for first in (today - timedelta(days=364), min(days)):
        app = fresh()
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        window = await app.search_index.window(first, today)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        print(
            f"memory: {(today - first).days + 1} days ({len(app.search_index)} with papers, "
            f"{window.size} papers) cached: {(after - before) / 2**20:.1f} MiB (tracemalloc)"
        )
        await app.close()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    tmp.cleanup()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--days", type=int, default=580, help="days to store (real ones, then copies)")
    p.add_argument("--repeat", type=int, default=20, help="warm searches per query")
    p.add_argument("--naive-repeat", type=int, default=5, help="the same, on the naive path")
    p.add_argument("--database-url", help="an empty database; default: a fresh SQLite file")
    add_data_option(p)
    args = p.parse_args()
    use_data(args)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
