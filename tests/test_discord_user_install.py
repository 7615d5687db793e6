"""The user-installable app, through real discord.py against the fake Discord: the synced
commands say where each may be installed and used, and a command from a user install (a
server without the bot, a DM or group DM between people) is answered through the
interaction only, with subscriptions made personal and the reply saying so."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.discord import DiscordAdapter
from bot.app import App
from bot.commands import build_registry
from bot.core import Core
from bot.storage.models import DestinationRow
from tests.discord_helpers import running_adapter
from tests.fakes.discord_server import ALL_PERMISSIONS, FakeDiscord, message_problems

GUILD_INSTALL, USER_INSTALL = 0, 1
GUILD, BOT_DM, PRIVATE_CHANNEL = 0, 1, 2
OTHER_GUILD = "1100000000000000077"  # a server that never added the bot
GROUP_DM = "1200000000000000077"


@pytest.fixture
async def adapter(fake: FakeDiscord, sample_app: App) -> AsyncIterator[DiscordAdapter]:
    async with running_adapter(fake, Core(sample_app, build_registry())) as running:
        yield running


def synced(fake: FakeDiscord) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in fake.synced["global"]}


async def test_lookups_and_personal_commands_are_offered_everywhere_channel_settings_not(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    commands = synced(fake)
    # Field names and values of Discord's ApplicationCommandCreateRequest (discord-api-spec):
    # integration_types 0 guild / 1 user install; contexts 0 guild, 1 bot DM, 2 private.
    everywhere = (
        "paper",
        "papers",
        "search",
        "find",
        "why",
        "help",
        "subscribe",
        "unsubscribe",
        "subscriptions",
        "alerts",
        "mute",
        "status",
        "rate",
        "save",
        "unsave",
        "saved",
        "recommend",
        "similar",
        "forget",
        "Find paper",
    )
    for name in everywhere:
        assert commands[name]["integration_types"] == [GUILD_INSTALL, USER_INSTALL], name
        assert commands[name]["contexts"] == [GUILD, BOT_DM, PRIVATE_CHANNEL], name
    digest = commands["digest"]  # a channel's settings (and in the bot's DM, your own)
    assert digest["integration_types"] == [GUILD_INSTALL]
    assert digest["contexts"] == [GUILD, BOT_DM]
    for sub in digest["options"]:  # contexts belong to the top-level command only
        assert "contexts" not in sub and "integration_types" not in sub


def user_installed(fake: FakeDiscord, payload: dict[str, Any], where: str) -> dict[str, Any]:
    """Turn a guild interaction into one from alice's user install, `where` she is."""
    alice = fake.alice
    payload["authorizing_integration_owners"] = {"1": alice["id"]}
    payload["app_permissions"] = str(1 << 14 | 1 << 15)  # what Discord grants user installs
    if where == "server without the bot":
        payload.update(
            guild_id=OTHER_GUILD,
            channel_id="1200000000000000078",
            channel={
                "id": "1200000000000000078",
                "type": 0,
                "guild_id": OTHER_GUILD,
                "name": "lounge",
                "position": 0,
                "permission_overwrites": [],
            },
            context=GUILD,
        )
        payload["member"]["permissions"] = str(ALL_PERMISSIONS)  # an admin there, even
        payload.pop("guild", None)
    else:  # a group DM between people
        for key in ("guild_id", "guild_locale", "member"):
            payload.pop(key, None)
        payload.update(
            user=alice,
            channel_id=GROUP_DM,
            channel={"id": GROUP_DM, "type": 3, "recipients": [alice], "name": "friends"},
            context=PRIVATE_CHANNEL,
        )
    return payload


async def ask(fake: FakeDiscord, payload: dict[str, Any]) -> list[dict[str, Any]]:
    msgs = await fake.wait_reply(await fake.interact(payload), within=10)
    for m in msgs:
        assert message_problems(m) == [], m
        assert "went wrong" not in (m["content"] or ""), m["content"]
    return msgs


WHERE = ["server without the bot", "group DM"]


@pytest.mark.parametrize("where", WHERE)
async def test_a_look_up_from_a_user_install_is_answered_by_the_interaction(
    fake: FakeDiscord, adapter: DiscordAdapter, where: str
) -> None:
    posts_before = len(fake.requests_to("POST", r"/channels/\d+/messages"))
    payload = user_installed(fake, fake.interaction("papers", {"day": "today"}), where)
    [answer] = await ask(fake, payload)
    assert answer["embeds"], answer  # the day's papers
    # Answered through the interaction's webhook; the bot posted nothing to any channel.
    assert len(fake.requests_to("POST", r"/channels/\d+/messages")) == posts_before
    assert fake.callbacks[payload["id"]]


@pytest.mark.parametrize("where", WHERE)
async def test_subscribe_from_a_user_install_is_personal_and_says_so(
    fake: FakeDiscord, adapter: DiscordAdapter, sample_app: App, where: str
) -> None:
    payload = user_installed(fake, fake.interaction("subscribe", {"query": "diffusion"}), where)
    [answer] = await ask(fake, payload)
    text = answer["content"]
    assert text.startswith("✅ Subscribed you personally to “diffusion”"), text
    assert "Matches will come by direct message" in text
    assert "yours alone" in text and "ask a moderator" not in text
    assert answer["flags"] & 64  # ephemeral: about the caller only
    async with sample_app.sessions() as s:
        rows = list((await s.execute(DestinationRow.__table__.select())).all())
    assert [(r.kind, r.external_id, r.address) for r in rows] == [
        ("user", fake.alice["id"], None)  # never the group DM or the other server's channel
    ]


async def test_a_channel_command_from_a_server_without_the_bot_is_refused_with_why(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    """Not offered there (guild install only), but a stale client may still send it."""
    payload = fake.interaction("digest", sub=["now"], permissions=ALL_PERMISSIONS)
    [answer] = await ask(fake, user_installed(fake, payload, "server without the bot"))
    assert "Only people who may manage this channel" in answer["content"]
    assert answer["flags"] & 64


async def test_the_bots_own_dm_from_a_user_install_still_acts_on_you(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    payload = fake.interaction("subscribe", {"query": "agents"}, dm=True)
    payload["authorizing_integration_owners"] = {"1": fake.alice["id"]}
    [answer] = await ask(fake, payload)
    assert answer["content"].startswith("✅ Subscribed you personally to “agents”")
    assert "yours alone" not in answer["content"]


@pytest.mark.parametrize("where", WHERE)
async def test_personal_settings_work_from_a_user_install(
    fake: FakeDiscord, adapter: DiscordAdapter, sample_app: App, where: str
) -> None:
    payload = user_installed(fake, fake.interaction("alerts", sub=["instant"]), where)
    [alerts] = await ask(fake, payload)
    assert alerts["content"].startswith("✅"), alerts["content"]
    [muted] = await ask(
        fake, user_installed(fake, fake.interaction("mute", {"duration": "3d"}), where)
    )
    assert muted["content"].startswith("✅"), muted["content"]
    async with sample_app.sessions() as s:
        rows = list((await s.execute(DestinationRow.__table__.select())).all())
    assert [(r.kind, r.external_id, r.alerts_mode) for r in rows] == [
        ("user", fake.alice["id"], "instant")
    ]
    assert rows[0].muted_until is not None


async def test_a_server_with_both_installs_is_the_bots_and_so_is_one_without_owners(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    for owners in ({"0": fake.guild_id, "1": fake.alice["id"]}, None):
        payload = fake.interaction("subscribe", {"query": "agents"}, permissions=ALL_PERMISSIONS)
        if owners is None:
            payload.pop("authorizing_integration_owners")
        else:
            payload["authorizing_integration_owners"] = owners
        [answer] = await ask(fake, payload)
        assert answer["content"].startswith("✅ Subscribed #general"), answer["content"]
        await ask(fake, fake.interaction("unsubscribe", {"id": "1"}, permissions=ALL_PERMISSIONS))
