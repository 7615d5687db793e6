"""/metrics scraped during a digest run against the fake Discord: the counts are what it got."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence

import pytest
from sqlalchemy import select, update

from adapters.cli.ratelimits import count_library_rate_limits
from adapters.discord import DiscordAdapter
from bot.app import App
from bot.commands import build_registry
from bot.core import Core
from bot.scheduler import DeliveryScheduler
from bot.storage.kinds import OutboxStatus
from bot.storage.models import OutboxRow
from tests.discord_helpers import running_adapter, say
from tests.fakes.discord_server import FakeDiscord, missing_access, rate_limited
from tests.ops_helpers import get, scrape, serving, value


@pytest.fixture
async def bot(fake: FakeDiscord, sample_app: App) -> AsyncIterator[DiscordAdapter]:
    async with running_adapter(fake, Core(sample_app, build_registry())) as adapter:
        yield adapter


async def eventually(check: Callable[[], object], within: float = 10.0) -> None:
    """Wait (on the loop, not for a fixed time) until `check()` is true."""
    async with asyncio.timeout(within):
        # The condition lives in another server or the database: no event to await.
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def statuses(app: App) -> Sequence[str]:
    async with app.sessions() as s:
        return list((await s.scalars(select(OutboxRow.status).order_by(OutboxRow.id))).all())


def posts(fake: FakeDiscord, channel: str) -> int:
    return len(fake.requests_to("POST", rf"/channels/{channel}/messages"))


async def test_metrics_during_a_digest_run_agree_with_what_discord_received(
    fake: FakeDiscord, bot: DiscordAdapter, sample_app: App
) -> None:
    await say(fake, "subscribe", {"query": "diffusion"})
    await say(fake, "digest", sub="now")
    await say(fake, "subscribe", {"query": "diffusion"}, dm=True)
    await say(fake, "digest", sub="now", dm=True)
    dm = fake.dm_channel(fake.alice["id"])
    assert dm is not None
    fake.hanging[dm] = asyncio.Event()  # the DM's post hangs: the run is under way
    scheduler = DeliveryScheduler(sample_app, {"discord": bot})
    async with serving(sample_app, {"discord": bot}) as base:
        run = asyncio.create_task(scheduler.run_once(ingest=False))
        try:
            # The fake records a request before it hangs, and notifies only after.
            await eventually(lambda: posts(fake, dm) == 1)
            # The sender counts a message just after recording it sent: wait for both.
            async with asyncio.timeout(10):

                async def counted() -> bool:
                    nonlocal during
                    during = await scrape(base)
                    return (
                        value(
                            during,
                            "paperbot_digest_lag_seconds_count",
                            platform="discord",
                            kind="now",
                        )
                        == 1
                        and (await statuses(sample_app)).count(OutboxStatus.SENT) == 1
                    )

                during: dict = {}
                while not await counted():  # noqa: ASYNC110 (state in the database, a task)
                    await asyncio.sleep(0.02)
            in_channel = len(fake.messages[fake.channel_id])
            in_dm = len(fake.messages.get(dm, []))
            ready, _, _ = await get(base + "/readyz")
            assert not run.done()
        finally:
            fake.hanging[dm].set()
        await run
        after = await scrape(base)
    assert in_channel >= 1 and in_dm == 0
    # One message (the channel's digest, in however many parts) is out; the DM's is not.
    assert value(during, "paperbot_messages_total", platform="discord", outcome="sent") == 1
    assert value(during, "paperbot_message_parts_total", platform="discord") == in_channel
    assert value(during, "paperbot_outbox_depth", platform="discord") == 1  # the DM's, in flight
    assert value(during, "paperbot_digest_lag_seconds_count", platform="discord", kind="now") == 1
    assert ready == 200
    total = len(fake.messages[fake.channel_id]) + len(fake.messages[dm])
    assert value(after, "paperbot_messages_total", platform="discord", outcome="sent") == 2
    assert value(after, "paperbot_message_parts_total", platform="discord") == total
    assert total == posts(fake, fake.channel_id) + posts(fake, dm)  # every post was accepted
    assert value(after, "paperbot_outbox_depth", platform="discord") == 0
    assert value(after, "paperbot_digest_lag_seconds_count", platform="discord", kind="now") == 2
    assert value(after, "paperbot_destinations_active", platform="discord") == 2
    assert value(after, "paperbot_papers_stored") == await sample_app.papers.count() > 0
    for outcome in ("failed", "retried", "rejected", "halted"):
        assert value(after, "paperbot_messages_total", platform="discord", outcome=outcome) == 0
    # The slash commands were timed under their registry names.
    assert (
        value(
            after,
            "paperbot_command_duration_seconds_count",
            platform="discord",
            command="digest now",
        )
        == 2
    )


async def test_a_long_429_and_a_lost_channel_are_counted(
    fake: FakeDiscord, bot: DiscordAdapter, sample_app: App
) -> None:
    await say(fake, "subscribe", {"query": "diffusion"})
    await say(fake, "digest", sub="now")
    fake.script("POST", rf"/channels/{fake.channel_id}/messages", rate_limited(90))
    scheduler = DeliveryScheduler(sample_app, {"discord": bot})
    # discord.py hands a 429 this long back ("erroring instead"): counted once, by us.
    undo = count_library_rate_limits([bot], sample_app.metrics.limited)
    async with serving(sample_app, {"discord": bot}) as base:
        await scheduler.run_once(ingest=False)
        limited = await scrape(base)
        # Its retry is due now; this time the channel is gone.
        async with sample_app.sessions.begin() as s:
            await s.execute(update(OutboxRow).values(next_attempt_at=sample_app.clock()))
        fake.script("POST", rf"/channels/{fake.channel_id}/messages", missing_access())
        await scheduler.run_once(ingest=False)
        gone = await scrape(base)
    undo()
    assert posts(fake, fake.channel_id) == 2 and fake.channel_id not in fake.messages
    assert value(limited, "paperbot_rate_limited_total", platform="discord") == 1
    assert value(limited, "paperbot_messages_total", platform="discord", outcome="retried") == 1
    assert value(limited, "paperbot_outbox_depth", platform="discord") == 1
    assert value(gone, "paperbot_messages_total", platform="discord", outcome="failed") == 1
    assert value(gone, "paperbot_messages_total", platform="discord", outcome="sent") == 0
    assert (
        value(gone, "paperbot_destinations_disabled", platform="discord", reason="no_access") == 1
    )
    assert value(gone, "paperbot_destinations_active", platform="discord") == 0


async def test_429s_discord_py_waits_out_itself_are_counted(
    fake: FakeDiscord, bot: DiscordAdapter, sample_app: App
) -> None:
    await say(fake, "subscribe", {"query": "diffusion"})
    await say(fake, "digest", sub="now")
    # Two short 429s: discord.py sleeps them out inside one post; the sender never sees one.
    fake.script(
        "POST", rf"/channels/{fake.channel_id}/messages", rate_limited(0.01), rate_limited(0.01)
    )
    scheduler = DeliveryScheduler(sample_app, {"discord": bot})
    undo = count_library_rate_limits([bot], sample_app.metrics.limited)
    try:
        async with serving(sample_app, {"discord": bot}) as base:
            report = await scheduler.run_once(ingest=False)
            m = await scrape(base)
    finally:
        undo()
    accepted = len(fake.messages[fake.channel_id])
    answered_429 = posts(fake, fake.channel_id) - accepted
    assert answered_429 == 2 and report[1].rate_limited == 0
    assert value(m, "paperbot_rate_limited_total", platform="discord") == answered_429
    assert value(m, "paperbot_messages_total", platform="discord", outcome="retried") == 0
    assert value(m, "paperbot_messages_total", platform="discord", outcome="sent") == 1
    assert value(m, "paperbot_message_parts_total", platform="discord") == accepted
