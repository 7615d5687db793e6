"""Count the Hugging Face requests a poll costs with artifact look-ups, against HF's limit.

`python bench/hf_requests.py --days 10 --papers-per-day 50`

The real scheduler methods (`ingest_once`, then `artifacts_once`, every
INGEST_INTERVAL_MINUTES) run on a fake clock against the fake HF server over real HTTP and a
SQLite database: each day 50 new papers are featured, arriving over the day's polls from
06:00 to 18:00 UTC (HF adds them through the day), and each paper is cited by a few repos.
Every request the server sees is counted per poll, and the busiest 5 minutes are found the
worst way: a poll's requests (and its artifact round's, one minute later) are taken as
arriving at the same instant. With --backlog the bot starts on a database already holding the
last 7 days' papers with no look-ups done (an upgrade to this version): the worst burst.
The upvote refresh of the trending work (another branch) is
added as an estimate: one `/api/daily_papers` page for each of the 7 days, per poll.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.papers import Paper
from bot.sources import HuggingFaceClient
from bot.sources.http import RequestWindow
from bot.storage.db import upgrade
from tests.delivery_helpers import Harness, RecordingAdapter, make_app, utc
from tests.fakes.hf_server import FakeHF
from tests.helpers import FakeClock, daily_item

LIMIT = 500  # HF: requests per 5 minutes per IP, anonymous
REFRESH_DAYS = 7  # the trending work's upvote refresh: one page per day, per poll


async def run(days: int, per_day: int, interval: int, backlog: bool) -> None:
    start = utc(2025, 2, 3, 0, 0)
    clock = FakeClock(start)

    def ticks() -> float:  # the request window on the fake clock
        return (clock() - start).total_seconds()

    async def no_sleep(_: float) -> None:
        return None

    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite+aiosqlite:///{Path(tmp) / 'hf.sqlite3'}"
        await upgrade(db_url)
        async with FakeHF() as hf:
            source = HuggingFaceClient(
                base_url=hf.url,
                today=lambda: clock().date(),
                sleep=no_sleep,
                window=RequestWindow(clock=ticks),
            )
            app = make_app(db_url, clock, source, INGEST_INTERVAL_MINUTES=str(interval))  # type: ignore[arg-type]
            h = Harness(app, source, RecordingAdapter())  # type: ignore[arg-type]
            n = 0
            if backlog:
                old = []
                for back in range(1, 8):
                    day = (start - timedelta(days=back)).date()
                    for _ in range(per_day):
                        n += 1
                        pid = f"2502.{n:05d}"
                        old.append(Paper(id=pid, title=f"Paper {n}", featured_on=(day,)))
                        hf.repos[pid] = cited(n)
                await app.papers.upsert(old, now=start)
            polls_per_day = 24 * 60 // interval
            arriving = [p for p in range(polls_per_day) if 6 * 60 <= p * interval < 18 * 60]
            per_poll: list[Counter[str]] = []
            for d in range(days):
                day = (start + timedelta(days=d)).date()
                for p in range(polls_per_day):
                    at = start + timedelta(days=d, minutes=p * interval)
                    if p in arriving:
                        k = arriving.index(p)
                        count = per_day * (k + 1) // len(arriving) - per_day * k // len(arriving)
                        for _ in range(count):
                            n += 1
                            pid = f"2502.{n:05d}"
                            item = daily_item(pid, f"Paper {n}", day=day.isoformat())
                            hf.days.setdefault(day.isoformat(), []).append(item)
                            hf.repos[pid] = cited(n)
                    before = len(hf.requests)
                    clock.set(at)
                    await h.scheduler.ingest_once()
                    clock.set(at + timedelta(minutes=1))
                    await h.scheduler.artifacts_once()
                    kinds = Counter(
                        "artifacts" if r.path.startswith("/api/arxiv/") else "poll"
                        for r in hf.requests[before:]
                    )
                    per_poll.append(kinds)
            await app.close()
    report(per_poll, days, per_day, interval, polls_per_day, busiest_window(per_poll, interval))


def cited(n: int) -> dict[str, object]:
    models = [{"id": f"lab{n}/model-{i}", "likes": i} for i in range(n % 4)]
    return {"models": models, "datasets": [], "spaces": [{"id": f"lab{n}/demo"}] if n % 5 else []}


def busiest_window(per_poll: list[Counter[str]], interval: int) -> tuple[int, int]:
    """(requests, polls) of the busiest 5 minutes: polls less than 5 minutes apart share one."""
    span = max(1, -(-5 // interval)) if interval < 5 else 1
    totals = [c["poll"] + c["artifacts"] for c in per_poll]
    best = max(sum(totals[i : i + span]) for i in range(max(1, len(totals) - span + 1)))
    return best, span


def report(
    per_poll: list[Counter[str]],
    days: int,
    per_day: int,
    interval: int,
    polls_per_day: int,
    busiest_all: tuple[int, int],
) -> None:
    steady = per_poll[8 * polls_per_day :] or per_poll  # once 7 days of papers are stored
    arts = [c["artifacts"] for c in steady]
    polls = [c["poll"] for c in steady]
    busiest, span = busiest_window(steady, interval)
    refresh = REFRESH_DAYS * span
    print(f"{days} days, {per_day} new papers a day, a poll every {interval} min")
    print(f"steady state (day 9 on, else all): {len(steady)} polls")
    print(
        f"  poll requests per poll: mean {statistics.mean(polls):.1f}, max {max(polls)}; "
        f"artifact look-ups per poll: mean {statistics.mean(arts):.1f}, max {max(arts)}; "
        f"per day: {sum(arts) / (len(steady) / polls_per_day):.0f} look-ups"
    )
    print(
        f"  busiest 5 minutes: {busiest} requests (+ {refresh} for the 7-day upvote refresh, "
        f"estimated) = {busiest + refresh} of HF's {LIMIT}"
    )
    print(
        f"  whole run: max {max(c['artifacts'] for c in per_poll)} look-ups in one poll; "
        f"busiest 5 minutes {busiest_all[0]} requests "
        f"(+ {REFRESH_DAYS * busiest_all[1]} refresh, estimated) of {LIMIT}"
    )


def main() -> None:
    logging.disable(logging.WARNING)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=10)
    ap.add_argument("--papers-per-day", type=int, default=50)
    ap.add_argument("--interval", type=int, default=30, help="INGEST_INTERVAL_MINUTES")
    ap.add_argument("--backlog", action="store_true", help="start with 7 days not looked up")
    args = ap.parse_args()
    asyncio.run(run(args.days, args.papers_per_day, args.interval, args.backlog))


if __name__ == "__main__":
    main()
