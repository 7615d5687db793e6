"""The message command "Find paper": ids, links or a title in a message, answered privately."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.discord import DiscordAdapter
from bot.app import App
from bot.commands import build_registry
from bot.core import Core
from bot.services.references import find_references, title_in
from bot.sources.huggingface import parse_daily_items
from tests.discord_helpers import running_adapter
from tests.fakes.discord_server import EPHEMERAL, FakeDiscord, message_problems
from tests.helpers import daily_item

TITLES = {
    "2501.00001": "Scaling Laws for Sparse Mixture of Experts",
    "2501.00002": "Latent Reasoning Without Words",
    "2501.00003": "Protein Folding at Scale",
    "2501.00004": "A Fourth Paper",
}


@pytest.fixture
async def bot(fake: FakeDiscord, sample_app: App) -> AsyncIterator[DiscordAdapter]:
    items = [daily_item(pid, title, day="2024-12-23") for pid, title in TITLES.items()]
    papers, _ = parse_daily_items(items, None)
    await sample_app.papers.upsert(papers)
    async with running_adapter(fake, Core(sample_app, build_registry())) as adapter:
        yield adapter


async def find(fake: FakeDiscord, content: str, count: int = 1, **kw: Any) -> list[dict[str, Any]]:
    payload = fake.message_command("Find paper", content, **kw)
    msgs = await fake.wait_reply(await fake.interact(payload), count=count, within=10)
    for m in msgs:
        assert message_problems(m) == [] and m["allowed_mentions"] == {"parse": []}
        assert m["flags"] & EPHEMERAL, m  # only the asker sees what was found
    return msgs


def titles(msgs: list[dict[str, Any]]) -> list[str]:
    return [e["title"] for m in msgs for e in m["embeds"]]


async def test_it_is_offered_on_messages(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    [menu] = [c for c in fake.synced["global"] if c.get("type") == 3]
    assert menu["name"] == "Find paper"


async def test_links_and_ids_in_a_message_answer_with_their_cards(
    fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    text = (
        "Have you read [this](https://arxiv.org/abs/2501.00002v2)? Also "
        "https://huggingface.co/papers/2501.00001 — and again 2501.00002."
    )
    msgs = await find(fake, text, count=2)
    assert titles(msgs) == [TITLES["2501.00002"], TITLES["2501.00001"]]


async def test_at_most_three_cards_and_the_rest_named(
    fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    msgs = await find(fake, "2501.00001 2501.00002 2501.00003 2501.00004", count=4)
    assert titles(msgs) == [TITLES[f"2501.0000{n}"] for n in (1, 2, 3)]
    assert "the others: 2501.00004" in msgs[-1]["content"]


async def test_a_title_in_a_message_is_looked_up(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    [msg] = await find(fake, "Protein Folding at Scale\nwhat do you think?")
    assert titles([msg]) == [TITLES["2501.00003"]]


async def test_links_in_a_bots_embeds_count(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    embed = {"title": "1. Something", "url": "https://huggingface.co/papers/2501.00003"}
    [msg] = await find(fake, "", embeds=[embed])
    assert titles([msg]) == [TITLES["2501.00003"]]


@pytest.mark.parametrize(
    ("content", "answer"),
    [
        ("ok", "There is no arXiv id, arXiv or Hugging Face link, or title in that text."),
        ("", "That message has no text to look for papers in."),
        ("1706.99999 is it", "No paper found for 1706.99999."),
    ],
)
async def test_nothing_to_find_gets_a_short_clear_answer(
    fake: FakeDiscord, bot: DiscordAdapter, content: str, answer: str
) -> None:
    [msg] = await find(fake, content)
    assert msg["content"].endswith(answer) and not msg["embeds"]


def test_references_in_free_text() -> None:
    text = (
        "see 2412.17747. [x](https://arxiv.org/pdf/2501.00001v2.pdf) "
        "<https://huggingface.co/papers/2502.12345|hf> arXiv:hep-th/9901001 "
        "costs 2024.1234 and 2412.17747v3 again"
    )
    assert find_references(text) == ["2412.17747", "2501.00001", "2502.12345", "hep-th/9901001"]
    assert find_references("nothing here, 3.14159 or v2") == []
    assert title_in("\n  > **Scaling Laws**  \nmore") == "Scaling Laws"
    assert title_in(" \n ?! \n") is None


async def test_a_pick_from_finds_choice_stays_private(
    fake: FakeDiscord, bot: DiscordAdapter, sample_app: App
) -> None:
    items = [
        daily_item("2501.00011", "Scaling Laws for Sparse Mixture of Experts", day="2024-12-23"),
        daily_item("2501.00012", "Scaling Laws for Dense Mixture of Experts", day="2024-12-23"),
    ]
    papers, _ = parse_daily_items(items, None)
    await sample_app.papers.upsert(papers)
    [msg] = await find(fake, "scaling laws mixture of experts")
    # The picker, beside the menu of the papers' 👍 👎 🔖 Similar.
    [menu] = [
        c
        for row in msg["components"]
        for c in row["components"]
        if c["type"] == 3 and c["custom_id"].startswith("pb:pick:")
    ]
    assert menu["custom_id"].startswith("pb:pick:find:")
    card = await fake.press(fake.click(menu["custom_id"], msg, values=["2501.00012"]))
    assert card["flags"] & EPHEMERAL
    assert card["embeds"][0]["title"] == "Scaling Laws for Dense Mixture of Experts"
