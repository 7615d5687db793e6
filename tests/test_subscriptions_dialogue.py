"""Dialogues: subscribe, unsubscribe and subscriptions, in channels and DMs, with their limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest

from bot.app import App, build_app
from bot.messages import Fields, Incoming, Notice, Reply, Tone
from bot.papers import Paper
from bot.settings import load_settings
from bot.storage.destinations_repo import DestinationRepo
from bot.storage.subscriptions_repo import SubscriptionRepo
from tests.helpers import ADMIN, CHANNEL, DM, MEMBER, FakeClock, TestBot

TODAY = date(2024, 12, 24)  # the FakeClock's day
OTHER_CHANNEL = CHANNEL.__class__(platform="test", id="C2", name="other", workspace_id="W1")


def paper(pid: str, title: str, *, days_ago: int, upvotes: int = 1, abstract: str = "") -> Paper:
    return Paper(
        id=pid,
        title=title,
        abstract=abstract,
        featured_on=(TODAY - timedelta(days=days_ago),),
        upvotes=upvotes,
    )


PAPERS = [
    paper("2412.00001", "Latent Diffusion for Video", days_ago=0, upvotes=30),
    paper("2412.00002", "Diffusion Models for Audio Generation", days_ago=2, upvotes=20),
    paper("2412.00003", "Consistency Distillation of Diffusion Policies", days_ago=6, upvotes=10),
    # Outside the 7-day preview window: never counted.
    paper("2412.00004", "Old Diffusion Survey", days_ago=7, upvotes=99),
    paper("2412.00005", "Rain Forecasting with Graph Networks", days_ago=1, upvotes=5),
]


@pytest.fixture
async def papers_bot(bot: TestBot) -> TestBot:
    await bot.app.papers.upsert(PAPERS)
    return bot


def one(replies: list[Reply]) -> Notice:
    [reply] = replies
    assert isinstance(reply, Notice), reply
    return reply


async def test_subscribe_a_channel_reports_id_scope_and_recent_matches(papers_bot: TestBot) -> None:
    reply = one(await papers_bot.say("/subscribe diffusion -audio"))
    assert reply.tone == Tone.SUCCESS
    assert not reply.ephemeral  # the channel sees what it is now subscribed to
    assert reply.text == (
        "Subscribed #papers to “diffusion -audio” (#1). It would have matched 2 papers in the "
        "last 7 days, e.g. “Latent Diffusion for Video”, “Consistency Distillation of "
        "Diffusion Policies”."
    )


async def test_subscribe_with_no_recent_match_says_so(papers_bot: TestBot) -> None:
    reply = one(await papers_bot.say('/subscribe "graph networks" OR weather'))
    assert reply.text.endswith(
        "(#1). It would have matched 1 paper in the last 7 days, e.g. "
        "“Rain Forecasting with Graph Networks”."
    )
    reply = one(await papers_bot.say("/subscribe protein folding"))
    assert reply.text.endswith("It would have matched no paper in the last 7 days.")


async def test_subscribe_in_a_dm_is_personal(papers_bot: TestBot) -> None:
    reply = one(await papers_bot.say("/subscribe audio", user=MEMBER, place=DM))
    assert reply.tone == Tone.SUCCESS and reply.ephemeral
    assert reply.text.startswith("Subscribed you personally to “audio” (#1).")
    assert "direct message" not in reply.text  # already in the DMs
    dest = await DestinationRepo(papers_bot.app.sessions).find(MEMBER, DM)
    assert dest is not None and (dest.kind, dest.external_id) == ("user", "U2")


@pytest.mark.parametrize("line", ["/subscribe video --dm", "/subscribe --dm video"])
async def test_a_member_subscribes_personally_in_a_channel_with_dm_flag(
    papers_bot: TestBot, line: str
) -> None:
    reply = one(await papers_bot.say(line, user=MEMBER))
    assert reply.tone == Tone.SUCCESS and reply.ephemeral
    assert reply.text == (
        "Subscribed you personally to “video” (#1). It would have matched 1 paper in the last "
        "7 days, e.g. “Latent Diffusion for Video”. Matches will come by direct message."
    )
    repo = SubscriptionRepo(papers_bot.app.sessions)
    assert await repo.count_personal("test", "U2") == 1
    assert await DestinationRepo(papers_bot.app.sessions).find(MEMBER, CHANNEL) is None


async def test_dm_option_as_discord_sends_it(papers_bot: TestBot) -> None:
    incoming = Incoming(
        command="subscribe",
        user=MEMBER,
        place=CHANNEL,
        options={"query": "video", "dm": "True"},
    )
    reply = one(await papers_bot.core.handle(incoming))
    assert reply.text.startswith("Subscribed you personally to “video” (#1).")


async def test_a_member_cannot_subscribe_the_channel(papers_bot: TestBot) -> None:
    reply = one(await papers_bot.say("/subscribe diffusion", user=MEMBER))
    assert reply.tone == Tone.ERROR
    assert reply.text.startswith("Only people who may manage this channel")
    repo = SubscriptionRepo(papers_bot.app.sessions)
    assert await repo.all_active() == []


async def test_duplicate_in_the_same_scope_is_refused_with_the_existing_id(
    papers_bot: TestBot,
) -> None:
    one(await papers_bot.say("/subscribe diffusion -audio"))
    # Same canonical form: case, spacing, operator spelling and order do not matter.
    reply = one(await papers_bot.say("/subscribe  NOT audio   Diffusion"))
    assert reply.tone == Tone.ERROR
    assert reply.text == (
        "#papers is already subscribed to that query as #1 (“diffusion -audio”). "
        "Test it with /why <paper> #1."
    )
    # Another scope may hold the same query.
    reply = one(await papers_bot.say("/subscribe diffusion -audio", place=DM))
    assert reply.tone == Tone.SUCCESS and "(#2)" in reply.text
    reply = one(await papers_bot.say("/subscribe diffusion -audio", place=DM))
    assert reply.text.startswith("You are already subscribed to that query as #2")


async def test_concurrent_duplicates_save_one(papers_bot: TestBot) -> None:
    replies = await asyncio.gather(*(papers_bot.say("/subscribe diffusion") for _ in range(4)))
    tones = sorted(one(r).tone for r in replies)
    assert tones.count(Tone.SUCCESS) == 1
    assert all(
        "already subscribed to that query as #" in one(r).text
        for r in replies
        if one(r).tone == Tone.ERROR
    )
    assert len(await SubscriptionRepo(papers_bot.app.sessions).all_active()) == 1


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            '/subscribe "chain of thought',
            'Unclosed quote " at position 1. A valid query looks like: "chain of thought" '
            "reasoning",
        ),
        (
            "/subscribe titel:diffusion",
            'Unknown field "titel:" (did you mean "title:"?) at position 1. A valid query '
            'looks like: title:diffusion author:"Yann LeCun"',
        ),
        ("/subscribe", "Missing query: what to look for, e.g. diffusion -audio."),
        ("/subscribe --dm", "Missing query: what to look for, e.g. diffusion -audio."),
    ],
)
async def test_bad_query_names_the_position_and_shows_a_valid_example(
    papers_bot: TestBot, line: str, message: str
) -> None:
    reply = one(await papers_bot.say(line))
    assert reply.tone == Tone.ERROR and reply.ephemeral
    assert reply.text == message
    assert reply.usage == "/subscribe <query> [--dm] [--when-crossed]"


async def test_too_long_query_is_refused(papers_bot: TestBot) -> None:
    reply = one(await papers_bot.say("/subscribe " + "diffusion " * 40))
    assert reply.text.startswith("Query is too long (")
    assert "the limit is 300" in reply.text


async def test_a_query_that_only_excludes_is_refused(papers_bot: TestBot) -> None:
    reply = one(await papers_bot.say("/subscribe -video"))
    assert reply.tone == Tone.ERROR
    assert reply.text.endswith(" at position 1. A valid query looks like: diffusion -video")
    assert await SubscriptionRepo(papers_bot.app.sessions).all_active() == []


@pytest.fixture
async def small_app(db_url: str, clock: FakeClock) -> AsyncIterator[App]:
    settings = load_settings(
        {
            "DATABASE_URL": db_url,
            "MAX_SUBSCRIPTIONS_PER_USER": "2",
            "MAX_SUBSCRIPTIONS_PER_CHANNEL": "3",
        }
    )
    application = build_app(settings, source_name="sample", clock=clock)
    yield application
    await application.close()


async def test_personal_limit(small_app: App) -> None:
    bot = TestBot(small_app)
    for q in ("video", "audio"):
        assert one(await bot.say(f"/subscribe {q}", user=MEMBER, place=DM)).tone == Tone.SUCCESS
    reply = one(await bot.say("/subscribe robots --dm", user=MEMBER))
    assert reply.tone == Tone.ERROR
    assert reply.text == (
        "You have reached the limit of 2 subscriptions. Remove one with /unsubscribe <id> --dm "
        "(list them with /subscriptions), or combine queries with OR."
    )
    # The channel's own count is separate.
    assert one(await bot.say("/subscribe robots")).tone == Tone.SUCCESS


async def test_channel_limit(small_app: App) -> None:
    bot = TestBot(small_app)
    for q in ("video", "audio", "speech"):
        assert one(await bot.say(f"/subscribe {q}")).tone == Tone.SUCCESS
    reply = one(await bot.say("/subscribe robots"))
    assert reply.text == (
        "#papers has reached the limit of 3 subscriptions. Remove one with /unsubscribe <id> "
        "(list them with /subscriptions), or combine queries with OR."
    )
    one(await bot.say("/unsubscribe 2"))
    assert one(await bot.say("/subscribe robots")).tone == Tone.SUCCESS


async def test_subscriptions_lists_channel_and_personal_ones(papers_bot: TestBot) -> None:
    one(await papers_bot.say("/subscribe diffusion -audio"))
    one(await papers_bot.say("/subscribe audio --dm"))
    one(await papers_bot.say("/subscribe graph", place=OTHER_CHANNEL))
    channel, mine = await papers_bot.say("/subscriptions")
    assert isinstance(channel, Fields) and isinstance(mine, Fields)
    assert channel.title == "Subscriptions of #papers (1)"
    assert channel.rows == (("#1  diffusion -audio", "#papers · 2 papers in the last 7 days"),)
    assert not channel.ephemeral
    assert mine.title == "Your personal subscriptions (1)"
    assert mine.rows == (("#2  audio", "by DM · 1 paper in the last 7 days"),)
    assert mine.ephemeral
    assert mine.footer == (
        "Remove one: /unsubscribe <id> [--dm] · See why a paper matches: /why <paper> #<id>"
    )
    # In a DM only the personal ones show.
    [only] = await papers_bot.say("/subscriptions", place=DM)
    assert isinstance(only, Fields) and only.title == "Your personal subscriptions (1)"


async def test_subscriptions_says_when_only_personal_ones_exist(papers_bot: TestBot) -> None:
    one(await papers_bot.say("/subscribe audio --dm", user=MEMBER))
    [mine] = await papers_bot.say("/subscriptions", user=MEMBER)
    assert isinstance(mine, Fields) and mine.ephemeral
    assert mine.footer is not None
    assert mine.footer.startswith("This channel has no subscriptions. Remove one: ")


async def test_subscriptions_when_there_are_none(papers_bot: TestBot) -> None:
    reply = one(await papers_bot.say("/subscriptions", user=MEMBER))
    assert reply.text == (
        "This channel has no subscriptions, and you have no personal subscriptions. Try a "
        "query with /search <query>, then /subscribe <query>."
    )
    reply = one(await papers_bot.say("/subscriptions", user=MEMBER, place=DM))
    assert reply.text.startswith("You have no personal subscriptions.")


async def test_a_stored_query_the_language_no_longer_accepts_is_flagged(
    papers_bot: TestBot,
) -> None:
    dest = await DestinationRepo(papers_bot.app.sessions).get_or_create(ADMIN, CHANNEL)
    await SubscriptionRepo(papers_bot.app.sessions).add(
        dest.id, "(broken", "(broken", created_by="U1", limit=10
    )
    [listing] = await papers_bot.say("/subscriptions")
    assert isinstance(listing, Fields)
    [(name, value)] = listing.rows
    assert name == "#1  (broken"
    assert value.startswith('#papers · no longer a valid query (Unclosed "(" at position 1)')


async def test_unsubscribe_a_channel_subscription(papers_bot: TestBot) -> None:
    one(await papers_bot.say("/subscribe diffusion -audio"))
    reply = one(await papers_bot.say("/unsubscribe 1"))
    assert reply.tone == Tone.SUCCESS and not reply.ephemeral
    assert reply.text == "Removed #1 (“diffusion -audio”) from the subscriptions of #papers."
    reply = one(await papers_bot.say("/unsubscribe #1"))
    assert reply.tone == Tone.ERROR
    assert (
        reply.text == "There is no subscription #1 in this channel. List them with /subscriptions."
    )


async def test_a_member_cannot_unsubscribe_the_channel(papers_bot: TestBot) -> None:
    one(await papers_bot.say("/subscribe diffusion"))
    reply = one(await papers_bot.say("/unsubscribe 1", user=MEMBER))
    assert reply.tone == Tone.ERROR
    assert reply.text.startswith("Only people who may manage this channel")
    assert len(await SubscriptionRepo(papers_bot.app.sessions).all_active()) == 1


async def test_anyone_removes_their_own_personal_subscription(papers_bot: TestBot) -> None:
    one(await papers_bot.say("/subscribe audio --dm", user=MEMBER))
    one(await papers_bot.say("/subscribe video", user=MEMBER, place=DM))
    reply = one(await papers_bot.say("/unsubscribe 1 --dm", user=MEMBER))
    assert reply.tone == Tone.SUCCESS and reply.ephemeral
    assert reply.text == "Removed your subscription #1 (“audio”)."
    reply = one(await papers_bot.say("/unsubscribe 2", user=MEMBER, place=DM))
    assert reply.text == "Removed your subscription #2 (“video”)."


async def test_nobody_removes_another_scopes_subscription(papers_bot: TestBot) -> None:
    one(await papers_bot.say("/subscribe audio", user=MEMBER, place=DM))  # #1, bob's
    one(await papers_bot.say("/subscribe graph", place=OTHER_CHANNEL))  # #2, another channel
    one(await papers_bot.say("/subscribe video", place=DM))  # #3, ada's
    reply = one(await papers_bot.say("/unsubscribe 1", place=DM))
    assert reply.text == "There is no subscription #1 of yours. List them with /subscriptions."
    reply = one(await papers_bot.say("/unsubscribe 2"))
    assert (
        reply.text == "There is no subscription #2 in this channel. List them with /subscriptions."
    )
    # Ada's own personal one, asked for in the channel scope, gets a pointer to --dm.
    reply = one(await papers_bot.say("/unsubscribe 3"))
    assert reply.text == (
        "There is no subscription #3 in this channel. #3 is a personal one of yours: "
        "/unsubscribe 3 --dm."
    )
    assert len(await SubscriptionRepo(papers_bot.app.sessions).all_active()) == 3


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("/unsubscribe", "Missing id: the subscription's number, as /subscriptions lists it."),
        (
            "/unsubscribe diffusion",
            "'diffusion' is not a subscription id; ids are numbers such as 12 (list them with "
            "/subscriptions).",
        ),
        ("/unsubscribe 1 2", "Too many arguments: '2'."),
    ],
)
async def test_unsubscribe_bad_arguments(papers_bot: TestBot, line: str, message: str) -> None:
    reply = one(await papers_bot.say(line))
    assert reply.tone == Tone.ERROR
    assert reply.text == message
    assert reply.usage == "/unsubscribe <id> [--dm]"


async def test_autocomplete_lists_the_subscriptions_of_the_scope(papers_bot: TestBot) -> None:
    one(await papers_bot.say("/subscribe diffusion -audio"))
    one(await papers_bot.say("/subscribe graph networks"))
    one(await papers_bot.say("/subscribe audio --dm"))

    async def complete(place: object, typed: str, options: dict[str, str] | None = None) -> list:
        incoming = Incoming(command="unsubscribe", user=ADMIN, place=place, options=options)
        return await papers_bot.core.complete(incoming, "id", typed)

    assert await complete(CHANNEL, "") == [("#1 diffusion -audio", "1"), ("#2 graph networks", "2")]
    assert await complete(CHANNEL, "GRAPH") == [("#2 graph networks", "2")]
    assert await complete(CHANNEL, "#1") == [("#1 diffusion -audio", "1")]
    assert await complete(DM, "") == [("#3 audio", "3")]
    assert await complete(CHANNEL, "", {"dm": "True"}) == [("#3 audio", "3")]
    assert await complete(OTHER_CHANNEL, "") == []


async def test_all_active_skips_paused_destinations_and_loads_them(papers_bot: TestBot) -> None:
    one(await papers_bot.say("/subscribe diffusion"))
    one(await papers_bot.say("/subscribe graph", place=OTHER_CHANNEL))
    destinations = DestinationRepo(papers_bot.app.sessions)
    other = await destinations.find(ADMIN, OTHER_CHANNEL)
    assert other is not None
    await destinations.update(other.id, paused=True)
    [active] = await SubscriptionRepo(papers_bot.app.sessions).all_active()
    assert (active.query, active.canonical) == ("diffusion", "diffusion")
    assert active.destination.external_id == "C1"
    assert active.created_by == "U1"


async def test_help_documents_the_commands(papers_bot: TestBot) -> None:
    [reply] = await papers_bot.say("/help subscribe")
    assert isinstance(reply, Fields)
    [(usage, detail)] = reply.rows
    assert usage == "/subscribe <query> [--dm] [--when-crossed]"
    assert "/subscribe author:LeCun --dm" in detail
