"""Benchmark digest delivery through a rate-limited platform: `python bench/delivery.py`.

10,000 channels, each with two subscriptions, get the digest of one real Daily Papers day
(the fullest of the last 30 files in $PAPERBOT_BENCH_DATA (bench/data.py), read at run time)
through a fake platform that enforces a token-bucket rate limit like Discord's global
limit, answers over-limit requests with 429 + retry_after, takes `--latency-ms` per request,
and honours the message nonce (a repeated key returns the first message instead of posting
again).

The real limit is 50 requests/s; to keep the run about a minute the limit is scaled up
(`--rate`, default 200/s), which only makes the sender's job harder.

Two pipelines get the same work and the same injected crash (the process dies after half
the messages went out):
- paperbot: sweep -> outbox -> sender (rate-limit aware, claims + leases, restart resumes);
- naive: a loop that sends each channel's digest as fast as it can, with no outbox and no
  rate-limit handling (a 429 loses that message), and after the crash simply runs again.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import glob
import json
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.data import data_glob
from bench.seeding import channels_with_queries, polled
from bot.app import build_app
from bot.delivery.sender import Sender
from bot.delivery.sweep import Sweeper
from bot.messages import PaperItem, PaperList, Reply
from bot.papers import Paper
from bot.port import Capabilities, DeliveryError, Destination, Part, Posted
from bot.settings import load_settings
from bot.sources.huggingface import parse_daily_items
from bot.storage.db import upgrade

DATA = data_glob()
QUERIES = ["diffusion", "agent", "reasoning", "video", "LLM", "benchmark", "3D", "RL"]


class Crash(BaseException):
    """The process dies: raised from inside a send, it skips every `except Exception`."""


class RateLimitedPlatform:
    """A chat platform with a token-bucket rate limit and Discord-like nonces."""

    platform = "bench"
    capabilities = Capabilities(dedupes_sends=True)

    def __init__(self, rate: float, latency: float, burst: float, crash_after: int | None):
        self.rate, self.latency = rate, latency
        self.capacity = max(1.0, burst)
        self.tokens = self.capacity
        self.stamp = time.monotonic()
        self.crash_after = crash_after
        self.posted: Counter[str] = Counter()  # destination id -> messages posted
        self.by_key: dict[str, Posted] = {}
        self.requests = self.rejected = self.deduplicated = 0

    def _take(self) -> float:
        """Take a token; return 0, or the seconds until one is available."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def compose(self, reply: Reply) -> list[Part]:
        return [{"papers": len(reply.items) if isinstance(reply, PaperList) else 0}]

    async def post(self, destination: Destination, part: Part, *, key: str) -> Posted:
        if self.crash_after is not None and sum(self.posted.values()) >= self.crash_after:
            raise Crash
        self.requests += 1
        await asyncio.sleep(self.latency)
        wait = self._take()
        if wait:
            self.rejected += 1
            raise DeliveryError("429 Too Many Requests", retry_after=wait)
        if key and key in self.by_key:
            self.deduplicated += 1
            return self.by_key[key]
        self.posted[destination.id] += 1
        result = Posted(f"m{self.requests}")
        if key:
            self.by_key[key] = result
        return result


def load_papers(day: date) -> list[Paper]:
    files = sorted(glob.glob(DATA))
    if not files:
        raise SystemExit(f"no Daily Papers files at {DATA}")
    # The fullest of the last 30 days: a typical busy day.
    path = Path(max(files[-30:], key=lambda f: Path(f).stat().st_size))
    items = json.loads(path.read_text(encoding="utf-8"))
    papers, _ = parse_daily_items(items, date.fromisoformat(path.stem[:10]))
    # Featured "today" for the benchmark's clock.
    return [Paper(**{**p.__dict__, "featured_on": (day,)}) for p in papers]


async def run_paperbot(args: argparse.Namespace, url: str) -> dict[str, float]:
    now = datetime(2025, 2, 3, 9, 0, tzinfo=UTC)
    settings = load_settings({"DATABASE_URL": url})
    clock = [now]  # the app's clock; it only moves to let a dead process's lease run out
    app = build_app(settings, source_name="sample", clock=lambda: clock[0])
    pairs = [
        (QUERIES[k % len(QUERIES)], QUERIES[(k + 3) % len(QUERIES)])
        for k in range(args.destinations)
    ]
    await channels_with_queries(app, pairs, now)
    # What the 08:30 poll of the paper source would have stored.
    await polled(app, load_papers(now.date()), now.replace(hour=8, minute=30))
    t0 = time.perf_counter()
    swept = await Sweeper(app).sweep()
    compose = time.perf_counter() - t0
    platform = RateLimitedPlatform(
        args.rate, args.latency_ms / 1000, args.rate * args.burst, swept.queued // 2
    )
    t0 = time.perf_counter()
    with contextlib.suppress(Crash):
        await Sender(app, {"bench": platform}, concurrency=args.concurrency).drain()
    # The other workers of the dead process die at their next send; wait for that.
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    await asyncio.gather(*others, return_exceptions=True)
    crashed_at = sum(platform.posted.values())
    # Restart: a new process (new owner); SQLite is single-process, so claims are freed.
    platform.crash_after = None
    if settings.is_sqlite:
        await app.outbox.release_all()
    else:
        # On PostgreSQL the dead process's claims are taken over when their lease ends;
        # move the clock past it rather than wait three minutes.
        clock[0] = now + Sender(app, {}).lease + timedelta(seconds=1)
    sender = Sender(app, {"bench": platform}, concurrency=args.concurrency)
    report = await sender.drain()
    elapsed = time.perf_counter() - t0
    counts = await app.outbox.counts()
    await app.close()
    delivered = sum(1 for v in platform.posted.values() if v)
    return {
        "digests": swept.queued,
        "compose_s": compose,
        "send_s": elapsed,
        "delivered": delivered,
        "duplicates": sum(v - 1 for v in platform.posted.values() if v > 1),
        "lost": swept.queued - delivered,
        "throughput": sum(platform.posted.values()) / elapsed,
        "requests": platform.requests,
        "rejected": platform.rejected,
        "deduplicated": platform.deduplicated,
        "crashed_at": crashed_at,
        "outbox_pending": counts.get("pending", 0),
        "rate_limited_waits": report.rate_limited,
    }


async def run_naive(args: argparse.Namespace, digests: int) -> dict[str, float]:
    papers = load_papers(date(2025, 2, 3))[:10]
    reply = PaperList("Daily Papers digest", tuple(PaperItem(p) for p in papers))
    platform = RateLimitedPlatform(
        args.rate, args.latency_ms / 1000, args.rate * args.burst, digests // 2
    )
    targets = [Destination("bench", "channel", f"C{i}") for i in range(digests)]

    async def loop() -> None:
        for d in targets:
            with contextlib.suppress(DeliveryError):  # logged and forgotten: lost
                await platform.post(d, platform.compose(reply)[0], key="")

    t0 = time.perf_counter()
    with contextlib.suppress(Crash):
        await loop()
    platform.crash_after = None
    await loop()  # restarted, it knows nothing of what it sent before
    elapsed = time.perf_counter() - t0
    delivered = sum(1 for v in platform.posted.values() if v)
    return {
        "digests": digests,
        "send_s": elapsed,
        "delivered": delivered,
        "duplicates": sum(v - 1 for v in platform.posted.values() if v > 1),
        "lost": digests - delivered,
        "throughput": sum(platform.posted.values()) / elapsed,
        "requests": platform.requests,
        "rejected": platform.rejected,
    }


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--destinations", type=int, default=10_000)
    p.add_argument("--rate", type=float, default=200.0, help="platform limit, requests/s")
    p.add_argument("--burst", type=float, default=0.2, help="bucket size, in seconds of rate")
    p.add_argument("--latency-ms", type=float, default=2.0, help="time per request")
    p.add_argument("--concurrency", type=int, default=8, help="sender workers")
    p.add_argument("--database-url", help="default: a fresh SQLite file")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        url = load_settings({"DATABASE_URL": url}).database_url
        await upgrade(url)
        ours = await run_paperbot(args, url)
    naive = await run_naive(args, int(ours["digests"]))
    print(
        f"{args.destinations} destinations, limit {args.rate:.0f} req/s (burst "
        f"{args.rate * args.burst:.0f}), {args.latency_ms:.0f} ms per request, a crash after "
        f"half the messages; database {'PostgreSQL' if 'postgresql' in url else 'SQLite'}"
    )
    print(f"compose (sweep -> outbox): {ours['digests']:.0f} digests in {ours['compose_s']:.1f} s")
    print(
        "| pipeline | sent in | delivered | posts/s | % of limit | requests | 429s "
        "| duplicates | lost |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in (("paperbot outbox + sender", ours), ("naive loop (baseline)", naive)):
        print(
            f"| {name} | {r['send_s']:.1f} s | {r['delivered']:.0f} | {r['throughput']:.0f} | "
            f"{100 * r['throughput'] / args.rate:.0f} % | {r['requests']:.0f} | "
            f"{r['rejected']:.0f} | {r['duplicates']:.0f} | {r['lost']:.0f} |"
        )
    print(
        f"paperbot: crash after {ours['crashed_at']:.0f} posts; after the restart "
        f"{ours['deduplicated']:.0f} resends were dropped by the nonce; "
        f"{ours['outbox_pending']:.0f} items left pending"
    )


if __name__ == "__main__":
    asyncio.run(main())
