"""subscriptions import / export on Discord, end to end: real discord.py against the fake
Discord. A text option cannot hold a line break, so ";" separates the queries there, and
the export's lines come back as text a user copies."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.discord import DiscordAdapter
from bot.app import App
from bot.commands import build_registry
from bot.core import Core
from tests.discord_helpers import running_adapter, say
from tests.fakes.discord_server import EPHEMERAL, FakeDiscord


@pytest.fixture
async def bot(fake: FakeDiscord, sample_app: App) -> AsyncIterator[DiscordAdapter]:
    async with running_adapter(fake, Core(sample_app, build_registry())) as adapter:
        yield adapter


async def test_import_then_export_over_discord(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    queries = 'agents; "world model" upvotes>=20; (broken; @everyone diffusion'
    [msg] = await say(fake, "subscriptions", {"action": "import", "queries": queries})
    content = msg["content"]
    assert "Added 3:" in content and "1 invalid, not imported:" in content
    assert "line 3 '(broken': Unclosed \"(\" at position 1" in content
    assert "@everyone" not in content.replace("@\u200beveryone", "")  # escaped: never pings
    assert msg["allowed_mentions"] == {"parse": []}
    head, body = await say(fake, "subscriptions", {"action": "export"}, count=2)
    assert head["flags"] & EPHEMERAL and body["flags"] & EPHEMERAL
    assert "/subscriptions action:import queries:<the lines>" in head["content"]
    lines = body["content"].splitlines()
    assert lines[0].endswith("paperbot subscriptions v1") and "agents" in lines[-3]
