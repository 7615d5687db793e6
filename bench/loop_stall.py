"""Measure how long a digest sweep blocks the event loop: `python bench/loop_stall.py`.

A sweep composes every due digest at once: it loads destinations and papers, matches every
subscription in a worker thread, ranks each destination's matches and records the runs.
Whatever of that runs on the event loop holds up every other task of the process (command
replies, the sender, Discord's heartbeat) for as long as it takes.

The bench seeds a fresh SQLite database (or `--database-url`) with `--subscriptions`
subscriptions (default 20,000), `--per-destination` per channel, and `--papers` papers
featured today, then runs the sweep twice, each on its own copy of the data:
- paperbot: today's `Sweeper.sweep()`;
- old path: the same sweep with the composing step as it was before (the thread returned
  lazy match lists, the loop read every match of every subscription and ranked them).

The loop runs in asyncio debug mode with `slow_callback_duration` set to `--threshold`
(default 10 ms); asyncio logs each callback (one step of a task between two awaits) that
ran longer, and the bench adds them up. "Longest" is the worst single stall: the time the
loop could not answer anything else.

Papers: the most recent distinct papers of the Daily Papers JSON files in `--data` (or the
directory named by $PAPERBOT_BENCH_DATA); without either, generated papers (fixed seed).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.seeding import channels_with_queries, polled
from bot.app import App, build_app
from bot.delivery.digest import Candidates, Occasion, QueryCache
from bot.delivery.sweep import FEATURE_SLACK, Sweeper
from bot.matching.engine import MatchEngine
from bot.papers import Paper
from bot.query import Query
from bot.settings import load_settings
from bot.sources.huggingface import parse_daily_items
from bot.storage.db import make_engine, upgrade
from bot.storage.models import Base, DestinationRow, SubscriptionRow

DATA_ENV = "PAPERBOT_BENCH_DATA"
SEED = 20250203
NOW = datetime(2025, 2, 3, 9, 0, tzinfo=UTC)
TOPICS = [
    "diffusion", "agent", "reasoning", "video", "LLM", "benchmark", "3D", "RL", "vision",
    "language", "robot", "speech", "graph", "retrieval", "multimodal", "transformer",
    "alignment", "safety", "code", "math", "image", "audio", "planning", "memory",
]  # fmt: skip


class StallLog(logging.Handler):
    """Collect the loop's slow callbacks from asyncio's debug-mode warnings."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.stalls: list[Stall] = []
        self.recording = True

    def emit(self, record: logging.LogRecord) -> None:
        # base_events logs: "Executing %s took %.3f seconds" % (handle, seconds)
        if self.recording and record.msg.startswith("Executing"):
            assert isinstance(record.args, tuple)
            self.stalls.append((time.perf_counter(), float(record.args[-1])))

    def split(self, start: float, end: float) -> tuple[list[Stall], list[Stall]]:
        """The stalls that overlapped (start, end), and the others."""
        inside: list[Stall] = []
        outside: list[Stall] = []
        for stall in self.stalls:
            ended, took = stall
            (inside if ended > start and ended - took < end else outside).append(stall)
        return inside, outside


Stall = tuple[float, float]  # (when it ended, seconds)


class GcPauses:
    """Time CPython's full (generation 2) collections: they stop every thread meanwhile."""

    def __init__(self) -> None:
        self.pauses: list[Stall] = []
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._began = time.perf_counter()
        else:
            now = time.perf_counter()
            self.pauses.append((now, now - self._began))

    def within(self, stall: Stall) -> float:
        """Seconds of full collections during a stall."""
        ended, took = stall
        return sum(t for end, t in self.pauses if ended - took <= end - t and end <= ended)


def load_papers(directory: str | None, n: int) -> tuple[list[Paper], str]:
    """The `n` most recent distinct papers of the JSON files in `directory`, else generated."""
    paths = sorted(Path(directory).glob("*.json"), reverse=True) if directory else []
    found: dict[str, Paper] = {}
    for path in paths:
        items = json.loads(path.read_text(encoding="utf-8"))
        for p in parse_daily_items(items, date.fromisoformat(path.stem[:10]))[0]:
            found.setdefault(p.id, p)
        if len(found) >= n:
            break
    if len(found) >= n:
        papers, source = list(found.values())[:n], f"{len(found)} real papers from {directory}"
    else:
        papers, source = generated_papers(n), "generated papers (no --data / $" + DATA_ENV + ")"
    # Featured today by the bench's clock.
    return [Paper(**{**p.__dict__, "featured_on": (NOW.date(),)}) for p in papers], source


def generated_papers(n: int) -> list[Paper]:
    """Papers whose words follow a Zipf law over 5,000 invented words and the topics."""
    rng = random.Random(SEED)
    syllables = ["ka", "lo", "mi", "ren", "tor", "vex", "qua", "sil", "den", "por", "gra", "un"]
    vocab = list(dict.fromkeys("".join(rng.choices(syllables, k=3)) for _ in range(6000)))
    # The topics rank 20th to 60th: common, but each in a minority of the papers.
    vocab[20:20] = TOPICS
    weights = [1 / (rank + 1) for rank in range(len(vocab))]

    def words(k: int) -> str:
        return " ".join(rng.choices(vocab, weights, k=k))

    return [
        Paper(
            id=f"2502.{i:05d}",
            title=words(9),
            abstract=". ".join(words(15) for _ in range(8)),
            upvotes=int(rng.paretovariate(1.2)) - 1,
        )
        for i in range(n)
    ]


def make_queries(papers: Sequence[Paper], n: int) -> list[str]:
    """`n` subscription texts: topics, title words, pairs, OR groups, exclusions."""
    rng = random.Random(SEED)
    words = sorted({w.lower() for p in papers for w in p.title.split() if w.isalpha()})
    words = [w for w in words if len(w) > 4] or TOPICS
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.4:
            out.append(rng.choice(TOPICS))
        elif r < 0.7:
            out.append(rng.choice(words))
        elif r < 0.85:
            out.append(f"{rng.choice(TOPICS)} {rng.choice(words)}")
        elif r < 0.95:
            out.append(f"({rng.choice(TOPICS)} OR {rng.choice(words)}) -{rng.choice(TOPICS)}")
        else:
            out.append(f"title:{rng.choice(words)} upvotes>=5")
    return out


async def seed(app: App, papers: list[Paper], queries: list[str], per_dest: int) -> None:
    """Bulk-insert channels and subscriptions, and store the papers as the 08:30 poll would."""
    groups = [queries[i : i + per_dest] for i in range(0, len(queries), per_dest)]
    await channels_with_queries(app, groups, NOW, floors=[i % 3 for i in range(len(groups))])
    await polled(app, papers, NOW.replace(hour=8, minute=30))


# --- the old path, as it was before the composing step moved into the thread -------------


async def old_match_destinations(
    papers: Sequence[Paper], destinations: Iterable[DestinationRow], queries: QueryCache
) -> dict[int, list[tuple[SubscriptionRow, str]]]:
    subs: list[tuple[int, Query]] = []
    owner: dict[int, tuple[int, SubscriptionRow]] = {}
    for d in destinations:
        for sub in d.subscriptions:
            q = queries.get(sub.query)
            if q is not None:
                subs.append((sub.id, q))
                owner[sub.id] = (d.id, sub)
    if not papers or not subs:
        return {}
    found = await asyncio.to_thread(lambda: MatchEngine(subs).match_batch(papers))
    out: dict[int, list[tuple[SubscriptionRow, str]]] = {}
    for sub_id, matches in found.items():  # reads every lazy Match on the loop
        dest_id, sub = owner[sub_id]
        out.setdefault(dest_id, []).extend((sub, m.paper_id) for m in matches)
    return out


def old_rank(
    hits: Iterable[tuple[SubscriptionRow, str]],
    papers: dict[str, Paper],
    allowed: set[str],
    min_upvotes: int,
) -> Candidates:
    reasons: dict[str, list[str]] = {}
    per_query: dict[str, int] = {}
    for sub, pid in hits:
        paper = papers.get(pid)
        if pid not in allowed or paper is None or paper.upvotes < min_upvotes:
            continue
        names = reasons.setdefault(pid, [])
        if sub.query not in names:
            names.append(sub.query)
            per_query[sub.query] = per_query.get(sub.query, 0) + 1
    order = sorted(reasons, key=lambda pid: (-papers[pid].upvotes, pid))
    busiest = max(per_query, key=lambda q: (per_query[q], q)) if per_query else None
    return Candidates([(pid, tuple(reasons[pid])) for pid in order], busiest)


async def old_candidates(
    self: Sweeper,
    occasions: list[Occasion],
    horizon: datetime,
    last: dict[int, datetime],
    *,
    sweeping: bool = False,  # the current signature's; the old path knew no suggestions
) -> tuple[list[tuple[datetime, Candidates]], dict[str, Paper]]:
    starts = [self._start(o, horizon, last) for o in occasions]
    first = min(starts, default=horizon)
    seen = await self.repo.seen_between(first, horizon, (first - FEATURE_SLACK).date())
    papers = {p.id: p for p in await self.app.papers.get_many(sorted({p for p, *_ in seen}))}
    unique = {o.destination.id: o.destination for o in occasions}
    hits = await old_match_destinations(list(papers.values()), unique.values(), self.queries)
    out = []
    for o, start in zip(occasions, starts, strict=True):
        oldest = (start - FEATURE_SLACK).date()
        allowed = {pid for pid, t, day in seen if start < t <= horizon and day >= oldest}
        d = o.destination
        out.append((start, old_rank(hits.get(d.id, ()), papers, allowed, d.min_upvotes)))
    return out, papers


# --- the runs ------------------------------------------------------------------------------


async def run(
    url: str, papers: list[Paper], queries: list[str], args: argparse.Namespace, candidates: Any
) -> tuple[Any, float, tuple[float, float], StallLog, GcPauses]:
    """Seed a database, then sweep it in debug mode with `candidates` as the composing step."""
    settings = load_settings({"DATABASE_URL": url})
    app = build_app(settings, source_name="sample", clock=lambda: NOW)
    await seed(app, papers, queries, args.per_destination)
    stalls = StallLog()
    pauses = GcPauses()
    span = [0.0, 0.0]

    async def timed(self: Sweeper, *a: Any, **kw: Any) -> Any:
        # Yielding to the loop before and after ends the callback there, so each phase's
        # stalls are its own (without it the step's last callback runs on into the next).
        await asyncio.sleep(0)
        span[0] = time.perf_counter()
        try:
            return await candidates(self, *a, **kw)
        finally:
            span[1] = time.perf_counter()
            await asyncio.sleep(0)

    loop = asyncio.get_running_loop()
    asyncio_log = logging.getLogger("asyncio")
    asyncio_log.addHandler(stalls)
    loop.slow_callback_duration = args.threshold
    loop.set_debug(True)
    gc.collect()
    gc.callbacks.append(pauses)
    Sweeper._candidates = timed  # type: ignore[method-assign]
    t0 = time.perf_counter()
    try:
        report = await Sweeper(app).sweep()
    finally:
        elapsed = time.perf_counter() - t0
        Sweeper._candidates = candidates  # type: ignore[method-assign]
        loop.set_debug(False)
        stalls.recording = False
        await asyncio.sleep(0)  # the callback running now is still timed: let it end
        gc.callbacks.remove(pauses)
        asyncio_log.removeHandler(stalls)
        await app.close()
    return report, elapsed, (span[0], span[1]), stalls, pauses


def summary(
    name: str,
    report: Any,
    elapsed: float,
    span: tuple[float, float],
    log: StallLog,
    gcs: GcPauses,
) -> list[str]:
    inside, outside = log.split(*span)
    full = [t for _, t in gcs.pauses]
    lines = [
        f"{name}: sweep {elapsed:.2f} s ({span[1] - span[0]:.2f} s of it matching + ranking), "
        f"{report.queued} digests queued; the loop was blocked:"
    ]
    for phase, stalls in (("match + rank", inside), ("load + record", outside)):
        longest = max((t for _, t in stalls), default=0.0)
        # What code held the loop, once the collector's pauses inside a stall are taken out.
        own = max((t - gcs.within(s) for s in stalls for t in [s[1]]), default=0.0)
        lines.append(
            f"  {phase:13s}  longest {longest * 1000:7.1f} ms ({own * 1000:7.1f} ms without "
            f"GC pauses), {len(stalls):4d} callbacks over the threshold, "
            f"{sum(t for _, t in stalls):6.2f} s in all"
        )
    lines.append(
        f"  full GC collections: {len(full)}, longest {max(full, default=0) * 1000:.1f} ms, "
        f"{sum(full):.2f} s in all"
    )
    return lines


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get(DATA_ENV), help="Daily Papers JSON dir")
    parser.add_argument("--subscriptions", type=int, default=20_000)
    parser.add_argument("--per-destination", type=int, default=4)
    parser.add_argument("--papers", type=int, default=300)
    parser.add_argument("--threshold", type=float, default=0.01, help="slow callback, seconds")
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite)")
    parser.add_argument("--skip-old", action="store_true", help="measure only today's code")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    # asyncio's slow-callback warnings reach only our handler.
    logging.getLogger("asyncio").setLevel(logging.WARNING)
    logging.getLogger("asyncio").propagate = False

    papers, source = load_papers(args.data, args.papers)
    queries = make_queries(papers, args.subscriptions)
    dests = -(-len(queries) // args.per_destination)
    print(f"papers: {len(papers)} ({source})")
    print(f"subscriptions: {len(queries)} ({len(set(queries))} distinct) in {dests} channels")
    print(f"slow-callback threshold: {args.threshold * 1000:.0f} ms (asyncio debug mode)")
    variants = [("paperbot", Sweeper._candidates)]
    if not args.skip_old:
        variants.append(("old path", old_candidates))
    with tempfile.TemporaryDirectory() as tmp:
        for name, candidates in variants:
            if args.database_url:
                url = args.database_url
                await _reset_pg(url)
            else:
                url = f"sqlite+aiosqlite:///{tmp}/{name.replace(' ', '_')}.sqlite3"
                await upgrade(url)
            report, elapsed, span, stalls, gcs = await run(url, papers, queries, args, candidates)
            print("\n".join(summary(name, report, elapsed, span, stalls, gcs)))


async def _reset_pg(url: str) -> None:
    await upgrade(url)
    engine = make_engine(url)
    async with engine.begin() as conn:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
