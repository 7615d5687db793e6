"""Trending alerts: `subscribe … upvotes>=N --when-crossed` posts a paper of the last week
once its upvotes reach N, across several polls (fake clock), through the real Hugging Face
client against the local fake HF server whose lists change between polls; at most once per
destination, never lost when the process dies between the crossing and its delivery."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

import pytest

from bot.delivery.trending import refresh_days, threshold
from bot.query import parse_query
from bot.sources import HuggingFaceClient
from tests.delivery_helpers import Harness, RecordingAdapter, make_app, utc
from tests.fakes.hf_server import FakeHF
from tests.helpers import FakeClock, daily_item

MON, TUE, WED = "2025-02-03", "2025-02-04", "2025-02-05"
ROBOTS, VIDEO, DIFFUSION = "2502.00001", "2502.00002", "2502.00003"
TRENDING = '"world model" upvotes>=50'


async def _no_sleep(seconds: float) -> None:
    return None


@pytest.fixture
async def hf() -> AsyncIterator[FakeHF]:
    async with FakeHF() as server:
        yield server


def set_upvotes(hf: FakeHF, day: str, arxiv_id: str, upvotes: int) -> None:
    """Hugging Face's list of `day` now shows `upvotes` for the paper (data changing)."""
    for item in hf.days[day]:
        if item["paper"]["id"] == arxiv_id:
            item["paper"]["upvotes"] = upvotes


async def harness(db_url: str, hf: FakeHF, start: datetime, **env: str) -> Harness:
    clock = FakeClock(start)
    source = HuggingFaceClient(
        base_url=hf.url, max_retries=0, today=lambda: clock().date(), sleep=_no_sleep
    )
    h = Harness(make_app(db_url, clock, source, **env), source, RecordingAdapter())  # type: ignore[arg-type]
    await h.bot.say("digest time 09:00 UTC")
    return h


def daily_requests(hf: FakeHF) -> int:
    return sum(1 for r in hf.requests if r.path == "/api/daily_papers")


def posted(h: Harness) -> list[tuple[str, list[str]]]:
    return [(s.part["title"], s.paper_ids) for s in h.adapter.sent]


async def test_a_paper_is_posted_when_its_upvotes_first_reach_the_threshold(db_url, hf):
    hf.days[MON] = [daily_item(ROBOTS, "A world model for robots", day=MON, upvotes=10)]
    h = await harness(db_url, hf, utc(2025, 2, 3, 7, 0))
    reply = await h.bot.text(f"subscribe {TRENDING} --when-crossed")
    assert "posted here once its upvotes reach 50 (checked every poll), not in digests" in reply
    await h.tick(utc(2025, 2, 3, 8, 0))
    assert h.adapter.sent == []

    # Two days on: 40 upvotes, and a second paper featured with 60 at once.
    set_upvotes(hf, MON, ROBOTS, 40)
    hf.days[WED] = [daily_item(VIDEO, "World model of video", day=WED, upvotes=60)]
    await h.tick(utc(2025, 2, 5, 10, 0))
    assert posted(h) == [("Taking off: 1 paper reached your upvote threshold", [VIDEO])]
    assert h.adapter.sent[0].part["items"][0]["reasons"] == [TRENDING]

    # Days after it was featured, Monday's paper crosses; then keeps rising: posted once.
    set_upvotes(hf, MON, ROBOTS, 55)
    await h.tick(utc(2025, 2, 7, 10, 0))
    set_upvotes(hf, MON, ROBOTS, 80)
    set_upvotes(hf, WED, VIDEO, 90)
    await h.tick(utc(2025, 2, 8, 10, 0))
    await h.tick(utc(2025, 2, 9, 10, 0))
    assert [ids for _, ids in posted(h)] == [[VIDEO], [ROBOTS]]
    # A trending subscription is in no digest: the 09:00 digests posted nothing else.
    assert all(title.startswith("Taking off") for title, _ in posted(h))
    listing = " ".join((await h.bot.text("subscriptions")).split())
    assert "trending: posted when the threshold is crossed" in listing


async def test_a_poll_costs_seven_list_requests_with_a_week_of_refresh(db_url, hf):
    hf.days[MON] = [daily_item(ROBOTS, "A world model for robots", day=MON, upvotes=10)]
    h = await harness(db_url, hf, utc(2025, 2, 3, 7, 0))
    await h.tick(utc(2025, 2, 3, 8, 0))
    assert daily_requests(hf) == 2, "without a trending subscription a poll fetches 2 lists"
    await h.bot.say(f"subscribe {TRENDING} --when-crossed")
    for hour in (9, 10, 11):
        before = daily_requests(hf)
        await h.tick(utc(2025, 2, 3, hour, 0))
        # Yesterday and today, then the five days before them: one request a day.
        assert daily_requests(hf) - before == 7
    dates = sorted({r.query["date"] for r in hf.requests[-7:]})
    assert dates == [f"2025-01-{d}" for d in (28, 29, 30, 31)] + ["2025-02-01", "2025-02-02", MON]
    assert all(r.query.get("limit") == "100" for r in hf.requests)


async def test_delivered_papers_are_not_delivered_again_when_upvotes_change(db_url, hf):
    hf.days[MON] = [
        daily_item(DIFFUSION, "Diffusion world model", day=MON, upvotes=12),
    ]
    h = await harness(db_url, hf, utc(2025, 2, 3, 7, 0))
    await h.bot.say("subscribe diffusion upvotes>=10")
    await h.bot.say(f"subscribe {TRENDING} --when-crossed")
    await h.tick(utc(2025, 2, 3, 9, 0))
    assert [ids for _, ids in posted(h)] == [[DIFFUSION]]
    # It rises past the trending threshold, and keeps rising over the next digests.
    for day, upvotes in ((4, 60), (5, 120), (6, 200)):
        set_upvotes(hf, MON, DIFFUSION, upvotes)
        await h.tick(utc(2025, 2, day, 9, 0))
    assert [ids for _, ids in posted(h)] == [[DIFFUSION]], "a delivered paper came again"


async def test_a_crossing_survives_a_crash_before_and_after_it_is_recorded(db_url, hf):
    hf.days[MON] = [daily_item(ROBOTS, "A world model for robots", day=MON, upvotes=10)]
    hf.days[TUE] = [daily_item(VIDEO, "World model of video", day=TUE, upvotes=10)]
    h = await harness(db_url, hf, utc(2025, 2, 4, 7, 0))
    await h.bot.say(f"subscribe {TRENDING} --when-crossed")
    await h.tick(utc(2025, 2, 4, 8, 0))

    # Crash inside the recording transaction: nothing recorded, nothing posted...
    set_upvotes(hf, MON, ROBOTS, 50)
    real = h.app.deliveries.record_many

    async def crash(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("database went away")

    h.app.deliveries.record_many = crash  # type: ignore[method-assign]
    await h.tick(utc(2025, 2, 4, 9, 0))
    assert h.adapter.sent == []
    h.app.deliveries.record_many = real  # type: ignore[method-assign]
    # ...and the next poll finds the same crossing.
    await h.tick(utc(2025, 2, 4, 9, 30))
    assert [ids for _, ids in posted(h)] == [[ROBOTS]]

    # Killed after recording, before sending: the next process posts it, once.
    set_upvotes(hf, TUE, VIDEO, 51)
    h.clock.set(utc(2025, 2, 4, 10, 0))
    assert await h.scheduler.ingest_once() is not None  # recorded in the outbox, not sent
    await h.app.close()
    h2 = await h.restart()
    await h2.tick(utc(2025, 2, 4, 10, 30))
    await h2.tick(utc(2025, 2, 4, 11, 0))
    assert [ids for _, ids in posted(h2)] == [[ROBOTS], [VIDEO]]
    assert max(h.adapter.paper_counts().values()) == 1
    await h2.app.close()


async def test_each_destination_gets_its_crossing_once(db_url, hf):
    from tests.helpers import DM, MEMBER

    hf.days[MON] = [daily_item(ROBOTS, "A world model for robots", day=MON, upvotes=70)]
    h = await harness(db_url, hf, utc(2025, 2, 3, 7, 0))
    await h.bot.say(f"subscribe {TRENDING} --when-crossed")
    await h.bot.say("subscribe world model upvotes>=60 --when-crossed", user=MEMBER, place=DM)
    for hour in (8, 9, 10):
        await h.tick(utc(2025, 2, 3, hour, 0))
    assert sorted(h.adapter.paper_counts().items()) == [(("C1", ROBOTS), 1), (("U2", ROBOTS), 1)]


async def test_the_flag_is_refused_clearly_where_it_cannot_work(db_url, hf):
    h = await harness(db_url, hf, utc(2025, 2, 3, 7, 0))
    for line, expected in [
        (
            'subscribe "world model" --when-crossed',
            "--when-crossed needs an upvote threshold ANDed into the query, e.g. /subscribe "
            '"world model" upvotes>=50 --when-crossed.',
        ),
        (
            '"world model" OR upvotes>=50 --when-crossed',
            "needs an upvote threshold",
        ),
        (
            'subscribe "world model" upvotes>=50 --when-crosed',
            '"--when-crosed" is not part of a query, and subscribe has no such option.',
        ),
        (
            'subscribe "world model" --when-crossed upvotes>=50',
            '"--when-crossed" is an option, not part of the query: put it after the query.',
        ),
    ]:
        if not line.startswith("subscribe"):
            line = "subscribe " + line
        answer = await h.bot.text(line)
        assert expected in answer.splitlines()[0], (line, answer)
        assert len(answer.splitlines()) <= 2


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('"world model" upvotes>=50', 50),
        ("upvotes>49 agents", 50),
        ("agents upvotes>=10 upvotes>=30", 30),
        ("agents OR upvotes>=50", None),
        ("agents -upvotes>=50", None),
        ("agents upvotes<=50", None),
    ],
)
def test_the_threshold_of_a_query(query: str, expected: int | None) -> None:
    assert threshold(parse_query(query)) == expected


def test_refresh_days_are_the_rest_of_the_week() -> None:
    today = date(2025, 2, 5)
    assert refresh_days(today, [date(2025, 2, 4), today]) == [
        date(2025, 1, 30),
        date(2025, 1, 31),
        date(2025, 2, 1),
        date(2025, 2, 2),
        date(2025, 2, 3),
    ]


async def test_an_export_keeps_the_flag_and_an_import_restores_it(db_url, hf):
    from bot.messages import Notice
    from tests.helpers import ADMIN, DM

    h = await harness(db_url, hf, utc(2025, 2, 3, 7, 0))
    await h.bot.say(f"subscribe {TRENDING} --when-crossed")
    await h.bot.say("subscribe diffusion")
    _head, *parts = [r for r in await h.bot.say("subscriptions export") if isinstance(r, Notice)]
    text = "\n".join(p.text for p in parts)
    assert f"{TRENDING} --when-crossed\ndiffusion" in text
    reply = await h.bot.text(
        f"subscriptions import {text}\nagents --when-crossed", user=ADMIN, place=DM
    )
    assert "Added 2" in reply and "needs an upvote threshold" in reply
    mine = await h.app.destinations.find(ADMIN, DM, personal=True)
    assert mine is not None
    rows = await h.app.subscriptions.list_for(mine.id)
    assert [(r.query, r.when_crossed) for r in rows] == [(TRENDING, True), ("diffusion", False)]
