"""Delivery under faults, the long version: `python bench/faults.py [--postgres URL]`.

Three experiments, each printed next to a naive baseline from the same run:

1. kill -9. Split digests (20-40 papers, several messages each) are queued for `--channels`
   Discord channels; a real `paperbot run` process posts them to the local fake Discord and
   is killed with SIGKILL `--kills` times at seeded random points, the papers changing
   between its lives (summaries appear, upvotes move). Counted from what the fake received:
   papers lost and papers doubled, with the fake keeping message nonces for 60 s (as Discord
   does for "a few minutes") and without nonces at all. On SQLite and, with `--postgres`,
   on PostgreSQL (lease shortened to 3 s so the run stays short; the default is 30 s).
   Baseline: a loop that renders each digest from the current papers and posts its
   messages, remembering only finished digests, killed at the same points.
2. A hung request. One of `--channels` channels never answers; everyone else's digest should
   not wait for it. Max delay of the unaffected channels, paperbot's sender (10 s per-post
   timeout) against a loop that sends in turn with no timeout (its hang is cut at 20 s).
3. Half-filled digests. Hugging Face answers yesterday but fails on today's list; 40
   channels are due. Baseline: what the bot did before digests waited for a complete poll
   round (a digest whose freshness check looks at any successful day).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.discord.sender import compose
from bot.app import App, build_app
from bot.commands import build_registry
from bot.core import Core
from bot.delivery.digest import payload_reply
from bot.delivery.sender import Sender
from bot.services.ingest import ingest_day
from bot.settings import load_settings
from bot.storage.db import upgrade
from bot.storage.models import DestinationRow, OutboxRow
from tests.discord_helpers import env_for, running_adapter
from tests.fakes.discord_server import FakeDiscord
from tests.faults.killing import (
    ROOT,
    compose_split_digests,
    kill_and_restart,
    summaries_appear,
    tally,
)
from tests.helpers import FakeClock

START = datetime(2024, 12, 24, 10, 0, tzinfo=UTC)  # the bundled sample's day


def bot_env(fake: FakeDiscord, db_url: str, lease: int) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    return {
        **keep,
        **env_for(fake),
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": db_url,
        "PAPERS_SOURCE": "sample",
        "HF_API_URL": "http://127.0.0.1:9",
        "DELIVERY_LEASE_SECONDS": str(lease),
        "LOG_LEVEL": "ERROR",
    }


async def fresh_app(db_url: str) -> App:
    await upgrade(db_url)
    # Composed at the sample's day, in the past for the bot process: due at once.
    settings = load_settings({"DATABASE_URL": db_url})
    app = build_app(settings, source_name="sample", clock=FakeClock(START))
    await ingest_day(app, START.date())
    return app


async def reset_postgres(url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def paperbot_kills(
    db_url: str, work: Path, channels: int, kills: int, nonce: float, seed: int
) -> dict[str, Any]:
    async with FakeDiscord() as fake:
        app = await fresh_app(db_url)
        try:
            listed = await compose_split_digests(app, fake, channels)
            fake.nonce_window = nonce
            t0 = time.perf_counter()
            done = await kill_and_restart(
                app, fake, listed, bot_env(fake, db_url, lease=3), work, kills=kills, seed=seed
            )
            result = tally(fake, listed)
            return {**result.__dict__, "kills": done, "seconds": time.perf_counter() - t0}
        finally:
            await app.close()


async def naive_kills(
    db_url: str, channels: int, kills: int, nonce: float, seed: int
) -> dict[str, Any]:
    """Render from the current papers, post, remember a digest only once all of it went."""
    from sqlalchemy import select

    async with FakeDiscord() as fake:
        app = await fresh_app(db_url)
        try:
            listed = await compose_split_digests(app, fake, channels)
            fake.nonce_window = nonce
            stmt = select(OutboxRow.key, DestinationRow.external_id, OutboxRow.payload).join(
                DestinationRow, OutboxRow.destination_id == DestinationRow.id
            )
            async with app.sessions() as s:
                rows = (await s.execute(stmt)).all()
            done: set[str] = set()
            rng = random.Random(seed)
            url = f"{fake.base_url}/channels"
            headers = {"Authorization": f"Bot {fake.token}"}
            async with aiohttp.ClientSession(headers=headers) as http:
                for life in range(kills + 1):
                    budget = rng.randint(1, 6) if life < kills else None
                    for key, channel, payload in rows:
                        if key in done:
                            continue
                        ids = [e["paper_id"] for e in payload["items"]]
                        papers = {p.id: p for p in await app.papers.get_many(ids)}
                        parts = compose(payload_reply(payload, papers))
                        sent = 0
                        for n, part in enumerate(parts):
                            if budget == 0:
                                break  # killed here
                            body = {**part, "nonce": f"{key}-{n}"[:25], "enforce_nonce": True}
                            async with http.post(f"{url}/{channel}/messages", json=body):
                                pass
                            sent += 1
                            if budget is not None:
                                budget -= 1
                        if sent < len(parts):
                            break
                        done.add(key)
                    await summaries_appear(app, bump=life + 1)
            return {**tally(fake, listed).__dict__, "kills": kills}
        finally:
            await app.close()


async def first_posts(channels: int, post_timeout: float, hang: bool) -> float:
    """Seconds until the last answering channel got its first message, one channel hung."""
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite+aiosqlite:///{Path(tmp) / 'hang.sqlite3'}"
        async with FakeDiscord() as fake:
            app = await fresh_app(db_url)
            try:
                listed = await compose_split_digests(app, fake, channels)
                hung = next(iter(listed))
                if hang:
                    fake.hanging[hung] = asyncio.Event()
                firsts: dict[str, float] = {}
                t0 = time.perf_counter()

                async def watch() -> None:
                    while len(firsts) < len(listed) - 1:
                        for cid in listed:
                            if cid != hung and cid not in firsts and fake.messages.get(cid):
                                firsts[cid] = time.perf_counter() - t0
                        await asyncio.sleep(0.01)

                async with running_adapter(fake, Core(app, build_registry())) as adapter:
                    watcher = asyncio.create_task(watch())
                    sender = Sender(app, {"discord": adapter}, request_timeout=post_timeout)
                    await sender.drain()
                    await watcher
                if hang:
                    fake.hanging.pop(hung).set()
                return max(firsts.values())
            finally:
                await app.close()


async def hung_request(channels: int, post_timeout: float, naive_cut: float) -> dict[str, float]:
    """Max delay of the channels that answer while one never does, against no hang."""
    out = {
        "paperbot_no_hang": await first_posts(channels, post_timeout, hang=False),
        "paperbot_max_delay": await first_posts(channels, post_timeout, hang=True),
    }
    # Naive: one channel after the other, no timeout; the hang is cut at `naive_cut` s.
    async with FakeDiscord() as fake:
        ids = [str(1_260_000_000_000_000_000 + n) for n in range(channels)]
        for cid in ids:
            fake.channels[cid] = {**fake.channels[fake.channel_id], "id": cid}
        fake.hanging[ids[0]] = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.call_later(naive_cut, fake.hanging[ids[0]].set)
        url = f"{fake.base_url}/channels"
        headers = {"Authorization": f"Bot {fake.token}"}
        t0 = time.perf_counter()
        delays = []
        async with aiohttp.ClientSession(headers=headers) as http:
            for cid in ids:
                async with http.post(f"{url}/{cid}/messages", json={"content": "digest"}):
                    pass
                if cid != ids[0]:
                    delays.append(time.perf_counter() - t0)
        out["naive_max_delay"] = max(delays)
    return out


async def half_filled() -> dict[str, int]:
    """40 channels due while Hugging Face fails on today's list only."""
    from dataclasses import replace

    from bot.sources import HuggingFaceClient
    from tests.delivery_helpers import Harness, RecordingAdapter, make_app, utc
    from tests.fakes.hf_server import FakeHF
    from tests.helpers import CHANNEL, daily_item

    async def no_sleep(_: float) -> None:
        return None

    results: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite+aiosqlite:///{Path(tmp) / 'half.sqlite3'}"
        await upgrade(db_url)
        async with FakeHF() as hf:
            for day, pid, title in (
                ("2025-02-02", "2502.00001", "Diffusion yesterday"),
                ("2025-02-03", "2502.00002", "Diffusion today"),
            ):
                hf.days[day] = [daily_item(pid, title, day=day)]
            hf.fail_day("2025-02-03", 500)
            clock = FakeClock(utc(2025, 2, 3, 7, 0))
            source = HuggingFaceClient(
                base_url=hf.url,
                timeout=1,
                max_retries=0,
                today=lambda: clock().date(),
                sleep=no_sleep,
            )
            app = make_app(db_url, clock, source)  # type: ignore[arg-type]
            h = Harness(app, source, RecordingAdapter())  # type: ignore[arg-type]
            for n in range(40):
                place = replace(CHANNEL, id=f"C{n}", name=f"c{n}")
                await h.bot.say("subscribe diffusion", place=place)
                await h.bot.say("digest time 09:00 UTC", place=place)
            for hour, minute in ((8, 40), (9, 0), (9, 30), (10, 0)):
                await h.tick(utc(2025, 2, 3, hour, minute))
            results["posted_while_failing"] = len(h.adapter.sent)
            # The naive baseline posts at 09:00 whatever is stored: yesterday's papers only.
            stored = {p.id for p in await h.app.papers.get_many(["2502.00001", "2502.00002"])}
            results["naive_half_filled"] = 40 if stored == {"2502.00001"} else 0
            hf.heal_day("2025-02-03")
            await h.tick(utc(2025, 2, 3, 10, 30))
            results["digests_posted"] = len(h.adapter.sent)
            results["half_filled"] = sum(
                1 for s in h.adapter.sent if "2502.00002" not in s.paper_ids
            )
            await h.app.close()
    return results


async def main() -> None:
    logging.disable(logging.WARNING)  # the bot's retry warnings are expected here
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--channels", type=int, default=200)
    p.add_argument("--kills", type=int, default=50)
    p.add_argument("--seed", type=int, default=20261201)
    p.add_argument("--postgres", help="a PostgreSQL URL to run the kill experiment on too")
    p.add_argument("--skip-naive", action="store_true")
    p.add_argument("--skip-kills", action="store_true")
    p.add_argument(
        "--backends", nargs="*", choices=["sqlite", "postgres"], help="default: every one given"
    )
    args = p.parse_args()
    backends = ["sqlite"] + (["postgres"] if args.postgres else [])
    print(f"kill -9: {args.channels} channels, {args.kills} kills per run, seed {args.seed}")
    print(
        "| backend | pipeline | nonce | kills | digests | papers | messages | lost | doubled "
        "| time |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for backend in [] if args.skip_kills else args.backends or backends:
        for nonce_label, nonce in (("60 s", 60.0), ("none", 0.0)):
            pipelines = [("paperbot", True)] + ([] if args.skip_naive else [("naive", False)])
            for name, real in pipelines:
                with tempfile.TemporaryDirectory() as tmp:
                    if backend == "sqlite":
                        url = f"sqlite+aiosqlite:///{Path(tmp) / 'faults.sqlite3'}"
                    else:
                        url = args.postgres
                        await reset_postgres(url)
                    if real:
                        r = await paperbot_kills(
                            url, Path(tmp), args.channels, args.kills, nonce, args.seed
                        )
                    else:
                        r = await naive_kills(url, args.channels, args.kills, nonce, args.seed)
                took = f"{r['seconds']:.0f} s" if "seconds" in r else "-"
                print(
                    f"| {backend} | {name} | {nonce_label} | {r['kills']} | {r['digests']} | "
                    f"{r['papers']} | "
                    f"{r['messages']} | {r['lost']} | {r['doubled']} | {took} |",
                    flush=True,
                )
    hang = await hung_request(min(args.channels, 200), post_timeout=10.0, naive_cut=20.0)
    print(
        f"hung request ({min(args.channels, 200)} channels, one never answers): max delay of "
        f"the others: paperbot {hang['paperbot_max_delay']:.2f} s (per-post timeout 10 s; "
        f"{hang['paperbot_no_hang']:.2f} s with no hang), "
        f"naive loop {hang['naive_max_delay']:.2f} s (hang cut at 20 s)"
    )
    half = await half_filled()
    print(
        "half-filled: Hugging Face answers yesterday but fails on today's list, 40 channels "
        f"due at 09:00: paperbot posted {half['posted_while_failing']} while it failed, then "
        f"{half['digests_posted']} once it answered, {half['half_filled']} without today's "
        f"papers; naive (post what is stored at 09:00): {half['naive_half_filled']} of 40 "
        "half-filled"
    )


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
