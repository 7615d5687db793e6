"""Benchmark digest delivery through the real adapters: `python bench/delivery.py`.

Every channel (two subscriptions each) gets the digest of one real Daily Papers day (the
fullest of the last 30 files in --data DIR, see bench/data.py) along the bot's
real path: sweep -> outbox -> sender -> the real DiscordAdapter (discord.py's HTTP client)
or the real SlackAdapter (slack_sdk), against local fakes that limit like the platforms
(bench/fake_discord.py, bench/fake_slack.py): Discord's global 50 requests/s, counted as a
token bucket or as fixed 1-second windows, per-channel route buckets, 40 ms per request,
slow answers, 502s, and a 2-second storm of global 429s part-way; Slack's 1 message/s per
channel and a workspace-wide limit, 429 with a whole-second Retry-After.

Each row has its baseline from the same run: the same digests posted all at once through
the same adapter, with no outbox and nothing but the library's own rate-limit handling.
The fake platform that bypasses the adapters (bench/fake_platform.py) is a second row.
`--quick` runs a fifth of the channels.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.data import add_data_option, use_data
from bench.delivery_rows import Row, discord_rows, platform_rows, slack_rows
from bot.settings import load_settings


def table(rows: list[Row]) -> None:
    print(
        "| pipeline | channels | sent in | messages | msg/s | % of what the limits allowed "
        "| 429s | doubled | lost | back to 90 % after the storm |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        recovery = f"{r.recovery:.2f} s" if r.recovery is not None else "-"
        # The storm's seconds allowed nothing: they count as time taken, not as capacity.
        allowed = r.limit * max(1e-9, r.seconds - r.storm)
        print(
            f"| {r.name} | {r.channels} | {r.seconds:.1f} s | {r.messages} | {r.rate:.1f} | "
            f"**{100 * r.messages / allowed:.0f} %** of {r.limit:g}/s | {r.too_many} "
            f"| {r.doubled} | {r.lost} | {recovery} |"
        )


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--destinations", type=int, default=1000, help="Discord channels")
    p.add_argument("--slack-destinations", type=int, default=300)
    p.add_argument("--quick", action="store_true", help="a fifth of the channels")
    p.add_argument("--rate", type=float, default=50.0, help="Discord's global limit, req/s")
    p.add_argument("--burst", type=float, default=10.0, help="token bucket size (requests)")
    p.add_argument("--slack-rate", type=float, default=10.0, help="Slack workspace msg/s")
    p.add_argument("--latency-ms", type=float, default=40.0)
    p.add_argument("--storm", type=float, default=2.0, help="seconds of global 429s")
    p.add_argument("--concurrency", type=int, help="sender workers (default: the bot's)")
    p.add_argument("--only", choices=["discord", "slack", "platform"], action="append")
    p.add_argument(
        "--database-url",
        help="a scratch PostgreSQL database (its public schema is dropped for every row); "
        "default: a fresh SQLite file per row",
    )
    add_data_option(p)
    args = p.parse_args()
    use_data(args)
    if args.quick:
        args.destinations //= 5
        args.slack_destinations //= 5
    return args


async def main() -> None:
    args = parse()
    # The libraries log every 429 and failed post; the table counts them.
    logging.basicConfig(level=logging.ERROR)
    only = set(args.only or ["discord", "slack", "platform"])
    rows: list[Row] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        n = iter(range(100))

        def url() -> str:
            raw = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench{next(n)}.sqlite3"
            return load_settings({"DATABASE_URL": raw}).database_url

        if "discord" in only:
            rows += await discord_rows(args, url)
        if "slack" in only:
            rows += await slack_rows(args, url)
        if "platform" in only:
            rows += await platform_rows(args, url)
    db = "PostgreSQL" if args.database_url else "SQLite"
    print(
        f"database {db}; {args.latency_ms:.0f} ms per request; Discord {args.rate:g} req/s "
        f"(bucket of {args.burst:g} or fixed 1 s windows), a {args.storm:g} s global 429 storm "
        f"after 40 % of the messages; Slack {args.slack_rate:g} msg/s per workspace, 1/s "
        f"per channel; {time.perf_counter() - started:.0f} s in all"
    )
    table(rows)
    for r in rows:
        if r.note:
            print(f"- {r.name}: {r.note}")


if __name__ == "__main__":
    asyncio.run(main())
