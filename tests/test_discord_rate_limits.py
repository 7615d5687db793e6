"""Discord's rate limits through real discord.py: global 429s, escalated 429s, many buckets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest

from adapters.discord import DiscordAdapter
from adapters.discord.sender import amortise_bucket_sweeps
from bot.app import App
from bot.commands import build_registry
from bot.core import Core
from bot.port import DeliveryError, Destination, Failure
from tests.discord_helpers import running_adapter
from tests.fakes.discord_server import FakeDiscord, rate_limited

MESSAGES = r"/channels/\d+/messages"


@pytest.fixture
async def bot(fake: FakeDiscord, sample_app: App) -> AsyncIterator[DiscordAdapter]:
    async with running_adapter(fake, Core(sample_app, build_registry())) as adapter:
        yield adapter


def channel(fake: FakeDiscord, n: int) -> Destination:
    cid = str(1_400_000_000_000_000_000 + n)
    fake.channels[cid] = {"id": cid, "type": 0, "name": f"c{n}", "position": 0}
    return Destination("discord", "channel", cid)


PART = {"content": "**Daily Papers**", "embeds": []}


class Seen(logging.Handler):
    """Sets `event` when a log record contains `text`."""

    def __init__(self, text: str, event: asyncio.Event) -> None:
        super().__init__(logging.DEBUG)
        self.text, self.event = text, event

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.event.set()


async def test_a_global_429_holds_every_post_and_none_is_lost_or_doubled(
    fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    fake.script("POST", MESSAGES, rate_limited(0.3, is_global=True))
    targets = [channel(fake, n) for n in range(6)]
    # discord.py logs the global limit, then at once stops every request until it is over.
    hit = asyncio.Event()
    handler = Seen("Global rate limit has been hit", hit)
    logging.getLogger("discord.http").addHandler(handler)
    try:
        first = asyncio.create_task(bot.post(targets[0], PART, key="g:0"))
        await asyncio.wait_for(hit.wait(), 5)
    finally:
        logging.getLogger("discord.http").removeHandler(handler)
    [refused] = fake.requests_to("POST", MESSAGES)
    # Posts asked for during the hold wait it out, then hand their turn back to the
    # sender's pacer (a zero wait) rather than all reaching Discord at once.
    held = await asyncio.gather(
        *(bot.post(d, PART, key=f"g:{d.id}") for d in targets[1:]), return_exceptions=True
    )
    assert all(isinstance(e, DeliveryError) and e.retry_after == 0.0 for e in held), held
    assert (await first).message_id
    assert len(fake.requests_to("POST", MESSAGES)) == 2  # the 429 and its own retry
    posted = [await bot.post(d, PART, key=f"g:{d.id}") for d in targets[1:]]
    assert all(p.message_id for p in posted)
    # Nothing reached Discord until the global limit's retry_after had passed.
    later = fake.requests_to("POST", MESSAGES)[1:]
    assert len(later) == 6 and min(r.at for r in later) >= refused.at + 0.3
    assert {d.id: len(fake.messages.get(d.id, [])) for d in targets} == {d.id: 1 for d in targets}


async def test_an_escalated_429_hands_back_the_fractional_wait_not_whole_seconds(
    fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    # discord.py tries five times, then gives up with a plain 429: the sender then holds
    # the platform for the bucket's Reset-After (0.05 s), not the header's rounded 1 s.
    fake.script("POST", MESSAGES, *[rate_limited(0.05) for _ in range(5)])
    with pytest.raises(DeliveryError) as err:
        await bot.post(Destination("discord", "channel", fake.channel_id), PART, key="e:0")
    assert err.value.failure is Failure.TRANSIENT
    assert err.value.retry_after == pytest.approx(0.05)
    assert len(fake.requests_to("POST", MESSAGES)) == 5


async def test_posting_to_thousands_of_channels_does_not_rescan_every_bucket(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checks = 0
    inactive = discord.http.Ratelimit.is_inactive

    def counted(self: Any) -> bool:
        nonlocal checks
        checks += 1
        return inactive(self)

    monkeypatch.setattr(discord.http.Ratelimit, "is_inactive", counted)
    http = discord.http.HTTPClient(asyncio.get_running_loop())
    amortise_bucket_sweeps(http)
    for n in range(2500):  # one bucket per channel, as a digest to 2,500 channels makes
        http.get_ratelimit(f"POST /channels/{{channel_id}}/messages:{n}")
    assert len(http._buckets) == 2500
    assert checks <= 256  # one sweep, not one per new bucket (about three million checks)
    await http.close()


async def test_without_the_amortising_discord_py_rescans_at_every_new_bucket(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cost the adapter avoids is real in the installed discord.py."""
    checks = 0
    inactive = discord.http.Ratelimit.is_inactive

    def counted(self: Any) -> bool:
        nonlocal checks
        checks += 1
        return inactive(self)

    monkeypatch.setattr(discord.http.Ratelimit, "is_inactive", counted)
    http = discord.http.HTTPClient(asyncio.get_running_loop())
    for n in range(600):
        http.get_ratelimit(f"POST /channels/{{channel_id}}/messages:{n}")
    assert checks > 50_000
    await http.close()
