"""find: the papers a pasted text names, on any platform (Discord also offers "Find paper")."""

from __future__ import annotations

from bot.messages import Notice, PaperCard, PaperList
from bot.sources.huggingface import parse_daily_items
from tests.helpers import TestBot, daily_item


async def store(bot: TestBot, *pairs: tuple[str, str]) -> None:
    papers, _ = parse_daily_items([daily_item(i, t, day="2024-12-23") for i, t in pairs], None)
    await bot.app.papers.upsert(papers)


async def test_ids_and_links_give_private_cards(bot: TestBot) -> None:
    await store(bot, ("2501.00001", "Sparse Experts"), ("2501.00002", "Dense Experts"))
    replies = await bot.say("/find read https://huggingface.co/papers/2501.00002 and 2501.00001!")
    assert [type(r) for r in replies] == [PaperCard, PaperCard]
    assert [r.paper.id for r in replies] == ["2501.00002", "2501.00001"]  # type: ignore[union-attr]
    assert all(r.ephemeral for r in replies)


async def test_several_title_matches_are_a_private_choice(bot: TestBot) -> None:
    await store(
        bot,
        ("2501.00001", "Scaling Laws for Sparse Mixture of Experts"),
        ("2501.00002", "Scaling Laws for Dense Mixture of Experts"),
    )
    [reply] = await bot.say("/find scaling laws mixture of experts")
    assert isinstance(reply, PaperList) and reply.pick == "find" and reply.ephemeral


async def test_a_text_too_long_for_a_title_says_what_to_do(bot: TestBot) -> None:
    [reply] = await bot.say("/find " + "word " * 100)
    assert isinstance(reply, Notice)
    assert reply.text.startswith("That text has no arXiv id or arXiv/Hugging Face link")
    assert "/paper <title words>" in reply.text
