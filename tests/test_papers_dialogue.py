"""Dialogues with the core: /help, /paper and /papers, offline on the bundled sample and on
stored Hugging Face papers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest

from bot.app import App, build_app
from bot.messages import Fields, Notice, PaperCard, PaperList, Tone
from bot.services.ingest import ingest_day, store
from bot.settings import load_settings
from bot.sources.arxiv import ArxivClient
from bot.sources.huggingface import HuggingFaceClient, parse_daily_items
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.hf_server import FakeHF
from tests.helpers import FakeClock, TestBot, daily_item

DELIBERATION = "Deliberation in Latent Space via Differentiable Cache Augmentation"


@pytest.fixture
async def sample_bot(bot: TestBot) -> TestBot:
    await ingest_day(bot.app, bot.app.clock().date())
    return bot


async def stored(app: App, *items: dict[str, object]) -> None:
    papers, skipped = parse_daily_items(list(items), None)
    assert skipped == 0
    await app.papers.upsert(papers)


async def test_papers_today_lists_the_sample_by_upvotes(sample_bot: TestBot) -> None:
    [reply] = await sample_bot.say("/papers today")
    assert isinstance(reply, PaperList)
    assert reply.title == "Daily Papers — Tuesday 2024-12-24 (76 papers)"
    assert len(reply.items) == 10
    assert reply.items[0].paper.title == DELIBERATION
    assert reply.footer == "and 66 more — /papers 2024-12-24 76"


async def test_papers_with_a_limit_alone_means_today(sample_bot: TestBot) -> None:
    [reply] = await sample_bot.say("/papers 25")
    assert isinstance(reply, PaperList)
    assert len(reply.items) == 25


async def test_paper_by_title_words_shows_the_card(sample_bot: TestBot) -> None:
    [reply] = await sample_bot.say("/paper deliberation in latent space")
    assert isinstance(reply, PaperCard)
    assert reply.paper.title == DELIBERATION
    assert reply.paper.arxiv_id is None  # the sample invents no ids


async def test_paper_by_title_with_typos(sample_bot: TestBot) -> None:
    [reply] = await sample_bot.say("/paper Deliberaton in Latnt Space via Diferentiable Cache")
    assert isinstance(reply, PaperCard)
    assert reply.paper.title == DELIBERATION


async def test_paper_by_sample_id(sample_bot: TestBot) -> None:
    [reply] = await sample_bot.say("/paper sample-02")
    assert isinstance(reply, PaperCard)
    assert reply.paper.title.startswith("SelfPose3d")


async def test_sample_id_without_leading_zero(sample_bot: TestBot) -> None:
    [reply] = await sample_bot.say("/paper Sample-2")
    assert isinstance(reply, PaperCard)
    assert reply.paper.id == "sample-02"


async def test_unknown_sample_id_names_the_range(sample_bot: TestBot) -> None:
    [reply] = await sample_bot.say("/paper sample-99")
    assert isinstance(reply, Notice)
    assert reply.text == (
        "There is no sample paper sample-99; the bundled sample holds sample-01 to sample-76. "
        "Browse them with /papers today."
    )


async def test_unknown_arxiv_id_offline_says_so(sample_bot: TestBot) -> None:
    [reply] = await sample_bot.say("/paper 2412.17747")
    assert isinstance(reply, Notice)
    assert reply.tone == Tone.WARNING
    assert "2412.17747 is not in the local database" in reply.text
    assert "offline" in reply.text


async def test_nonsense_query_gets_a_helpful_no_match(sample_bot: TestBot) -> None:
    [reply] = await sample_bot.say("/paper nonsense query xyz")
    assert isinstance(reply, Notice)
    assert "No paper matches 'nonsense query xyz'" in reply.text
    assert "/papers today" in reply.text


async def test_stored_paper_by_id_version_and_urls(bot: TestBot) -> None:
    await stored(bot.app, daily_item("2412.17747", DELIBERATION, day="2024-12-24", upvotes=30))
    for ref in (
        "2412.17747",
        "2412.17747v3",
        "arXiv:2412.17747",
        "https://arxiv.org/abs/2412.17747v1",
        "https://arxiv.org/pdf/2412.17747",
        "https://huggingface.co/papers/2412.17747",
    ):
        [reply] = await bot.say(f"/paper {ref}")
        assert isinstance(reply, PaperCard), ref
        assert reply.paper.id == "2412.17747"
        assert reply.paper.hf_url == "https://huggingface.co/papers/2412.17747"
        assert reply.paper.featured_on == (date(2024, 12, 24),)


@pytest.mark.parametrize(
    "ref",
    [
        "<https://arxiv.org/abs/2412.17747>",  # how Slack delivers a pasted link
        "<https://huggingface.co/papers/2412.17747|huggingface.co/papers/2412.17747>",
        "HTTPS://ArXiv.org/abs/2412.17747",
        "(2412.17747).",
        "arxiv.org/abs/2412.17747v2,",
        "“2412.17747”",
    ],
)
async def test_pasted_ids_and_links_with_wrapping_or_punctuation(bot: TestBot, ref: str) -> None:
    await stored(bot.app, daily_item("2412.17747", DELIBERATION, day="2024-12-24"))
    [reply] = await bot.say(f"/paper {ref}")
    assert isinstance(reply, PaperCard), reply
    assert reply.paper.id == "2412.17747"


async def test_ambiguous_title_offers_a_short_list(bot: TestBot) -> None:
    await stored(
        bot.app,
        daily_item("2501.00001", "Scaling Laws for Sparse Mixture of Experts", day="2024-12-23"),
        daily_item("2501.00002", "Scaling Laws for Dense Mixture of Experts", day="2024-12-23"),
    )
    [reply] = await bot.say("/paper scaling laws mixture of experts")
    assert isinstance(reply, PaperList)
    assert {i.paper.id for i in reply.items} == {"2501.00001", "2501.00002"}
    assert reply.ephemeral


async def test_papers_for_a_stored_day_ranks_by_upvotes(bot: TestBot, clock: FakeClock) -> None:
    await stored(
        bot.app,
        daily_item("2412.00001", "Low", day="2024-12-20", upvotes=3),
        daily_item("2412.00002", "High", day="2024-12-20", upvotes=90),
        daily_item("2412.00003", "Other day", day="2024-12-19", upvotes=99),
    )
    [reply] = await bot.say("/papers 2024-12-20")
    assert isinstance(reply, PaperList)
    assert [i.paper.id for i in reply.items] == ["2412.00002", "2412.00001"]
    assert reply.footer is None


async def test_empty_day_points_to_the_latest_list(bot: TestBot) -> None:
    await stored(bot.app, daily_item("2412.00002", "High", day="2024-12-20"))
    [reply] = await bot.say("/papers 2024-12-21")
    assert isinstance(reply, Notice)
    assert reply.text == (
        "No Daily Papers for Saturday 2024-12-21 yet (Daily Papers has no list on weekends). "
        "The latest day with papers is 2024-12-20: try /papers 2024-12-20."
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("/papers 2024-13-01", "'2024-13-01' is not a day; use today, yesterday or YYYY-MM-DD."),
        ("/papers 2024-12-25", "2024-12-25 is in the future; Daily Papers has no list for it yet."),
        ("/papers today 0", "limit must be at least 1."),
        ("/papers today many", "limit must be a whole number, not 'many'."),
        ("/papers 500", "limit must be from 1 to 100."),
        ("/papers 0", "limit must be from 1 to 100."),
        ("/papers today 0", "limit must be at least 1."),
        ("/papers today 5 extra", "Too many arguments: 'extra'."),
        ("/paper", "Missing query: an arXiv id, an arXiv or Hugging Face link, or title words."),
    ],
)
async def test_bad_arguments_name_the_problem_and_show_usage(
    bot: TestBot, line: str, message: str
) -> None:
    [reply] = await bot.say(line)
    assert isinstance(reply, Notice)
    assert reply.tone == Tone.ERROR
    assert reply.text == message
    assert reply.usage is not None and reply.usage.startswith("/paper")
    assert reply.ephemeral


async def test_help_lists_every_command_with_usage(bot: TestBot) -> None:
    [reply] = await bot.say("/help")
    assert isinstance(reply, Fields)
    usages = [name for name, _ in reply.rows]
    for command in bot.core.registry.all():
        assert f"/{command.usage}" in usages


async def test_help_for_one_command_shows_examples(bot: TestBot) -> None:
    [reply] = await bot.say("/help paper")
    assert isinstance(reply, Fields)
    [(usage, detail)] = reply.rows
    assert usage == "/paper <arXiv id | URL | title words>"
    assert "Examples: /paper 2412.17747" in detail


async def test_unknown_command_and_unknown_help_topic(bot: TestBot) -> None:
    [reply] = await bot.say("/frobnicate now")
    assert isinstance(reply, Notice) and reply.tone == Tone.ERROR
    assert reply.text.startswith("Unknown command 'frobnicate'.")
    assert "Try /help." in reply.text
    [reply] = await bot.say("/help frobnicate")
    assert isinstance(reply, Notice) and reply.text == "There is no command 'frobnicate'."


@pytest.mark.parametrize(
    ("line", "what"), [("/digest", ""), ("/Digest frobnicate 3", "frobnicate")]
)
async def test_a_command_group_alone_or_with_an_unknown_action(
    bot: TestBot, line: str, what: str
) -> None:
    [reply] = await bot.say(line)
    assert isinstance(reply, Notice) and reply.tone == Tone.ERROR
    actions = [c.name.split(" ", 1)[1] for c in bot.core.registry.groups()["digest"]]
    head = f"digest has no action {what!r}" if what else "digest needs an action"
    assert reply.text == f"{head}: one of {', '.join(actions)}. Details: /help digest."
    assert reply.ephemeral


async def test_empty_line_shows_help(bot: TestBot) -> None:
    [reply] = await bot.say("/")
    assert isinstance(reply, Fields)


async def test_a_crashing_command_answers_with_a_short_apology(
    bot: TestBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database on fire: password=hunter2")

    monkeypatch.setattr(bot.app.papers, "featured_on", boom)
    [reply] = await bot.say("/papers 2024-12-20")
    assert isinstance(reply, Notice) and reply.tone == Tone.ERROR
    assert reply.text.startswith("Sorry, something went wrong")
    assert "hunter2" not in reply.text
    assert "command 'papers' failed" in caplog.text


async def test_title_look_up_sees_papers_stored_by_another_process(
    bot: TestBot, db_url: str, clock: FakeClock
) -> None:
    """A cron `paperbot ingest` (another process) stores papers while the bot runs."""
    await stored(bot.app, daily_item("2412.17747", DELIBERATION, day="2024-12-24"))
    [first] = await bot.say("/paper deliberation in latent space")
    assert isinstance(first, PaperCard)  # the title index is built now
    other = build_app(load_settings({"DATABASE_URL": db_url}), source_name="sample", clock=clock)
    try:
        clock.advance(minutes=5)
        await stored(
            other,
            daily_item(
                "2501.04001", "Sparse Rehearsal for Small Language Models", day="2025-01-06"
            ),
        )
        clock.advance(minutes=5)
        await stored(
            other,
            daily_item("2412.17747", "Deliberation in Latent Space, Revised", day="2024-12-24"),
        )
    finally:
        await other.close()
    [found] = await bot.say("/paper sparse rehearsal small language models")
    assert isinstance(found, PaperCard) and found.paper.id == "2501.04001"
    [renamed] = await bot.say("/paper deliberation in latent space revised")
    assert isinstance(renamed, PaperCard)
    assert renamed.paper.title == "Deliberation in Latent Space, Revised"


async def test_title_look_up_sees_papers_fetched_online_by_id(bot: TestBot) -> None:
    """The index learns every stored title, whichever way the paper came in."""
    await stored(bot.app, daily_item("2412.17747", DELIBERATION, day="2024-12-24"))
    await bot.say("/paper deliberation in latent space")
    await store(
        bot.app,
        parse_daily_items([daily_item("2501.04001", "Sparse Rehearsal", day="2025-01-06")], None)[
            0
        ],
    )
    [found] = await bot.say("/paper sparse rehearsal")
    assert isinstance(found, PaperCard) and found.paper.id == "2501.04001"


async def test_hidden_authors_are_neither_shown_nor_matched(bot: TestBot) -> None:
    item = daily_item("2501.05001", "Sparse Rehearsal", day="2024-12-24", authors=("Ada Byron",))
    item["paper"]["authors"].append(  # type: ignore[index]
        {"_id": "x", "name": "Hedda Hidden", "hidden": True}
    )
    await stored(bot.app, item)
    [card] = await bot.say("/paper 2501.05001")
    assert isinstance(card, PaperCard) and card.paper.authors == ("Ada Byron",)
    assert "matches 1 of 1" in await bot.text('/search author:"Ada Byron"')
    assert "matches 0 of 1" in await bot.text("/search author:Hidden")


@pytest.fixture
async def offline_sources(app: App) -> AsyncIterator[App]:
    """The app online, but Hugging Face and arXiv both answer every request with a 503."""
    async with FakeHF() as hf, FakeArxiv() as arxiv:
        hf.fail_always(503)
        arxiv.queued.extend([(503, "down")] * 10)
        quick = {"max_retries": 0, "sleep": _no_sleep}
        app.source = HuggingFaceClient(base_url=hf.url, **quick)  # type: ignore[arg-type]
        app.arxiv = ArxivClient(base_url=arxiv.url, min_interval=0, **quick)  # type: ignore[arg-type]
        app.online = True
        yield app
        await app.source.close()  # type: ignore[attr-defined]
        await app.arxiv.close()


async def _no_sleep(_: float) -> None:
    return None


async def test_sources_down_is_not_called_no_match(offline_sources: App) -> None:
    bot = TestBot(offline_sources)
    [by_title] = await bot.say("/paper some paper title nobody stored")
    assert isinstance(by_title, Notice) and by_title.tone == Tone.ERROR
    assert by_title.text.startswith(
        "No stored paper matches 'some paper title nobody stored', and neither Hugging Face "
        "nor arXiv answered"
    )
    assert by_title.text.endswith("Try again later.")
    [by_id] = await bot.say("/paper 2412.17747")
    assert isinstance(by_id, Notice) and by_id.tone == Tone.ERROR
    # Each source named once, with what failed; no "did not answer (… is not answering)".
    assert by_id.text.startswith("Could not look up 2412.17747: Hugging Face at http://")
    assert by_id.text.count("Hugging Face") == 1 and by_id.text.count("arXiv") == 1
    assert "did not answer after 1 try (last: HTTP 503); arXiv at http://" in by_id.text
    assert ".)." not in by_id.text and by_id.text.endswith("(last: HTTP 503). Try again later.")


async def test_weak_local_matches_ask_hugging_face_first(app: App) -> None:
    """A title that only comes close to stored ones is searched online before the near
    misses are offered (the README's "local index, then Hugging Face search, then arXiv")."""
    await stored(
        app,
        daily_item("2501.06001", "Is Attention All You Need for Tables?", day="2024-12-24"),
        daily_item(
            "2501.06002",
            "Attention Is Not All You Need: Pure Attention Loses Rank",
            day="2024-12-24",
        ),
        daily_item("2501.06003", "Memory Is All You Need", day="2024-12-24"),
    )
    async with FakeHF() as hf:
        hf.search_results = [
            daily_item("1706.03762", "Attention Is All You Need", day="2017-06-12")
        ]
        app.source = HuggingFaceClient(base_url=hf.url, max_retries=0, sleep=_no_sleep)  # type: ignore[arg-type]
        app.online = True
        try:
            [reply] = await TestBot(app).say("/paper attention is all you need")
        finally:
            await app.source.close()  # type: ignore[attr-defined]
        assert any(r.path == "/api/papers/search" for r in hf.requests)
    assert isinstance(reply, PaperCard) and reply.paper.id == "1706.03762"
    # Without an answer online, the near misses are all there is: offered as a list.
    bot = TestBot(app)
    app.online = False
    [offline] = await bot.say("/paper attention is all you need")
    assert isinstance(offline, PaperList)
    assert [i.paper.id for i in offline.items][:2] == ["2501.06001", "2501.06002"]
