"""alerts suggest: "You may also like" in personal alerts, offered once, never on a retry
again, off until 5 ratings unless asked for; on both backends."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from adapters.console.render import render as console
from adapters.discord.render import render as discord
from adapters.slack.render import render as slack
from bot.messages import Notice, PaperItem, PaperList, Tone
from bot.port import DeliveryError, Failure
from bot.storage.models import DigestRunRow
from tests.delivery_helpers import FakeSource, Harness, RecordingAdapter, make_app, paper, utc
from tests.helpers import DM, MEMBER, FakeClock

DAY0, DAY1 = date(2025, 2, 2), date(2025, 2, 3)
GRAPH = {f"2501.{n:05d}" for n in (11, 12, 14, 15)}


async def reader(db_url: str, *commands: str, ratings: int = 5) -> Harness:
    """A reader of "diffusion" with instant alerts who likes graph papers, not audio ones."""
    source = FakeSource()
    h = Harness(
        make_app(db_url, FakeClock(utc(2025, 2, 2, 7, 0)), source), source, RecordingAdapter()
    )
    await h.bot.say("subscribe diffusion", user=MEMBER, place=DM)
    await h.bot.say("alerts instant", user=MEMBER, place=DM)
    h.source.feature(
        DAY0,
        paper(1, "Graph neural networks for proteins"),
        paper(2, "Message passing graph neural networks"),
        paper(3, "Graph neural networks for traffic"),
        paper(4, "Speech audio synthesis"),
        paper(5, "Audio speech recognition"),
    )
    await h.tick(utc(2025, 2, 2, 7, 30))
    for n, rating in list(zip((1, 2, 3, 4, 5), ("up",) * 3 + ("down",) * 2, strict=True))[:ratings]:
        await h.bot.say(f"rate 2501.{n:05d} {rating}", user=MEMBER, place=DM)
    for c in commands:
        await h.bot.say(c, user=MEMBER, place=DM)
    return h


def day1(h: Harness) -> None:
    h.source.feature(
        DAY1,
        paper(10, "Diffusion models for images", upvotes=3),
        paper(11, "Graph neural networks for molecules"),
        paper(12, "Graph neural networks at scale"),
        paper(13, "Speech audio codec", upvotes=50),
        paper(14, "Graph neural network pruning"),
        paper(15, "Graph neural network benchmarks"),
    )


async def test_suggestions_come_after_the_matches_once_each(db_url):
    h = await reader(db_url)
    assert h.adapter.sent == []  # nothing on day 0 matched "diffusion"
    day1(h)
    await h.tick(utc(2025, 2, 3, 8, 0))
    [alert] = h.adapter.to("U2")
    assert alert.paper_ids == ["2501.00010"]  # the run lists only what matched
    assert alert.part["also_title"] == "You may also like"
    first = alert.also_ids
    assert len(first) == 3 and set(first) <= GRAPH, first  # their taste, not upvotes
    assert all(r for i in alert.part["also"] for r in i["reasons"])
    # The next alert suggests others: a paper is offered once, like any delivery.
    h.source.feature(DAY1, paper(16, "Diffusion transformers"))
    await h.tick(utc(2025, 2, 3, 9, 0))
    second = h.adapter.to("U2")[1]
    assert second.paper_ids == ["2501.00016"]
    assert second.also_ids and not set(second.also_ids) & set(first)
    assert "2501.00001" not in first + second.also_ids  # rated papers are never suggested
    # Suggestions are not counted as matches: the run's counts are the subscriptions'.
    async with h.app.sessions() as s:
        runs = (await s.scalars(select(DigestRunRow).order_by(DigestRunRow.id))).all()
    assert [(r.listed, r.more) for r in runs if r.listed] == [(1, 0), (1, 0)]


async def test_a_retried_alert_repeats_its_suggestions_and_adds_none(db_url):
    h = await reader(db_url)
    day1(h)
    h.adapter.fail = lambda d: DeliveryError("Slack is down", Failure.TRANSIENT)
    await h.tick(utc(2025, 2, 3, 8, 0))
    assert h.adapter.sent == [] and h.adapter.attempts >= 1
    h.adapter.fail = None
    for minute in (10, 20, 40):  # retries after the backoff; no new papers meanwhile
        await h.tick(utc(2025, 2, 3, 8, minute), ingest=False)
    [alert] = h.adapter.to("U2")
    assert len(alert.also_ids) == 3
    counts = h.adapter.paper_counts()
    assert all(n == 1 for n in counts.values())


async def test_off_by_default_until_five_ratings(db_url):
    few = await reader(db_url, ratings=4)
    day1(few)
    await few.tick(utc(2025, 2, 3, 8, 0))
    [alert] = few.adapter.to("U2")
    assert alert.paper_ids == ["2501.00010"] and alert.also_ids == []


async def test_off_when_said_even_with_five_ratings(db_url):
    said_off = await reader(db_url, "alerts suggest off")
    day1(said_off)
    await said_off.tick(utc(2025, 2, 3, 8, 0))
    [alert] = said_off.adapter.to("U2")
    assert alert.also_ids == []


async def test_suggest_on_before_five_ratings_says_what_to_expect(db_url):
    h = await reader(db_url, ratings=2)
    [reply] = await h.bot.say("alerts suggest on", user=MEMBER, place=DM)
    assert isinstance(reply, Notice) and reply.tone is Tone.SUCCESS and reply.ephemeral
    assert reply.text == (
        "Your alerts end with “You may also like”: up to 3 papers your subscriptions did not "
        "match that your ratings predict you would like, each offered once. With fewer than 5 "
        "ratings they are mostly the most upvoted; rate papers with /rate <id> up|down."
    )
    day1(h)
    await h.tick(utc(2025, 2, 3, 8, 0))
    [alert] = h.adapter.to("U2")
    assert len(alert.also_ids) == 3
    [reply] = await h.bot.say("alerts suggest off", user=MEMBER, place=DM)
    assert reply.text == "Your alerts list only the papers your subscriptions match."
    [bad] = await h.bot.say("alerts suggest sometimes", user=MEMBER, place=DM)
    assert bad.tone is Tone.ERROR and bad.text == "choice must be one of: on, off."
    assert bad.usage == "/alerts suggest <on | off>"


def test_every_platform_heads_the_suggestions_apart_from_the_matches() -> None:
    reply = PaperList(
        title="New papers matching your subscriptions (1)",
        items=(PaperItem(paper(10, "Diffusion models"), ("diffusion",)),),
        also=(PaperItem(paper(11, "Graph <!here> networks"), ("like 2501.00001 you liked",)),),
    )
    text = console(reply)
    assert text.index("-- You may also like") > text.index("Diffusion models")
    assert "↳ why: like 2501.00001 you liked" in text
    [message] = discord(reply)
    matched, suggested = message.embeds
    assert matched.author.name is None and "Matched: diffusion" in (matched.description or "")
    assert suggested.author.name == "✨ You may also like"
    assert "Why: like 2501.00001 you liked" in (suggested.description or "")
    [posted] = slack(reply)
    blocks = posted["blocks"]
    heads = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert "*:sparkles: You may also like*" in heads
    assert "<!here>" not in str(blocks)
    # Every paper, suggested or matched, has its own 👍 👎 🔖 Similar menu, ids all distinct.
    menus = [b["accessory"] for b in blocks if b.get("accessory", {}).get("type") == "overflow"]
    assert len(menus) == 2 and len({m["action_id"] for m in menus}) == 2
    assert [p for p, _ in message.papers] == [reply.items[0].paper.id, reply.also[0].paper.id]
    # Nothing matched, nothing suggested: suggestions never stand alone.
    alone = PaperList(title="t", items=(), also=reply.also)
    assert "You may also like" not in console(alone) + str(slack(alone))
