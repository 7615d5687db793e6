"""Personal DM alerts: instant alerts batched per ingest, mute, and the catch-up after it."""

from __future__ import annotations

from datetime import date

from tests.delivery_helpers import FakeSource, Harness, RecordingAdapter, make_app, paper, utc
from tests.helpers import DM, MEMBER, FakeClock

DAY = date(2025, 2, 3)


async def user(db_url: str, *commands: str) -> Harness:
    source = FakeSource()
    h = Harness(
        make_app(db_url, FakeClock(utc(2025, 2, 3, 7, 0)), source), source, RecordingAdapter()
    )
    await h.bot.say("subscribe diffusion", user=MEMBER, place=DM)
    for c in commands:
        await h.bot.say(c, user=MEMBER, place=DM)
    return h


async def test_instant_alerts_come_once_per_ingest_with_everything_new(db_url):
    h = await user(db_url, "alerts instant")
    await h.tick(utc(2025, 2, 3, 7, 30))  # nothing featured yet
    h.source.feature(
        DAY,
        paper(1, "Diffusion A", upvotes=1),
        paper(2, "Diffusion B", upvotes=9),
        paper(3, "Graph databases"),
    )
    await h.tick(utc(2025, 2, 3, 8, 0))
    assert [s.paper_ids for s in h.adapter.to("U2")] == [["2501.00002", "2501.00001"]]
    assert h.adapter.sent[0].destination.kind == "user"
    await h.tick(utc(2025, 2, 3, 8, 30))  # upvotes refreshed, nothing new: no message
    assert len(h.adapter.sent) == 1
    h.source.feature(DAY, paper(4, "Diffusion C"))
    await h.tick(utc(2025, 2, 3, 9, 0))
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00002", "2501.00001"], ["2501.00004"]]
    await h.tick(utc(2025, 2, 3, 9, 30))
    assert len(h.adapter.sent) == 2, "instant alerts also got a daily digest"


async def test_daily_alerts_come_at_the_users_time(db_url):
    h = await user(db_url, "alerts daily 07:30 America/New_York")
    h.source.feature(DAY, paper(1, "Diffusion A"))
    await h.tick(utc(2025, 2, 3, 12, 29))
    assert h.adapter.sent == []
    await h.tick(utc(2025, 2, 3, 12, 30))  # 07:30 EST
    assert [s.paper_ids for s in h.adapter.to("U2")] == [["2501.00001"]]


async def test_mute_suppresses_and_its_expiry_brings_one_capped_catch_up(db_url):
    h = await user(db_url, "alerts instant", "digest max 3")
    reply = await h.bot.text("mute 3d", user=MEMBER, place=DM)
    assert "Muted until Thu 2025-02-06 07:00 UTC" in reply
    for i in range(1, 5):  # Feb 3..6, each before the mute ends on Feb 6 at 07:00
        h.source.feature(date(2025, 2, 2 + i), paper(i, f"Diffusion {i}", upvotes=i))
        await h.tick(utc(2025, 2, 2 + i, 6, 0 + i))
    await h.tick(utc(2025, 2, 6, 6, 59), ingest=False)
    assert h.adapter.sent == [], "a DM while muted"
    await h.tick(utc(2025, 2, 6, 7, 0), ingest=False)
    [catch_up] = h.adapter.sent
    assert catch_up.paper_ids == ["2501.00004", "2501.00003", "2501.00002"]
    assert "While you were muted: 4 papers" in catch_up.reply.title
    assert catch_up.reply.footer.startswith("and 1 more")
    h.source.feature(date(2025, 2, 7), paper(5, "Diffusion 5"))
    await h.tick(utc(2025, 2, 7, 6, 10))  # an ordinary alert again
    assert [s.paper_ids for s in h.adapter.sent][1:] == [["2501.00005"]]


async def test_mute_off_sends_the_catch_up_at_once(db_url):
    h = await user(db_url, "mute 1w")
    h.source.feature(DAY, paper(1, "Diffusion A"))
    await h.tick(utc(2025, 2, 3, 9, 0))  # the daily 09:00 UTC digest is muted
    assert h.adapter.sent == []
    assert "Unmuted" in await h.bot.text("mute off", user=MEMBER, place=DM)
    await h.tick(utc(2025, 2, 3, 9, 1))
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00001"]]
    await h.tick(utc(2025, 2, 4, 9, 0))
    assert len(h.adapter.sent) == 1
    assert "not muted" in await h.bot.text("mute off", user=MEMBER, place=DM)


async def test_an_instant_alert_waits_for_the_ingest_in_progress_to_finish(db_url):
    """The minute sweep may run between the polls of yesterday and today: still one alert."""
    h = await user(db_url, "alerts instant")
    await h.tick(utc(2025, 2, 3, 7, 30))
    h.source.feature(DAY.replace(day=2), paper(1, "Diffusion of yesterday"))
    h.source.feature(DAY, paper(2, "Diffusion of today"))
    polled = h.source.daily_papers

    async def sweep_meanwhile(day: date) -> list:
        if day == DAY:  # yesterday is stored; the minute sweep fires now
            await h.scheduler.sweep_job()
            await h.scheduler.sender.drain()
        return await polled(day)

    h.source.daily_papers = sweep_meanwhile  # type: ignore[method-assign]
    h.clock.set(utc(2025, 2, 3, 8, 0))
    await h.scheduler.ingest_job()
    await h.scheduler.sender.drain()
    assert [sorted(s.paper_ids) for s in h.adapter.sent] == [["2501.00001", "2501.00002"]]
