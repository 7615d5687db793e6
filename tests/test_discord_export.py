"""export saved through real discord.py against the fake Discord: the file is an attachment
of the ephemeral answer (a multipart interaction callback), and an empty list sends none."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.discord import DiscordAdapter
from bot.app import App
from bot.commands import build_registry
from bot.core import Core
from bot.sources.huggingface import parse_daily_items
from tests.discord_helpers import running_adapter, say
from tests.fakes.discord_server import FakeDiscord
from tests.helpers import daily_item

EPHEMERAL = 1 << 6


@pytest.fixture
async def adapter(fake: FakeDiscord, sample_app: App) -> AsyncIterator[DiscordAdapter]:
    papers, _ = parse_daily_items(
        [daily_item("2412.17747", "Deliberation in latent space", day="2024-12-23")], None
    )
    await sample_app.papers.upsert(papers, now=sample_app.clock())
    async with running_adapter(fake, Core(sample_app, build_registry())) as running:
        yield running


async def test_export_saved_is_an_attachment_only_the_caller_sees(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    [empty] = await say(fake, "export", {"format": "bibtex"})
    assert "no saved papers" in empty["content"] and empty["attachments"] == []
    assert fake.files == {}
    [saved] = await say(fake, "save", {"paper": "2412.17747"})
    assert "Saved 2412.17747" in saved["content"], saved["content"]
    [answer] = await say(fake, "export", {"format": "bibtex"})
    assert int(answer["flags"]) & EPHEMERAL
    assert "Your 1 saved paper as BibTeX." in answer["content"]
    [attachment] = answer["attachments"]
    assert attachment["filename"] == "paperbot-saved.bib"
    bib = fake.files[attachment["id"]].decode()
    assert bib.startswith("@misc{arxiv:2412.17747,\n")
    assert "eprint = {2412.17747}" in bib and "archivePrefix = {arXiv}" in bib
    assert attachment["size"] == len(bib.encode())


async def test_an_unknown_format_is_refused_by_discord_itself(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    # The format is a choice option on Discord: the synced command offers exactly three.
    # A group of one command is a top-level command on Discord: /export format:bibtex.
    [export] = [c for c in fake.synced["global"] if c["name"] == "export"]
    [fmt] = export["options"]
    assert [c["value"] for c in fmt["choices"]] == ["bibtex", "ris", "json"]
