"""The rows of `bench/delivery.py`: each pipeline run against its fake, and its baseline."""

from __future__ import annotations

import asyncio
import bisect
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select, text, update

from adapters.slack import build_slack_adapter
from bench.data import need_days
from bench.fake_discord import LimitedDiscord
from bench.fake_platform import RateLimitedPlatform
from bench.fake_slack import LimitedSlack
from bench.limits import limiter
from bench.seeding import channels_with_queries, polled
from bot.app import App, build_app
from bot.commands import build_registry
from bot.core import Core
from bot.delivery.sender import Sender
from bot.delivery.sweep import Sweeper
from bot.messages import PaperItem, PaperList
from bot.papers import Paper
from bot.port import Adapter, Destination
from bot.settings import load_settings
from bot.sources.huggingface import parse_daily_items
from bot.storage.db import upgrade
from bot.storage.models import DestinationRow, OutboxRow
from tests.discord_helpers import running_adapter
from tests.fakes.slack_server import BOT_TOKEN, SIGNING_SECRET

QUERIES = ["diffusion", "agent", "reasoning", "video", "LLM", "benchmark", "3D", "RL"]
NOW = datetime(2025, 2, 3, 9, 0, tzinfo=UTC)
STORM_AT = 0.4  # the storm starts after this share of the messages


@dataclass
class Row:
    name: str
    channels: int
    seconds: float
    messages: int  # distinct messages the platform accepted
    rate: float  # messages/s over the whole send
    limit: float  # what the platform's limits allow, messages/s
    too_many: int  # 429 answers the platform sent, the storm's not counted
    doubled: int
    lost: int
    recovery: float | None = None  # seconds from the storm's end to 90 % of the limit
    storm: float = 0.0  # seconds of the send the platform refused everything
    note: str = ""


def load_papers(day: date) -> list[Paper]:
    files = need_days()
    path = max(files[-30:], key=lambda f: f.stat().st_size)  # a busy day
    items = json.loads(path.read_text(encoding="utf-8"))
    papers, _ = parse_daily_items(items, date.fromisoformat(path.stem[:10]))
    return [Paper(**{**p.__dict__, "featured_on": (day,)}) for p in papers]


async def prepared(url: str, platform: str, ids: Sequence[str]) -> tuple[App, float]:
    """A fresh database with one channel per id, each with its digest in the outbox."""
    if url.startswith("postgresql"):
        app = build_app(load_settings({"DATABASE_URL": url}))
        async with app.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await app.close()
    await upgrade(url)
    app = build_app(load_settings({"DATABASE_URL": url}), source_name="sample", clock=lambda: NOW)
    pairs = [(QUERIES[k % 8], QUERIES[(k + 3) % 8]) for k in range(len(ids))]
    await channels_with_queries(app, pairs, NOW)
    async with app.sessions.begin() as s:
        rows = (await s.scalars(select(DestinationRow.id).order_by(DestinationRow.id))).all()
        values = [
            {"id": i, "platform": platform, "external_id": e}
            for i, e in zip(rows, ids, strict=True)
        ]
        await s.execute(update(DestinationRow), values)
    await polled(app, load_papers(NOW.date()), NOW.replace(hour=8, minute=30))
    t0 = time.perf_counter()
    swept = await Sweeper(app).sweep()
    assert swept.queued == len(ids), swept
    return app, time.perf_counter() - t0


async def expected(app: App) -> tuple[dict[str, int], int]:
    """Messages each channel should get (its digest's parts), and the items not sent."""
    stmt = select(DestinationRow.external_id, OutboxRow.parts, OutboxRow.status).join(
        DestinationRow, DestinationRow.id == OutboxRow.destination_id
    )
    async with app.sessions() as s:
        rows = (await s.execute(stmt)).all()
    want = {ext: len(parts or ()) for ext, parts, status in rows if status == "sent"}
    return want, sum(1 for _, _, status in rows if status != "sent")


def recovery(accepted: list[float], storm_end: float | None, rate: float) -> float | None:
    """Seconds from `storm_end` until a full second carried 90 % of `rate`."""
    if storm_end is None:
        return None
    times = sorted(accepted)
    for i in range(bisect.bisect_left(times, storm_end), len(times)):
        if bisect.bisect_left(times, times[i] + 1.0) - i >= 0.9 * rate:
            return times[i] - storm_end
    return None


def tally(want: dict[str, int], got: dict[str, int]) -> tuple[int, int]:
    """(doubled, lost) messages, comparing what each channel got with what it should."""
    doubled = sum(max(0, got.get(c, 0) - n) for c, n in want.items())
    lost = sum(max(0, n - got.get(c, 0)) for c, n in want.items())
    return doubled, lost


async def naive(post: Callable[[str, int], Awaitable[Any]], ids: Sequence[str], parts: int) -> int:
    """Post every channel's parts at once, library handling only; the failures."""

    async def one(cid: str) -> int:
        failed = 0
        for k in range(parts):
            try:
                await post(cid, k)
            except Exception:
                failed += 1
        return failed

    return sum(await asyncio.gather(*(one(c) for c in ids)))


def digest_parts(adapter: Adapter) -> list[Any]:
    papers = load_papers(NOW.date())[:10]
    return adapter.compose(PaperList("Daily Papers digest", tuple(PaperItem(p) for p in papers)))


async def discord_rows(args: Any, url: Callable[[], str]) -> list[Row]:
    rows: list[Row] = []
    for model in ("bucket", "windows"):
        fake = LimitedDiscord(limiter(model, args.rate, args.burst), latency=args.latency_ms / 1e3)
        await fake.start()
        ids = [str(900_000_000_000 + i) for i in range(args.destinations)]
        app, _ = await prepared(url(), "discord", ids)
        try:
            async with running_adapter(fake, Core(app, build_registry())) as adapter:
                fake.add_channels(ids)
                rows.append(await discord_paperbot(args, model, fake, app, adapter))
                base = [str(800_000_000_000 + i) for i in range(args.destinations)]
                rows.append(await discord_naive(args, model, fake, adapter, base))
        finally:
            await app.close()
            await fake.close()
    return rows


def sender(app: App, platform: str, adapter: Adapter, args: Any) -> Sender:
    if args.concurrency:
        return Sender(app, {platform: adapter}, concurrency=args.concurrency)
    return Sender(app, {platform: adapter})


def refused(fake: LimitedDiscord | LimitedSlack) -> int:
    """429 answers, except those of the storm (every request then gets one)."""
    return sum(v for k, v in fake.status.items() if k.startswith("429") and "storm" not in k)


def stormed(fake: LimitedDiscord, start: float, end: float) -> float:
    """Seconds of the storm inside [start, end] (monotonic)."""
    if fake.storm is None:
        return 0.0
    return max(0.0, min(end, fake.storm[1]) - max(start, fake.storm[0]))


def start_storm(fake: LimitedDiscord | None, messages: int, seconds: float) -> None:
    if fake is not None and seconds > 0:
        fake.storm, fake.storm_at, fake.storm_seconds = None, int(STORM_AT * messages), seconds


async def discord_paperbot(
    args: Any, model: str, fake: LimitedDiscord, app: App, adapter: Adapter
) -> Row:
    start_storm(fake, args.destinations, args.storm)
    t0 = time.monotonic()
    report = await sender(app, "discord", adapter, args).drain()
    seconds = time.monotonic() - t0
    want, unsent = await expected(app)
    got = {c: len({m.get("nonce") for m in fake.messages.get(c, [])}) for c in want}
    doubled, lost = tally(want, got)
    doubled += fake.doubled(want)
    lost += unsent
    n = len(fake.accepted)
    return Row(
        f"paperbot -> discord.py, {model}",
        len(want),
        seconds,
        n,
        n / seconds,
        args.rate,
        refused(fake),
        doubled,
        lost,
        recovery(fake.accepted, fake.storm[1] if fake.storm else None, args.rate),
        stormed(fake, t0, t0 + seconds),
        f"answers {dict(fake.status)}; sender report {report}",
    )


async def discord_naive(
    args: Any, model: str, fake: LimitedDiscord, adapter: Adapter, ids: list[str]
) -> Row:
    fake.add_channels(ids)
    fake.limit = limiter(model, args.rate, args.burst)
    fake.accepted, fake.status = [], type(fake.status)()
    parts = digest_parts(adapter)
    start_storm(fake, len(ids), args.storm)

    async def post(cid: str, k: int) -> Any:
        return await adapter.post(
            Destination("discord", "channel", cid), parts[k], key=f"{cid}:{k}"
        )

    t0 = time.monotonic()
    failed = await naive(post, ids, len(parts))
    seconds = time.monotonic() - t0
    want = {c: len(parts) for c in ids}
    got = {c: len(fake.messages.get(c, [])) for c in ids}
    doubled, lost = tally(want, got)
    n = len(fake.accepted)
    return Row(
        f"baseline: all at once -> discord.py, {model}",
        len(ids),
        seconds,
        n,
        n / seconds,
        args.rate,
        refused(fake),
        doubled + fake.doubled(want),
        lost,
        recovery(fake.accepted, fake.storm[1] if fake.storm else None, args.rate),
        stormed(fake, t0, t0 + seconds),
        f"{failed} posts raised; answers {dict(fake.status)}",
    )


async def slack_rows(args: Any, url: Callable[[], str]) -> list[Row]:
    fake = LimitedSlack(args.slack_rate, args.slack_rate, latency=args.latency_ms / 1e3)
    await fake.start()
    ids = [f"C{i:08d}" for i in range(args.slack_destinations)]
    app, _ = await prepared(url(), "slack", ids)
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.api_url,
        "SLACK_HTTP_HOST": "127.0.0.1",
        "SLACK_HTTP_PORT": "0",
    }
    adapter = build_slack_adapter(Core(app, build_registry()), env)
    assert adapter is not None
    await adapter.connect()
    rows: list[Row] = []
    try:
        t0 = time.monotonic()
        report = await sender(app, "slack", adapter, args).drain()
        rows.append(slack_row("paperbot -> slack_sdk", fake, app, time.monotonic() - t0, args))
        rows[-1].note = f"answers {dict(fake.status)}; sender report {report}"
        want, unsent = await expected(app)
        doubled, lost = tally(want, fake.per_channel())
        rows[-1].doubled, rows[-1].lost = doubled, lost + unsent
        rows.append(await slack_naive(args, fake, adapter))
    finally:
        await adapter.stop()
        await app.close()
        await fake.stop()
    return rows


def slack_row(name: str, fake: LimitedSlack, app: App | None, seconds: float, args: Any) -> Row:
    n = len(fake.accepted)
    too_many = refused(fake)
    return Row(
        name, args.slack_destinations, seconds, n, n / seconds, args.slack_rate, too_many, 0, 0
    )


async def slack_naive(args: Any, fake: LimitedSlack, adapter: Adapter) -> Row:
    ids = [f"N{i:08d}" for i in range(args.slack_destinations)]
    parts = digest_parts(adapter)
    fake.accepted, fake.status = [], type(fake.status)()
    fake.workspace = limiter("bucket", args.slack_rate, args.slack_rate)  # type: ignore[assignment]

    async def post(cid: str, k: int) -> Any:
        return await adapter.post(Destination("slack", "channel", cid), parts[k], key="")

    t0 = time.monotonic()
    failed = await naive(post, ids, len(parts))
    row = slack_row("baseline: all at once -> slack_sdk", fake, None, time.monotonic() - t0, args)
    per = fake.per_channel()
    row.doubled, row.lost = tally({c: len(parts) for c in ids}, {c: per[c] for c in ids})
    row.note = f"{failed} posts raised; answers {dict(fake.status)}"
    return row


async def platform_rows(args: Any, url: Callable[[], str]) -> list[Row]:
    ids = [f"C{i}" for i in range(args.destinations)]
    app, _ = await prepared(url(), "bench", ids)
    latency = args.latency_ms / 1e3
    platform = RateLimitedPlatform(args.rate, latency, args.burst)
    t0 = time.monotonic()
    await sender(app, "bench", platform, args).drain()
    seconds = time.monotonic() - t0
    want, unsent = await expected(app)
    doubled, lost = tally(want, dict(platform.posted))
    lost += unsent
    await app.close()
    n = len(platform.accepted)
    rows = [
        Row(
            "paperbot -> fake platform (no HTTP, no library)",
            len(ids),
            seconds,
            n,
            n / seconds,
            args.rate,
            platform.rejected,
            doubled,
            lost,
        )
    ]
    base = RateLimitedPlatform(args.rate, latency, args.burst)

    async def post(cid: str, k: int) -> Any:
        return await base.post(Destination("bench", "channel", cid), {"papers": 10}, key="")

    t0 = time.monotonic()
    await naive(post, ids, 1)
    seconds = time.monotonic() - t0
    doubled, lost = tally({c: 1 for c in ids}, dict(base.posted))
    n = len(base.accepted)
    rows.append(
        Row(
            "baseline: all at once -> fake platform",
            len(ids),
            seconds,
            n,
            n / seconds,
            args.rate,
            base.rejected,
            doubled,
            lost,
        )
    )
    return rows
