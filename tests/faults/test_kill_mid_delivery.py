"""kill -9 of a real `paperbot run` while it posts split digests to the fake Discord.

The digests are composed first (through the real core); then the bot process is started and
killed with SIGKILL at seeded random points of the delivery, paper data changes between its
lives (summaries appear), and it is started again, until the outbox is empty. What the fake
Discord received is then counted: every paper of every digest exactly once, in order, with
Discord's nonce kept for 60 s as a real server keeps it for "a few minutes".
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
from dataclasses import replace
from pathlib import Path

from sqlalchemy import func, select

from bot.app import App, build_app
from bot.ingest import ingest_day
from bot.messages import Place
from bot.settings import load_settings
from bot.storage.db import upgrade
from bot.storage.models import DestinationRow, OutboxRow
from tests.fakes.discord_server import FakeDiscord
from tests.helpers import ADMIN, FakeClock, TestBot
from tests.test_delivery_trust_platforms import (
    BROAD,
    BROADER,
    long_author_lists,
    ranks,
    summaries_appear,
)
from tests.test_discord_run import paperbot, run_env

CHANNELS = 6
KILLS = 3
SEED = 20261201


async def pending(app: App) -> int:
    async with app.sessions() as s:
        stmt = select(func.count()).select_from(OutboxRow).where(OutboxRow.status != "sent")
        return int(await s.scalar(stmt) or 0)


async def test_kill_9_mid_delivery_loses_and_doubles_nothing(
    fake: FakeDiscord, tmp_path: Path, clock: FakeClock
) -> None:
    rng = random.Random(SEED)
    env = run_env(fake, tmp_path)
    # Composed at the fake clock's time, in the past for the bot process: due at once.
    settings = load_settings({"DATABASE_URL": env["DATABASE_URL"]})
    app = build_app(settings, source_name="sample", clock=clock)
    await upgrade(app.settings.database_url)
    await ingest_day(app, clock().date())
    bot = TestBot(app)
    base = fake.channels[fake.channel_id]
    user = replace(ADMIN, platform="discord")
    for n in range(CHANNELS):
        cid = str(1_250_000_000_000_000_000 + n)
        fake.channels[cid] = {**base, "id": cid, "name": f"papers-{n}"}
        place = Place("discord", cid, name=f"papers-{n}", workspace_id=fake.guild_id)
        await bot.say("digest max 40", user, place)
        for query in [BROAD, *BROADER]:
            await bot.say(f"subscribe {query}", user, place)
    await long_author_lists(app)
    for cid in list(fake.channels)[-CHANNELS:]:
        place = Place("discord", cid, workspace_id=fake.guild_id)
        await bot.say("digest now", user, place)
    assert await pending(app) == CHANNELS
    async with app.sessions() as s:
        rows = (
            await s.execute(
                select(DestinationRow.external_id, OutboxRow.payload).join(
                    OutboxRow, OutboxRow.destination_id == DestinationRow.id
                )
            )
        ).all()
    listed = {cid: len(payload["items"]) for cid, payload in rows}
    assert min(listed.values()) >= 20  # long enough to be split into several messages
    fake.nonce_window = 60.0

    def posted() -> int:
        return sum(len(fake.messages.get(cid, [])) for cid in list(fake.channels)[-CHANNELS:])

    for life in range(KILLS + 1):
        proc = await paperbot(env, tmp_path, "run")
        try:
            if life < KILLS:
                target = posted() + rng.randint(1, 4)
                await fake.wait_until(lambda t=target: posted() >= t, 60)
                proc.send_signal(signal.SIGKILL)
            else:
                async with asyncio.timeout(120):
                    # The bot's progress is only in its database: read it there.
                    while await pending(app):  # noqa: ASYNC110
                        await asyncio.sleep(0.1)
        finally:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        if life == 0:
            await summaries_appear(app)  # the papers change between lives
    await app.close()
    for cid in list(fake.channels)[-CHANNELS:]:
        titles = [e["title"] for m in fake.messages[cid] for e in m["embeds"]]
        assert ranks(titles) == list(range(1, listed[cid] + 1)), cid  # each paper once
