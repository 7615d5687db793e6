"""Help in sections with examples: the core groups every command; Discord shows an embed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.discord import DiscordAdapter
from bot.app import App
from bot.commands import build_registry
from bot.commands.help import EXAMPLES
from bot.core import Core
from bot.messages import Fields
from tests.discord_helpers import running_adapter, say
from tests.fakes.discord_server import EPHEMERAL, FakeDiscord, embed_length
from tests.helpers import TestBot


async def test_every_command_is_in_exactly_one_section(bot: TestBot) -> None:
    [reply] = await bot.say("/help")
    assert isinstance(reply, Fields)
    titles = [s.title for s in reply.sections]
    assert titles[0] == "Find papers" and titles[-1] == EXAMPLES
    listed = [term for s in reply.sections if s.title != EXAMPLES for term, _ in s.entries]
    usages = [f"/{c.usage}" for c in bot.core.registry.all()]
    assert sorted(listed) == sorted(usages)  # each once, none forgotten
    [examples] = [s for s in reply.sections if s.title == EXAMPLES]
    assert ("/paper 2412.17747", "") in examples.entries
    for example, _ in examples.entries:
        assert bot.core.resolve(example.lstrip("/")) is not None  # each one runs


async def test_help_for_a_group_has_a_section_per_command(bot: TestBot) -> None:
    [reply] = await bot.say("/help alerts")
    assert isinstance(reply, Fields)
    assert [s.title for s in reply.sections] == [
        "alerts daily",
        "alerts weekly",
        "alerts instant",
        "alerts quiet",
        "alerts suggest",
    ]
    daily = reply.sections[0]
    assert daily.entries[0][0].startswith("/alerts daily")
    assert ("/alerts daily 08:00 America/New_York", "") in daily.entries


@pytest.fixture
async def discord_bot(fake: FakeDiscord, sample_app: App) -> AsyncIterator[DiscordAdapter]:
    async with running_adapter(fake, Core(sample_app, build_registry())) as adapter:
        yield adapter


async def test_discord_help_is_one_embed_with_sections(
    fake: FakeDiscord, discord_bot: DiscordAdapter
) -> None:
    [msg] = await say(fake, "help")
    assert msg["flags"] & EPHEMERAL and not msg["content"]
    [embed] = msg["embeds"]
    names = [f["name"] for f in embed["fields"]]
    assert names[0] == "Find papers" and names[-1] == "Examples"
    assert embed_length(embed) <= 6000 and all(len(f["value"]) <= 1024 for f in embed["fields"])
    find = embed["fields"][0]["value"].splitlines()
    # Usage in a code span (Discord options style), then what it does.
    assert find[0].startswith("`/paper <arXiv id | URL | title words>` — Show one paper")
    assert "`/paper 2412.17747`" in embed["fields"][-1]["value"]
    assert embed["footer"]["text"] == "Details and examples: /help <command>"


async def test_discord_help_for_one_command(fake: FakeDiscord, discord_bot: DiscordAdapter) -> None:
    [msg] = await say(fake, "help", {"command": "subscribe"})
    [embed] = msg["embeds"]
    [field] = embed["fields"]
    assert field["name"] == "subscribe"
    lines = field["value"].splitlines()
    assert lines[0].startswith(
        "`/subscribe <query> [dm:True] [when_crossed:True]` — Subscribe this channel"
    )
    assert "`/subscribe author:LeCun --dm`" in lines


def test_huge_sections_stay_within_discords_limits() -> None:
    from adapters.discord.render import render
    from bot.messages import Section
    from tests.fakes.discord_server import message_problems

    entries = tuple(("/x `" + "y" * 300 + "` @everyone", "‮ *bold* " * 80) for _ in range(60))
    reply = Fields("Help", (), sections=tuple(Section(f"S{i}", entries) for i in range(30)))
    for out in render(reply, interactive=True):
        data = {"content": out.content, "embeds": [e.to_dict() for e in out.embeds]}
        assert message_problems(data) == []
        assert "‮" not in str(data)
        assert all(len(e.fields) <= 25 for e in out.embeds)
