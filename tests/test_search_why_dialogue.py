"""Dialogues: /search over stored papers (every operator of the query language, end to end)
and /why (which term matched in which field, or why not)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.messages import Fields, Incoming, Notice, PaperList, Reply, Tone
from bot.papers import Paper
from bot.storage.destinations_repo import DestinationRepo
from bot.storage.subscriptions_repo import SubscriptionRepo
from tests.helpers import ADMIN, CHANNEL, DM, MEMBER, TestBot

TODAY = date(2024, 12, 24)  # the FakeClock's day


def paper(
    pid: str,
    title: str,
    *,
    days_ago: int = 0,
    upvotes: int = 1,
    abstract: str = "",
    authors: tuple[str, ...] = (),
    keywords: tuple[str, ...] = (),
) -> Paper:
    return Paper(
        id=pid,
        title=title,
        abstract=abstract,
        authors=authors,
        featured_on=(TODAY - timedelta(days=days_ago),),
        upvotes=upvotes,
        ai_keywords=keywords,
    )


RAIN = paper(
    "2412.00001",
    "Rain Forecasting with Graph Networks",
    upvotes=5,
    abstract="We forecast rainfall over Europe. The model is trained on radar data.",
    authors=("Grace Hopper",),
)
AGENTS = paper(
    "2412.00002",
    "AI Agents for Science",
    days_ago=1,
    upvotes=40,
    abstract="We build an AI lab assistant and compare it with diffusion baselines.",
    authors=("Yann LeCun", "Ada Lovelace"),
)
LLMS = paper(
    "2412.00003",
    "Scaling LLMs with Self Supervised Pretraining",
    days_ago=2,
    upvotes=12,
    abstract="Large language models learn chain of thought reasoning without labels.",
    keywords=("multi-modal learning", "reasoning"),
)
AUDIO = paper(
    "2412.00004",
    "Diffusion Models for Audio Generation",
    days_ago=3,
    upvotes=25,
    abstract="A diffusion model that generates speech and music.",
    keywords=("audio",),
)
VIDEO = paper(
    "2412.00005",
    "Latent Diffusion for Video",
    days_ago=4,
    upvotes=8,
    abstract="Video synthesis in a latent space.",
    authors=("Y. LeCun", "Kaiming He"),
)
POLICY = paper(
    "2412.00006",
    "Diffusion Policies for Robot Manipulation",
    days_ago=5,
    upvotes=1,
    abstract="Robots learn manipulation with a reasoning module.",
)
EXPLAIN = paper(
    "2412.00007",
    "Explainability of Vision Transformers",
    days_ago=6,
    upvotes=2,
    abstract="We study the explainability of ViT models and the rugged loss landscape.",
)
# Only within a 30-day search.
RAG = paper(
    "2412.00008",
    "Multimodal Retrieval-Augmented Generation Benchmarks",
    days_ago=20,
    upvotes=3,
    abstract="RAG systems are evaluated on charts.",
)
CORPUS = [RAIN, AGENTS, LLMS, AUDIO, VIDEO, POLICY, EXPLAIN, RAG]


@pytest.fixture
async def papers_bot(bot: TestBot) -> TestBot:
    await bot.app.papers.upsert(CORPUS)
    return bot


async def found(bot: TestBot, line: str) -> list[str]:
    [reply] = await bot.say(line, user=MEMBER)
    assert isinstance(reply, PaperList), reply
    assert reply.ephemeral
    return [item.paper.id for item in reply.items]


def ids(*papers: Paper) -> list[str]:
    """Paper ids as search lists them: most upvoted first."""
    return [p.id for p in sorted(papers, key=lambda p: -p.upvotes)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # Whole words, case-insensitive: "ai" is not in "rain", "trained" or "explainability".
        ("ai", ids(AGENTS)),
        ("AI", ids(AGENTS)),
        # Plural and singular forms are equal.
        ("LLM", ids(LLMS)),
        ("agent", ids(AGENTS)),
        ('"large language model"', ids(LLMS)),
        # Hyphen, space and concatenation variants.
        ("self-supervised", ids(LLMS)),
        ("selfsupervised", ids(LLMS)),
        ("multimodal", ids(LLMS, RAG)),
        ("chain-of-thought", ids(LLMS)),
        ("retrieval augmented", ids(RAG)),
        # One typo on a long word; never on short words or acronyms.
        ("difusion", ids(AGENTS, AUDIO, VIDEO, POLICY)),
        ("agnets", ids(AGENTS)),
        ("rail", []),
        ("rug", []),
        ("RAG", ids(RAG)),
        ("ViT", ids(EXPLAIN)),
        # Phrases keep their word order.
        ('"graph networks"', ids(RAIN)),
        ('"networks graph"', []),
        # AND, OR, NOT / -, parentheses.
        ("diffusion latent", ids(VIDEO)),
        ("audio OR video", ids(AUDIO, VIDEO)),
        ("diffusion -audio", ids(AGENTS, VIDEO, POLICY)),
        ("diffusion NOT audio NOT video", ids(AGENTS, POLICY)),
        ("diffusion -(audio OR video OR agents)", ids(POLICY)),
        ("(speech OR robots) diffusion", ids(AUDIO, POLICY)),
        # Fields.
        ("title:diffusion", ids(AUDIO, VIDEO, POLICY)),
        ("abstract:rainfall", ids(RAIN)),
        ("title:rainfall", []),
        ("author:LeCun", ids(AGENTS, VIDEO)),
        ('author:"Yann LeCun"', ids(AGENTS, VIDEO)),
        ('author:"Kaiming He"', ids(VIDEO)),
        ("keyword:reasoning", ids(LLMS)),
        ("reasoning", ids(LLMS, POLICY)),
        ("lecun", []),  # unprefixed words do not search authors
        # Upvotes.
        ("diffusion upvotes>=10", ids(AGENTS, AUDIO)),
        ("diffusion upvotes<5", ids(POLICY)),
    ],
)
async def test_search_operators_end_to_end(
    papers_bot: TestBot, query: str, expected: list[str]
) -> None:
    assert await found(papers_bot, f"/search {query} --days 30") == expected


async def test_search_reply_counts_ranks_and_gives_reasons(papers_bot: TestBot) -> None:
    [reply] = await papers_bot.say("/search diffusion OR reasoning")
    assert isinstance(reply, PaperList)
    assert reply.title == (
        "“diffusion OR reasoning” matches 5 of 7 papers of the last 7 days, most upvoted first"
    )
    first = reply.items[0]
    assert first.paper.id == AGENTS.id
    assert first.reasons == ("diffusion in abstract",)
    by_id = {i.paper.id: i.reasons for i in reply.items}
    assert by_id[AUDIO.id] == ("diffusion in title, abstract",)
    assert by_id[LLMS.id] == ("reasoning in abstract, keyword",)
    assert reply.footer == "Subscribe to it: /subscribe diffusion OR reasoning"


async def test_search_window_defaults_to_seven_days(papers_bot: TestBot) -> None:
    assert await found(papers_bot, "/search multimodal") == ids(LLMS)
    assert await found(papers_bot, "/search multimodal --days 21") == ids(LLMS, RAG)
    assert await found(papers_bot, "/search multimodal --days=21") == ids(LLMS, RAG)
    assert await found(papers_bot, "/search ai --days 1") == []


async def test_search_with_typed_options_as_discord_sends_them(papers_bot: TestBot) -> None:
    incoming = Incoming(
        command="search", user=MEMBER, place=CHANNEL, options={"query": "RAG", "days": "30"}
    )
    [reply] = await papers_bot.core.handle(incoming)
    assert isinstance(reply, PaperList)
    assert [i.paper.id for i in reply.items] == [RAG.id]


async def test_search_shows_the_top_ten_and_counts_the_rest(bot: TestBot) -> None:
    many = [paper(f"2412.1{i:04d}", f"Diffusion study {i}", upvotes=i) for i in range(14)]
    await bot.app.papers.upsert(many)
    [reply] = await bot.say("/search diffusion")
    assert isinstance(reply, PaperList)
    assert [i.paper.upvotes for i in reply.items] == list(range(13, 3, -1))
    assert reply.footer == "and 4 more; narrow the query to see fewer."


async def test_search_without_matches_suggests_what_to_do(papers_bot: TestBot) -> None:
    [reply] = await papers_bot.say("/search protein folding")
    assert isinstance(reply, PaperList)
    assert reply.items == ()
    assert reply.title.startswith("“protein folding” matches 0 of 7 papers")
    assert reply.empty_text.startswith("No paper matches. Loosen the query")


async def test_search_with_no_stored_papers_says_so(bot: TestBot) -> None:
    [reply] = await bot.say("/search diffusion")
    assert isinstance(reply, Notice)
    assert reply.text == (
        "No papers are stored for the last 7 days, so there is nothing to search. "
        "Try a longer period: /search diffusion --days 365."
    )
    await bot.app.papers.upsert([paper("2301.00001", "Old", days_ago=400)])
    [reply] = await bot.say("/search diffusion --days 365")
    assert isinstance(reply, Notice)
    assert reply.text == (
        "No papers are stored for the last 365 days, so there is nothing to search. "
        "The latest stored day is 2023-11-20."
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("/search", "Missing query: the query, as for subscribe."),
        ("/search diffusion --days 0", "days must be at least 1."),
        ("/search diffusion --days 366", "days must be at most 365."),
        ("/search diffusion --days week", "days must be a whole number, not 'week'."),
        ("/search diffusion --days", "--days needs a number of days, as in --days 30."),
        (
            "/search diffusion --days 30 video",
            '"--days" is an option, not part of the query: put it after the query.',
        ),
        (
            "/search --dm diffusion",
            '"--dm" is not part of a query, and search has no such option.',
        ),
        (
            "/search (diffusion OR gan",
            'Unclosed "(" at position 1. A valid query looks like: '
            '(diffusion OR "flow matching") video',
        ),
    ],
)
async def test_search_errors(papers_bot: TestBot, line: str, message: str) -> None:
    [reply] = await papers_bot.say(line)
    assert isinstance(reply, Notice) and reply.tone == Tone.ERROR
    assert reply.text == message
    assert reply.usage == "/search <query> [--days 1-365]"


async def test_search_errors_point_at_the_position(papers_bot: TestBot) -> None:
    for line, position in (
        ("/search diffusion OR", 11),
        ("/search diffusion upvotes>=many", 20),
        ('/search "chain of', 1),
    ):
        [reply] = await papers_bot.say(line)
        assert isinstance(reply, Notice) and reply.tone == Tone.ERROR
        assert f" at position {position}. A valid query looks like: " in reply.text, line


async def subscribe(bot: TestBot, line: str, **where: object) -> None:
    [reply] = await bot.say(line, **where)  # type: ignore[arg-type]
    assert isinstance(reply, Notice) and reply.tone == Tone.SUCCESS, reply


def rows(replies: list[Reply]) -> dict[str, str]:
    [reply] = replies
    assert isinstance(reply, Fields), reply
    assert reply.ephemeral
    return dict(reply.rows)


async def test_why_explains_every_subscription_here(papers_bot: TestBot) -> None:
    await subscribe(papers_bot, "/subscribe diffusion -audio")
    await subscribe(papers_bot, "/subscribe title:diffusion")
    await subscribe(papers_bot, "/subscribe author:LeCun --dm")
    await subscribe(papers_bot, "/subscribe robots", place=DM, user=MEMBER)  # bob's: not shown
    [reply] = await papers_bot.say(f"/why {AGENTS.id}")
    assert isinstance(reply, Fields)
    assert reply.title == "Why “AI Agents for Science” [2412.00002] matches 2 of 3 subscriptions"
    assert list(dict(reply.rows)) == [  # matches first
        "#1 ✓ matches: diffusion -audio",
        "#3 ✓ matches: author:LeCun",
        "#2 ✗ does not match: title:diffusion",
    ]
    explained = dict(reply.rows)
    assert explained["#1 ✓ matches: diffusion -audio"] == (
        '✓ diffusion: found in abstract "diffusion"\n✓ NOT audio: not found'
    )
    assert explained["#3 ✓ matches: author:LeCun"] == '✓ author:lecun: found in author "Yann LeCun"'
    assert explained["#2 ✗ does not match: title:diffusion"] == "✗ title:diffusion: not found"


async def test_why_one_subscription_by_hash_id_and_title_words(papers_bot: TestBot) -> None:
    await subscribe(papers_bot, "/subscribe diffusion -audio")
    await subscribe(papers_bot, "/subscribe speech")
    explained = rows(await papers_bot.say("/why diffusion models for audio generation #1"))
    assert explained == {
        "#1 ✗ does not match: diffusion -audio": (
            '✓ diffusion: found in title "Diffusion", abstract "diffusion"\n'
            '✗ NOT audio: found in title "Audio", keyword "audio"'
        )
    }
    # After an arXiv id a bare number is the subscription.
    assert list(rows(await papers_bot.say(f"/why {AUDIO.id} 2"))) == ["#2 ✓ matches: speech"]


async def test_why_with_typed_options_as_discord_sends_them(papers_bot: TestBot) -> None:
    await subscribe(papers_bot, "/subscribe reasoning")
    incoming = Incoming(
        command="why",
        user=ADMIN,
        place=CHANNEL,
        options={"paper": LLMS.id, "subscription": "1"},
    )
    [reply] = await papers_bot.core.handle(incoming)
    assert isinstance(reply, Fields)
    assert dict(reply.rows) == {
        "#1 ✓ matches: reasoning": '✓ reasoning: found in abstract "reasoning", keyword "reasoning"'
    }


async def test_why_in_a_dm_reads_only_personal_subscriptions(papers_bot: TestBot) -> None:
    await subscribe(papers_bot, "/subscribe diffusion")
    await subscribe(papers_bot, "/subscribe video", place=DM)
    assert list(rows(await papers_bot.say(f"/why {VIDEO.id}", place=DM))) == ["#2 ✓ matches: video"]
    [reply] = await papers_bot.say(f"/why {VIDEO.id} #1", place=DM)
    assert isinstance(reply, Notice) and reply.tone == Tone.ERROR
    assert reply.text == "There is no subscription #1 of yours. List them with /subscriptions."


async def test_why_ambiguous_title_offers_a_pick_list(papers_bot: TestBot) -> None:
    await subscribe(papers_bot, "/subscribe diffusion")
    [reply] = await papers_bot.say("/why diffusion #1")
    assert isinstance(reply, PaperList) and reply.ephemeral
    assert reply.title == "Several papers match 'diffusion'; pick one:"
    assert len(reply.items) >= 2
    for item in reply.items:
        assert item.reasons == (f"/why {item.paper.id} #1",)


async def test_why_errors(papers_bot: TestBot) -> None:
    [reply] = await papers_bot.say(f"/why {AUDIO.id}")
    assert isinstance(reply, Notice) and reply.tone == Tone.ERROR
    assert reply.text == (
        "There are no subscriptions here to explain. Try a query on recent papers with "
        "/search <query>, or subscribe with /subscribe <query>."
    )
    await subscribe(papers_bot, "/subscribe diffusion")
    [reply] = await papers_bot.say(f"/why {AUDIO.id} #9")
    assert isinstance(reply, Notice)
    assert reply.text == (
        "There is no subscription #9 in this channel or of yours. List them with /subscriptions."
    )
    [reply] = await papers_bot.say("/why zzzz qqqq xxxx")
    assert isinstance(reply, Notice) and reply.tone == Tone.WARNING
    assert reply.text == (
        "No paper matches 'zzzz qqqq xxxx'. Give an arXiv id, a link, or more title words "
        "(see /paper)."
    )
    [reply] = await papers_bot.say("/why")
    assert isinstance(reply, Notice) and reply.tone == Tone.ERROR
    assert reply.text == "Missing paper: an arXiv id, a link, or title words."
    assert reply.usage == "/why <paper> [#subscription id]"


async def test_why_flags_a_stored_query_that_no_longer_parses(papers_bot: TestBot) -> None:
    dest = await DestinationRepo(papers_bot.app.sessions).get_or_create(ADMIN, CHANNEL)
    await SubscriptionRepo(papers_bot.app.sessions).add(
        dest.id, "(broken", "(broken", created_by="U1", limit=10
    )
    explained = rows(await papers_bot.say(f"/why {AUDIO.id}"))
    assert explained == {"#1 ✗ (broken": 'no longer a valid query: Unclosed "(" at position 1'}


async def test_why_autocomplete_offers_channel_and_personal_ones(papers_bot: TestBot) -> None:
    await subscribe(papers_bot, "/subscribe diffusion")
    await subscribe(papers_bot, "/subscribe video --dm")
    incoming = Incoming(command="why", user=ADMIN, place=CHANNEL, options={"paper": AUDIO.id})
    choices = await papers_bot.core.complete(incoming, "subscription", "")
    assert choices == [("#1 diffusion", "1"), ("#2 video", "2")]


async def test_search_reasons_name_the_upvotes_condition(papers_bot: TestBot) -> None:
    [reply] = await papers_bot.say("/search title:diffusion upvotes>=10")
    assert isinstance(reply, PaperList)
    [item] = reply.items
    assert item.paper.id == AUDIO.id
    assert item.reasons == ("title:diffusion in title", "upvotes>=10")


async def test_subscribe_refuses_a_misplaced_option(papers_bot: TestBot) -> None:
    [reply] = await papers_bot.say("/subscribe diffusion --days 3")
    assert isinstance(reply, Notice) and reply.tone == Tone.ERROR
    assert reply.text == '"--days" is not part of a query, and subscribe has no such option.'
    [reply] = await papers_bot.say("/subscribe --dm diffusion video")
    assert isinstance(reply, Notice) and reply.tone == Tone.SUCCESS  # a leading --dm is fine
    [reply] = await papers_bot.say("/subscribe diffusion --dm audio")
    assert reply.text == '"--dm" is an option, not part of the query: put it after the query.'
    assert "#2" not in await papers_bot.text("/subscriptions")
