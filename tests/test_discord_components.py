"""Buttons that outlive the process: paging after a restart, personal lists, expiry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.discord import DiscordAdapter
from bot.app import App, build_app
from bot.commands import build_registry
from bot.core import Core
from bot.services.lists import LIST_LIFETIME
from tests.discord_helpers import embed_titles, running_adapter, say
from tests.fakes.discord_server import EPHEMERAL, FakeDiscord
from tests.helpers import FakeClock

BOB = FakeDiscord.user("1300000000000000002", "bob")


@pytest.fixture
async def bot(fake: FakeDiscord, sample_app: App) -> AsyncIterator[DiscordAdapter]:
    async with running_adapter(fake, Core(sample_app, build_registry())) as adapter:
        yield adapter


def buttons(msg: dict[str, Any]) -> dict[str, dict[str, Any]]:
    # Buttons only: lists also carry a select menu of their papers' 👍 👎 🔖 Similar.
    return {b["label"]: b for row in msg["components"] for b in row["components"] if b["type"] == 2}


def next_id(msg: dict[str, Any]) -> str:
    return str(buttons(msg)["Next ▶"]["custom_id"])


async def test_a_click_after_a_restart_pages_with_the_new_process(
    fake: FakeDiscord, sample_app: App, clock: FakeClock
) -> None:
    async with running_adapter(fake, Core(sample_app, build_registry())):
        [msg] = await say(fake, "papers", {"day": "today", "limit": 12})
    assert "page 1/3" in msg["content"]
    cid = next_id(msg)
    assert cid.startswith("pb:pg:papers:") and len(cid) <= 100

    # A new process: new services on the same database, a new discord.py client.
    app = build_app(sample_app.settings, source_name="sample", clock=clock)
    try:
        async with running_adapter(fake, Core(app, build_registry())):
            edit = await fake.press(fake.click(cid, msg))
            assert edit["edit_of_component"] and "page 2/3" in edit["content"]
            assert embed_titles(edit)[0].startswith("6. ")
            assert not buttons(edit)["◀ Prev"]["disabled"]
            last = await fake.press(fake.click(next_id(edit), edit))
            assert "page 3/3" in last["content"] and embed_titles(last)[0].startswith("11. ")
            assert buttons(last)["Next ▶"]["disabled"]
            assert all(m["allowed_mentions"] == {"parse": []} for m in (edit, last))
    finally:
        await app.close()


async def test_anyone_may_page_a_public_list(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    [msg] = await say(fake, "papers", {"day": "today", "limit": 12})
    assert not msg["flags"] & EPHEMERAL
    assert ":0:" in next_id(msg)  # no owner
    edit = await fake.press(fake.click(next_id(msg), msg, user=BOB))
    assert "page 2/3" in edit["content"]


async def test_only_the_asker_pages_a_personal_list(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    [msg] = await say(fake, "search", {"query": "neural OR models OR learning", "days": 30})
    assert msg["flags"] & EPHEMERAL and "page 1/" in msg["content"]
    refused = await fake.press(fake.click(next_id(msg), msg, user=BOB))
    assert refused["content"] == "Only the person who asked can page this list."
    assert refused["flags"] & EPHEMERAL and not refused.get("edit_of_component")
    mine = await fake.press(fake.click(next_id(msg), msg))
    assert mine["edit_of_component"] and "page 2/" in mine["content"]


async def test_an_expired_list_says_so_and_how_to_get_a_new_one(
    fake: FakeDiscord, bot: DiscordAdapter, clock: FakeClock
) -> None:
    [msg] = await say(fake, "papers", {"day": "today", "limit": 12})
    clock.advance(seconds=LIST_LIFETIME.total_seconds() + 60)
    answer = await fake.press(fake.click(next_id(msg), msg))
    assert answer["content"] == "This list has expired, run /papers again."
    assert answer["flags"] & EPHEMERAL and not answer.get("edit_of_component")


@pytest.mark.parametrize(
    ("custom_id", "again"),
    [
        ("pb:pg:papers:zzzz", "run /papers again"),  # ours, but cut short or newer
        ("pb:pg:papers:0123456789ab:1:0:zzzzzz", "run /papers again"),  # no such list stored
        ("pb:pg:digest.preview:0123456789ab:1:0:zzzzzz", "run /digest preview again"),
        ("0f" * 16, "run the command again"),  # the in-memory pager's, before this version
    ],
)
async def test_a_button_that_cannot_be_read_answers_instead_of_failing(
    fake: FakeDiscord, bot: DiscordAdapter, custom_id: str, again: str
) -> None:
    [msg] = await say(fake, "papers", {"day": "today", "limit": 12})
    msg["components"][0]["components"][1]["custom_id"] = custom_id  # as if posted so
    answer = await fake.press(fake.click(custom_id, msg))
    assert answer["content"] == f"This list has expired, {again}."
    assert answer["flags"] & EPHEMERAL
