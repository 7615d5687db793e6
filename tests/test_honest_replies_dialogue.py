"""Replies that say exactly what is so: counted nouns, mutes, own settings, papers not stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.app import App, build_app
from bot.messages import Fields, Notice, PaperCard, Tone
from bot.papers import Paper
from bot.settings import load_settings
from bot.sources.arxiv import ArxivClient
from bot.sources.huggingface import HuggingFaceClient
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.hf_server import FakeHF, Scripted
from tests.helpers import CHANNEL, DM, MEMBER, FakeClock, TestBot

TODAY = date(2024, 12, 24)  # the FakeClock's day
ARXIV_FIXTURES = Path(__file__).parent / "fixtures" / "arxiv"


@pytest.fixture
async def strict_app(db_url: str, clock: FakeClock) -> AsyncIterator[App]:
    """Offline services that allow one subscription per channel and per user."""
    env = {
        "DATABASE_URL": db_url,
        "MAX_SUBSCRIPTIONS_PER_CHANNEL": "1",
        "MAX_SUBSCRIPTIONS_PER_USER": "1",
        "INGEST_INTERVAL_MINUTES": "1",
    }
    application = build_app(load_settings(env, env_file=None), source_name="sample", clock=clock)
    yield application
    await application.close()


async def test_counts_of_one_read_in_the_singular(strict_app: App) -> None:
    bot = TestBot(strict_app)
    await strict_app.papers.upsert(
        [Paper(id="2412.00001", title="Lonely Diffusion", abstract="", featured_on=(TODAY,))]
    )
    reply = await bot.text("subscribe diffusion")
    assert "It would have matched 1 paper in the last 7 days" in reply
    reply = await bot.text("subscribe agents")
    assert "has reached the limit of 1 subscription." in reply
    reply = await bot.text("subscribe agents", user=MEMBER, place=DM)
    reply = await bot.text("subscribe robots", user=MEMBER, place=DM)
    assert "You have reached the limit of 1 subscription." in reply
    assert "at least 1 upvote." in await bot.text("digest min-upvotes 1")
    assert "list up to 1 paper." in await bot.text("digest max 1")
    assert "(1 paper)" in await bot.text("papers today")
    assert "matches 1 of 1 paper of the last 7 days" in await bot.text("search diffusion")
    assert "every 1 minute)" in await bot.text("alerts instant", user=MEMBER, place=DM)
    status = await bot.text("status", place=CHANNEL)
    assert "up to 1 paper, at least 1 upvote" in status
    why = await bot.text("why 2412.00001")
    assert "matches 1 of 1 subscription" in why


async def test_a_new_mute_replaces_the_last_one_and_says_so(bot: TestBot) -> None:
    # The fixture clock is Tue 2024-12-24 10:00 UTC.
    reply = await bot.text("mute 3d", user=MEMBER, place=DM)
    assert "Muted until Fri 2024-12-27 10:00 UTC." in reply and "replaces" not in reply
    reply = await bot.text("mute 12h", user=MEMBER, place=DM)
    assert "Muted until Tue 2024-12-24 22:00 UTC." in reply
    assert "This replaces your mute until Fri 2024-12-27 10:00 UTC." in reply
    status = await bot.text("status", user=MEMBER, place=DM)
    assert "Tue 2024-12-24 22:00 UTC" in status and "2024-12-27" not in status


async def test_mute_help_names_the_units_and_the_cap(bot: TestBot) -> None:
    text = await bot.text("help mute")
    assert "90m, 12h, 3d or 1w" in text and "at most 30 days" in text
    assert "a new mute replaces" in text
    reply = await bot.text("mute forever", user=MEMBER, place=DM)
    assert "minutes (90m), hours (12h), days (3d) or weeks (1w)" in reply


async def test_status_in_a_dm_shows_your_alert_time_zone_and_mute(bot: TestBot) -> None:
    status = await bot.text("status", user=MEMBER, place=DM)
    # Nothing set up yet: the defaults the alerts would follow, and how to change them.
    assert "daily at 09:00 (the default)" in status and "UTC (the default)" in status
    assert "no — /mute 3d holds your DMs" in status
    await bot.say("alerts daily 07:15 Asia/Tokyo", user=MEMBER, place=DM)
    await bot.say("mute 1d", user=MEMBER, place=DM)
    status = await bot.text("status", user=MEMBER, place=DM)
    assert "daily, 07:15 Asia/Tokyo, every day" in status
    assert "Time zone\n      Asia/Tokyo" in status
    assert "Muted until\n      Wed 2024-12-25 19:00 JST — /mute off ends it" in status


async def test_status_in_a_channel_also_shows_the_callers_own_alerts(bot: TestBot) -> None:
    await bot.say("alerts instant", user=MEMBER, place=DM)
    await bot.say("mute 12h", user=MEMBER, place=DM)
    status = await bot.text("status", user=MEMBER, place=CHANNEL)
    assert "Your DM alerts\n      instant; muted until Tue 2024-12-24 22:00 UTC" in status


async def test_why_of_an_arxiv_id_not_stored_offline_says_so(bot: TestBot) -> None:
    await bot.say("subscribe diffusion")
    [reply] = await bot.say("why 2401.00001")
    assert isinstance(reply, Notice)
    assert reply.text.startswith("Paper 2401.00001 is not in the local database")
    assert "Give an arXiv id" not in reply.text and "\n" not in reply.text


async def _no_sleep(_: float) -> None:
    return None


@dataclass
class Online:
    app: App
    hf: FakeHF
    arxiv: FakeArxiv


@pytest.fixture
async def online(app: App) -> AsyncIterator[Online]:
    """The app online against a fake Hugging Face that knows no paper, and a fake arXiv.

    One try each, and Hugging Face times out after 0.3 s (a scripted delay makes it slow).
    """
    async with FakeHF() as hf, FakeArxiv() as arxiv:
        quick: dict[str, Any] = {"max_retries": 0, "sleep": _no_sleep}
        app.source = HuggingFaceClient(base_url=hf.url, timeout=0.3, today=lambda: TODAY, **quick)
        app.arxiv = ArxivClient(base_url=arxiv.url, min_interval=0, **quick)
        app.online = True
        yield Online(app, hf, arxiv)
        await app.source.close()
        await app.arxiv.close()


async def test_why_of_an_arxiv_id_nobody_knows_says_so(online: Online) -> None:
    bot = TestBot(online.app)
    await bot.say("subscribe diffusion")
    [reply] = await bot.say("why 2401.00001")
    assert isinstance(reply, Notice)
    assert reply.text == (
        "Paper 2401.00001 is not stored here, and neither Hugging Face nor arXiv knows it. "
        "Check the id (e.g. 2412.17747)."
    )


async def test_why_of_a_paper_only_arxiv_knows_says_no_digest_lists_it(
    online: Online,
) -> None:
    app, arxiv = online.app, online.arxiv
    arxiv.by_id["2611.04217"] = (ARXIV_FIXTURES / "entry.xml").read_text(encoding="utf-8")
    bot = TestBot(app)
    await bot.say("subscribe rehearsal")
    [reply] = await bot.say("why 2611.04217")
    assert isinstance(reply, Fields) and "matches 1 of 1 subscription" in reply.title
    assert reply.footer == (
        "2611.04217 is not among the stored Daily Papers (found on arXiv), so no digest lists it."
    )


@pytest.mark.parametrize("query", ["the", '"of the"', "a OR of", "diffusion OR the", "the -audio"])
async def test_subscribe_to_only_common_words_is_refused_like_a_lone_exclusion(
    bot: TestBot, query: str
) -> None:
    [reply] = await bot.say(f"subscribe {query}")
    assert isinstance(reply, Notice)
    assert reply.text.startswith("The query would match almost every paper:")
    assert "add a word it must contain" in reply.text
    # Same kind of answer as "-diffusion" gets from the parser.
    [lone] = await bot.say("subscribe -diffusion")
    assert isinstance(lone, Notice) and lone.tone == reply.tone
    assert "no personal subscriptions" in await bot.text("subscriptions")


async def test_subscribe_to_a_query_matching_most_of_the_week_warns(bot: TestBot) -> None:
    week = [
        Paper(id=f"2412.{i:05d}", title=f"Diffusion Study {i}", abstract="", featured_on=(TODAY,))
        for i in range(1, 11)
    ] + [Paper(id="2412.00099", title="Robot Arms", abstract="", featured_on=(TODAY,))]
    await bot.app.papers.upsert(week)
    [reply] = await bot.say("subscribe diffusion")
    assert isinstance(reply, Notice) and reply.tone.name == "WARNING"
    assert "It would have matched 10 of all 11 papers of the last 7 days — nearly everything" in (
        reply.text
    )
    assert "too broad" in reply.text and "/unsubscribe 1." in reply.text
    [narrow] = await bot.say("subscribe robot")
    assert isinstance(narrow, Notice) and narrow.tone.name == "SUCCESS"
    assert "too broad" not in narrow.text


async def test_papers_of_a_day_when_hugging_face_is_down_names_it_once(online: Online) -> None:
    online.hf.fail_always(503)
    [reply] = await TestBot(online.app).say("papers 2024-12-23")
    assert isinstance(reply, Notice) and reply.tone == Tone.ERROR
    assert reply.text == (
        f"Could not fetch the Daily Papers of 2024-12-23: Hugging Face at {online.hf.url} "
        "did not answer after 1 try (last: HTTP 503). Try again in a few minutes."
    )


async def test_paper_when_hugging_face_is_slow_says_what_is_shown_instead(
    online: Online,
) -> None:
    online.hf.script(Scripted(delay=3.0))
    online.arxiv.by_id["2611.04217"] = (ARXIV_FIXTURES / "entry.xml").read_text(encoding="utf-8")
    [card] = await TestBot(online.app).say("paper 2611.04217")
    assert isinstance(card, PaperCard) and card.paper.id == "2611.04217"
    assert card.note == (
        f"Hugging Face was too slow to answer (Hugging Face at {online.hf.url} did not answer "
        "after 1 try (timed out after 0.3 s)); this is arXiv's record, without upvotes or "
        "Daily Papers."
    )


async def test_why_when_hugging_face_is_slow_says_what_it_explained_instead(
    online: Online,
) -> None:
    online.hf.script(Scripted(delay=3.0))
    online.arxiv.by_id["2611.04217"] = (ARXIV_FIXTURES / "entry.xml").read_text(encoding="utf-8")
    bot = TestBot(online.app)
    await bot.say("subscribe rehearsal")
    [reply] = await bot.say("why 2611.04217")
    assert isinstance(reply, Fields) and reply.footer is not None
    assert reply.footer.startswith(
        f"Hugging Face was too slow to answer (Hugging Face at {online.hf.url} did not answer "
        "after 1 try (timed out after 0.3 s)); this is arXiv's record"
    )
