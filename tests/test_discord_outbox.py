"""Digests and DM alerts from slash commands to Discord REST, through the core's outbox sender."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.discord import DiscordAdapter
from bot.app import App
from bot.commands import build_registry
from bot.core import Core
from bot.delivery.sender import Sender
from tests.discord_helpers import embed_titles, running_adapter, say
from tests.fakes.discord_server import (
    EPHEMERAL,
    FakeDiscord,
    cannot_dm,
    missing_access,
)


@pytest.fixture
async def bot(fake: FakeDiscord, sample_app: App) -> AsyncIterator[DiscordAdapter]:
    async with running_adapter(fake, Core(sample_app, build_registry())) as adapter:
        yield adapter


async def test_channel_digest_goes_out_with_embeds(
    fake: FakeDiscord, bot: DiscordAdapter, sample_app: App
) -> None:
    await say(fake, "subscribe", {"query": "diffusion"})
    [ack] = await say(fake, "digest", sub="now")
    assert ack["content"].startswith("✅ Posting a digest of")
    report = await Sender(sample_app, {"discord": bot}).drain()
    assert report.sent >= 1
    msgs = fake.messages[fake.channel_id]
    assert msgs[0]["content"].startswith("**")
    embeds = [e for m in msgs for e in m["embeds"]]
    assert embeds and all("Matched: diffusion" in e["description"] for e in embeds)
    assert embed_titles(msgs[0])[0].startswith("1. ")
    assert all(m["allowed_mentions"] == {"parse": []} and m["nonce"] for m in msgs)
    assert (await Sender(sample_app, {"discord": bot}).drain()).sent == 0  # exactly once


async def test_dm_alert_goes_to_the_known_dm_or_a_fresh_one(
    fake: FakeDiscord, bot: DiscordAdapter, sample_app: App
) -> None:
    await say(fake, "subscribe", {"query": "diffusion"}, dm=True)
    await say(fake, "digest", sub="now", dm=True)
    await Sender(sample_app, {"discord": bot}).drain()
    dm = fake.dm_channel(fake.alice["id"])
    assert dm is not None and fake.messages[dm][0]["embeds"]
    assert len(fake.requests_to("POST", "/users/@me/channels")) == 0  # the DM was known

    # A DM channel the core remembers has gone (Unknown Channel): the adapter opens a fresh
    # one and hands its id back for the core to remember.
    bob = fake.user("1300000000000000002", "bob")
    payload = fake.interaction("subscribe", {"query": "diffusion"}, dm=True, user=bob)
    await fake.wait_reply(await fake.interact(payload))
    bob_dm = fake.dm_channel(bob["id"])
    fake._dms.pop(bob["id"])  # the fake forgets the channel: posting there is a 404 now
    payload = fake.interaction("digest", sub=["now"], dm=True, user=bob)
    await fake.wait_reply(await fake.interact(payload))
    await Sender(sample_app, {"discord": bot}).drain()
    [opened] = fake.requests_to("POST", "/users/@me/channels")
    assert opened.json == {"recipient_id": int(bob["id"])}
    assert fake.dm_channel(bob["id"]) != bob_dm and fake.messages[fake.dm_channel(bob["id"])]


async def test_missing_access_disables_the_channel_and_status_says_why(
    fake: FakeDiscord, bot: DiscordAdapter, sample_app: App
) -> None:
    await say(fake, "subscribe", {"query": "diffusion"})
    await say(fake, "digest", sub="now")
    fake.script("POST", rf"/channels/{fake.channel_id}/messages", missing_access())
    report = await Sender(sample_app, {"discord": bot}).drain()
    assert report.disabled == 1 and fake.channel_id not in fake.messages
    [status] = await say(fake, "status")
    assert status["flags"] & EPHEMERAL
    assert "the bot lost access to this channel" in str(status["embeds"])


async def test_members_without_manage_channels_cannot_change_the_channel(
    fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    member = fake.interaction("digest", {"time": "09:00"}, sub=["time"])  # @everyone rights
    [refused] = await fake.wait_reply(await fake.interact(member))
    assert refused["flags"] & EPHEMERAL
    assert refused["content"].startswith("❌ Only people who may manage this channel")
    [allowed] = await say(fake, "digest", {"time": "09:00"}, sub="time")
    assert allowed["content"].startswith("✅ The digest for #general is posted at 09:00")


async def test_closed_dms_disable_the_alerts_and_status_says_why(
    fake: FakeDiscord, bot: DiscordAdapter, sample_app: App
) -> None:
    await say(fake, "subscribe", {"query": "diffusion"}, dm=True)
    await say(fake, "digest", sub="now", dm=True)
    fake.script("POST", r"/channels/\d+/messages", cannot_dm())
    report = await Sender(sample_app, {"discord": bot}).drain()
    assert report.disabled == 1
    [status] = await say(fake, "status", dm=True)
    fields = {f["name"]: f["value"] for f in status["embeds"][0]["fields"]}
    assert "this user does not accept DMs from the bot" in fields["Disabled"]
    # Any alerts setting turns posting back on, and the waiting alert goes out.
    [on] = await say(fake, "alerts", sub="instant", dm=True)
    assert "Posting is enabled again" in on["content"]
    assert (await Sender(sample_app, {"discord": bot}).drain()).sent == 1
    assert fake.messages[fake.dm_channel(fake.alice["id"]) or ""]
