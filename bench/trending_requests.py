"""Hugging Face requests per poll, with and without trending alerts.

Run: `python bench/trending_requests.py`.

The real Hugging Face client and the scheduler's `ingest_once` against the local fake HF
server (tests/fakes/hf_server.py), serving `--papers` papers a weekday in the API's real
item shape, upvotes changing between polls. Counted from what the fake received, per poll:
without a trending subscription (yesterday and today), and with one (the week refreshed
for its upvotes). Baseline: refreshing each paper of the week on its own
(`GET /api/papers/{id}`), what a per-paper refresh would cost. Both are set against the
anonymous limit of 500 API requests per 5 minutes at the default poll interval (30 min)
and the shortest one (1 min).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import build_app
from bot.scheduler import DeliveryScheduler
from bot.settings import load_settings
from bot.sources import HuggingFaceClient
from bot.storage.db import upgrade
from tests.fakes.hf_server import FakeHF
from tests.helpers import ADMIN, CHANNEL, FakeClock, TestBot, daily_item

LIMIT, WINDOW_MINUTES = 500, 5


async def _no_sleep(seconds: float) -> None:
    return None


def per_window(per_poll: int, interval_minutes: int) -> int:
    """Requests in the busiest 5-minute window at one poll per `interval_minutes`."""
    polls = -(-WINDOW_MINUTES // interval_minutes)  # polls that can start in the window
    return per_poll * polls


async def main(papers: int, polls: int) -> None:
    today = date(2025, 2, 7)  # a Friday: the week holds 5 weekdays and a weekend
    async with FakeHF() as hf:
        for n in range(14):
            day = today - timedelta(days=n)
            if day.weekday() < 5:
                hf.days[day.isoformat()] = [
                    daily_item(f"2502.{n:02d}{i:03d}", f"World model {n}-{i}", day=day.isoformat())
                    for i in range(papers)
                ]
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
            await upgrade(url)
            clock = FakeClock(datetime(2025, 2, 7, 8, 0, tzinfo=UTC))
            source = HuggingFaceClient(
                base_url=hf.url, max_retries=0, today=lambda: clock().date(), sleep=_no_sleep
            )
            app = build_app(load_settings({"DATABASE_URL": url}), source=source, clock=clock)
            scheduler = DeliveryScheduler(app, {})
            await scheduler.ingest_once()  # the first poll of a fresh database

            async def poll_costs() -> list[int]:
                costs = []
                for _ in range(polls):
                    for items in hf.days.values():
                        for item in items:
                            item["paper"]["upvotes"] += 3  # upvotes move between polls
                    clock.advance(minutes=30)
                    before = len(hf.requests)
                    await scheduler.ingest_once()
                    costs.append(len(hf.requests) - before)
                return costs

            plain = await poll_costs()
            await TestBot(app).say(
                'subscribe "world model" upvotes>=50 --when-crossed', ADMIN, CHANNEL
            )
            trending = await poll_costs()
            await app.close()
    week = sum(len(hf.days.get((today - timedelta(days=n)).isoformat(), [])) for n in range(7))
    print(f"papers a weekday: {papers}; polls measured: {polls} each")
    print(f"{'':34} {'per poll':>9} {'5 min @30m':>11} {'5 min @1m':>10}  limit {LIMIT}")
    rows = [
        ("paperbot, no trending subscription", max(plain)),
        ("paperbot, trending (week refresh)", max(trending)),
        ("baseline: one request per paper", 2 + week),
    ]
    for name, cost in rows:
        print(f"{name:34} {cost:>9} {per_window(cost, 30):>11} {per_window(cost, 1):>10}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=50, help="papers a weekday (default 50)")
    parser.add_argument("--polls", type=int, default=3, help="polls measured (default 3)")
    args = parser.parse_args()
    asyncio.run(main(args.papers, args.polls))
