"""Pick from several: a look-up with several candidates answers with a select menu."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.discord import DiscordAdapter
from adapters.discord.render import render
from bot.app import App, build_app
from bot.commands import build_registry
from bot.core import Core
from bot.messages import PaperItem, PaperList
from bot.papers import Paper
from bot.services.lists import LIST_LIFETIME
from bot.sources.huggingface import parse_daily_items
from tests.discord_helpers import running_adapter, say
from tests.fakes.discord_objects import select_problems
from tests.fakes.discord_server import EPHEMERAL, FakeDiscord
from tests.helpers import FakeClock, daily_item

BOB = FakeDiscord.user("1300000000000000002", "bob")
QUERY = "scaling laws mixture of experts"


async def store_ambiguous(app: App) -> None:
    papers, _ = parse_daily_items(
        [
            daily_item(
                "2501.00001", "Scaling Laws for Sparse Mixture of Experts", day="2024-12-23"
            ),
            daily_item("2501.00002", "Scaling Laws for Dense Mixture of Experts", day="2024-12-23"),
        ],
        None,
    )
    await app.papers.upsert(papers)


@pytest.fixture
async def bot(fake: FakeDiscord, sample_app: App) -> AsyncIterator[DiscordAdapter]:
    await store_ambiguous(sample_app)
    async with running_adapter(fake, Core(sample_app, build_registry())) as adapter:
        yield adapter


def select_of(msg: dict[str, Any]) -> dict[str, Any]:
    # The picker, beside the menu of the papers' 👍 👎 🔖 Similar.
    [menu] = [
        c
        for row in msg["components"]
        for c in row["components"]
        if c["type"] == 3 and c["custom_id"].startswith("pb:pick:")
    ]
    return menu


async def test_several_matches_offer_a_select_and_a_choice_answers_with_the_card(
    fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    [msg] = await say(fake, "paper", {"query": QUERY})
    assert msg["flags"] & EPHEMERAL and "pick one" in msg["content"]
    menu = select_of(msg)
    assert select_problems(menu) == [] and menu["custom_id"].startswith("pb:pick:paper:")
    assert {"2501.00001", "2501.00002"} <= {o["value"] for o in menu["options"]}
    assert len(menu["options"]) == len(msg["embeds"])  # one option per paper listed
    dense = next(o for o in menu["options"] if o["value"] == "2501.00002")
    assert dense["label"].endswith("Scaling Laws for Dense Mixture of Experts")

    card = await fake.press(fake.click(menu["custom_id"], msg, values=["2501.00002"]))
    [embed] = card["embeds"]
    assert embed["title"] == "Scaling Laws for Dense Mixture of Experts"
    assert card["allowed_mentions"] == {"parse": []}


async def test_a_choice_after_a_restart_still_answers(
    fake: FakeDiscord, sample_app: App, clock: FakeClock
) -> None:
    await store_ambiguous(sample_app)
    async with running_adapter(fake, Core(sample_app, build_registry())):
        [msg] = await say(fake, "paper", {"query": QUERY})
    app = build_app(sample_app.settings, source_name="sample", clock=clock)
    try:
        async with running_adapter(fake, Core(app, build_registry())):
            cid = select_of(msg)["custom_id"]
            card = await fake.press(fake.click(cid, msg, values=["2501.00001"]))
            assert card["embeds"][0]["title"] == "Scaling Laws for Sparse Mixture of Experts"
    finally:
        await app.close()


async def test_only_the_asker_picks_and_an_old_choice_expires(
    fake: FakeDiscord, bot: DiscordAdapter, clock: FakeClock
) -> None:
    [msg] = await say(fake, "paper", {"query": QUERY})
    cid = select_of(msg)["custom_id"]
    refused = await fake.press(fake.click(cid, msg, user=BOB, values=["2501.00001"]))
    assert refused["content"] == "Only the person who asked can pick from this list."
    assert refused["flags"] & EPHEMERAL
    clock.advance(seconds=LIST_LIFETIME.total_seconds() + 1)
    late = await fake.press(fake.click(cid, msg, values=["2501.00001"]))
    assert late["content"] == "This choice has expired, run /paper again."


def test_a_long_list_offers_at_most_25_papers_within_discords_limits() -> None:
    items = tuple(
        PaperItem(Paper(id=f"2501.{n:05d}", title="‮ @everyone " + "T" * 300, abstract=""))
        for n in range(40)
    )
    [first] = render(PaperList("Several", items, pick="paper"), interactive=True)
    assert len(first.choices) == 25 and first.pick == "paper"
    for label, value, about in first.choices:
        assert len(label) <= 100 and len(value) <= 100 and len(about) <= 100
        assert "‮" not in label  # no bidi spoofing
    # Not a choice without `pick`, and never in a post the bot makes on its own.
    assert not render(PaperList("List", items), interactive=True)[0].choices
    assert not render(PaperList("Several", items, pick="paper"))[0].choices


async def test_a_long_choice_pages_and_keeps_its_select_menu(
    fake: FakeDiscord, sample_app: App
) -> None:
    from bot.commands.registry import Command, Registry

    async def many(ctx: Any, args: dict[str, Any]) -> list[Any]:
        papers = await sample_app.papers.featured_on(sample_app.clock().date(), limit=8)
        items = tuple(PaperItem(p) for p in papers)
        return [PaperList("Several papers match; pick one:", items, ephemeral=True, pick="paper")]

    registry = Registry([*build_registry().all(), Command("many", "Many.", "many", many)])
    async with running_adapter(fake, Core(sample_app, registry)):
        [msg] = await say(fake, "many")
        assert "page 1/2" in msg["content"] and len(select_of(msg)["options"]) == 8
        nxt = next(
            b for row in msg["components"] for b in row["components"] if b.get("label") == "Next ▶"
        )
        edit = await fake.press(fake.click(nxt["custom_id"], msg))
        assert "page 2/2" in edit["content"]
        menu = select_of(edit)
        assert len(menu["options"]) == 8 and select_problems(menu) == []
        card = await fake.press(
            fake.click(menu["custom_id"], edit, values=[menu["options"][7]["value"]])
        )
        assert card["embeds"] and card["embeds"][0]["title"]
