"""Members without Manage Channels subscribe themselves in a server, and are told so."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.discord import DiscordAdapter
from bot.app import App
from bot.commands import build_registry
from bot.core import Core
from tests.discord_helpers import running_adapter, say
from tests.fakes.discord_server import EPHEMERAL, EVERYONE_PERMISSIONS, FakeDiscord

BOB = FakeDiscord.user("1300000000000000002", "bob")


@pytest.fixture
async def bot(fake: FakeDiscord, sample_app: App) -> AsyncIterator[DiscordAdapter]:
    async with running_adapter(fake, Core(sample_app, build_registry())) as adapter:
        yield adapter


async def as_bob(fake: FakeDiscord, name: str, options: dict[str, object]) -> str:
    payload = fake.interaction(name, options, user=BOB, permissions=EVERYONE_PERMISSIONS)
    [msg] = await fake.wait_reply(await fake.interact(payload), within=10)
    assert msg["flags"] & EPHEMERAL and msg["allowed_mentions"] == {"parse": []}
    return str(msg["content"])


async def test_subscribe_and_unsubscribe_are_offered_to_every_member(
    fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    synced = {c["name"]: c for c in fake.synced["global"]}
    assert synced["subscribe"]["default_member_permissions"] is None
    assert synced["unsubscribe"]["default_member_permissions"] is None


async def test_a_member_subscribes_personally_and_learns_whom_to_ask(
    fake: FakeDiscord, bot: DiscordAdapter, sample_app: App
) -> None:
    text = await as_bob(fake, "subscribe", {"query": "diffusion"})
    assert text.startswith("✅ Subscribed you personally to “diffusion” (#1).")
    assert "Matches will come by direct message." in text
    assert "This subscription is yours, not the channel's." in text
    assert "Only people who may manage #general can subscribe #general itself" in text
    assert "ask a moderator to run /subscribe query:diffusion there." in text
    # Stored as bob's own; the channel has none.
    assert await sample_app.subscriptions.count_personal("discord", BOB["id"]) == 1
    [channel_list] = await say(fake, "subscriptions")
    assert "This channel has no subscriptions" in str(channel_list)


async def test_a_member_removes_their_own_but_not_the_channels(
    fake: FakeDiscord, bot: DiscordAdapter, sample_app: App
) -> None:
    await say(fake, "subscribe", {"query": "diffusion"})  # alice manages: the channel's, #1
    mine = await as_bob(fake, "subscribe", {"query": "agents"})
    assert "(#2)" in mine
    refused = await as_bob(fake, "unsubscribe", {"id": "1"})
    # (A "#" opening a line is escaped: Discord would read a heading.)
    assert refused.startswith("❌ \\#1 is a subscription of #general, not one of yours.")
    assert "ask a moderator to run /unsubscribe id:1 there." in refused
    assert len(await sample_app.subscriptions.all_active()) == 2
    done = await as_bob(fake, "unsubscribe", {"id": "2"})
    assert done.startswith("✅ Removed your subscription #2 (“agents”).")


async def test_a_members_unsubscribe_offers_their_own_subscriptions(
    fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    await say(fake, "subscribe", {"query": "diffusion"})  # the channel's
    await as_bob(fake, "subscribe", {"query": "diffusion models"})  # bob's
    payload = fake.interaction(
        "unsubscribe",
        {"id": "diff"},
        kind=4,
        focused="id",
        user=BOB,
        permissions=EVERYONE_PERMISSIONS,
    )
    [answer] = await fake.wait_reply(await fake.interact(payload))
    assert [c["value"] for c in answer["choices"]] == ["2"]


async def test_a_member_still_cannot_change_the_channels_digest(
    fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    payload = fake.interaction(
        "digest", {"time": "08:00"}, sub=["time"], user=BOB, permissions=EVERYONE_PERMISSIONS
    )
    [msg] = await fake.wait_reply(await fake.interact(payload))
    assert msg["content"].startswith("❌ Only people who may manage this channel")
