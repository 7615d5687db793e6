"""Weekly digests: one a week on a local weekday, across a DST change (injected clock), the
week's papers under a "most discussed" head, caught up after a downtime, and the commands'
answers (weekly and back to daily, for channels and DMs)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from adapters.console.render import render as console_render
from adapters.discord.render import render as discord_render
from adapters.slack.render import render_list
from bot.messages import PaperItem, PaperList
from bot.papers import Paper
from tests.delivery_helpers import FakeSource, Harness, RecordingAdapter, make_app, paper, utc
from tests.helpers import DM, MEMBER, FakeClock


def harness(db_url: str, start: datetime, **env: str) -> Harness:
    source = FakeSource()
    return Harness(make_app(db_url, FakeClock(start), source, **env), source, RecordingAdapter())


async def feature_week(h: Harness, first: date, days: int, *, offset: int = 0) -> None:
    """One diffusion paper a day from `first` (upvotes rise and fall), polled at noon UTC."""
    for i in range(days):
        day = first + timedelta(days=i)
        n = offset + i
        h.source.feature(day, paper(n, f"Diffusion study {n}", upvotes=(n * 7) % 10))
        await h.tick(
            datetime.combine(day, datetime.min.time(), utc(2000, 1, 1).tzinfo).replace(hour=12)
        )


async def test_weekly_digest_follows_the_local_weekday_across_dst(db_url):
    # Berlin falls back on Sunday 2025-10-26: Monday 09:00 is 07:00 UTC before, 08:00 after.
    h = harness(db_url, utc(2025, 10, 20, 5, 0))
    await h.bot.say("subscribe diffusion")
    reply = await h.bot.text("digest weekly Monday 09:00 Europe/Berlin")
    assert "Every Monday at 09:00 Europe/Berlin" in reply
    assert "Next: Mon 2025-10-20 09:00 CEST" in reply
    h.source.feature(date(2025, 10, 20), paper(90, "Diffusion on the first Monday", upvotes=2))
    await h.tick(utc(2025, 10, 20, 6, 59))
    assert h.adapter.sent == []
    await h.tick(utc(2025, 10, 20, 7, 0))
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00090"]]
    assert "Weekly Papers digest — week to Mon 20 Oct 2025 (1 paper)" in h.adapter.sent[0].text

    await feature_week(h, date(2025, 10, 21), 6)  # Tuesday to Sunday: nothing posted
    assert len(h.adapter.sent) == 1, "a weekly destination got a digest on another day"
    h.source.feature(date(2025, 10, 27), paper(6, "Diffusion study 6", upvotes=2))
    await h.tick(utc(2025, 10, 27, 7, 0))  # 08:00 CET: an hour early in local time
    assert len(h.adapter.sent) == 1, "posted at the old UTC time after the DST change"
    await h.tick(utc(2025, 10, 27, 8, 0))  # 09:00 CET
    assert len(h.adapter.sent) == 2
    week = h.adapter.sent[1]
    # The week's papers, most upvoted first (no ratings here), none of last week's again.
    upvotes = {f"2501.{n:05d}": (n * 7) % 10 for n in range(6)} | {"2501.00006": 2}
    assert sorted(week.paper_ids) == sorted(upvotes)
    assert week.paper_ids == sorted(upvotes, key=lambda pid: (-upvotes[pid], pid))
    assert week.part["title"] == "Weekly Papers digest — week to Mon 27 Oct 2025 (7 papers)"
    assert week.part["intro"] == (
        "Most discussed this week: 1. Diffusion study 4 (8 upvotes); "
        "2. Diffusion study 1 (7 upvotes); 3. Diffusion study 5 (5 upvotes)"
    )
    await h.tick(utc(2025, 10, 27, 12, 0))
    assert len(h.adapter.sent) == 2, "a second weekly digest in the same week"
    status = " ".join((await h.bot.text("status")).split())
    assert "Next digest Mon 2025-11-03 09:00 CET" in status


async def test_a_missed_weekly_digest_is_caught_up_on_start_within_the_window(db_url):
    # CATCH_UP_HOURS=48: down from Sunday to Wednesday 08:00, 47 hours after Monday 09:00.
    h = harness(db_url, utc(2025, 2, 3, 8, 0), CATCH_UP_HOURS="48")
    await h.bot.say("subscribe diffusion")
    await h.bot.say("digest weekly Mon 09:00 UTC")
    await h.tick(utc(2025, 2, 3, 9, 0))  # the first Monday: nothing matched yet
    await feature_week(h, date(2025, 2, 4), 5)  # Tuesday to Saturday
    h2 = await h.restart()
    h2.source.feature(date(2025, 2, 10), paper(20, "Diffusion on Monday", upvotes=1))
    await h2.tick(utc(2025, 2, 12, 8, 0))
    assert len(h.adapter.sent) == 1
    assert len(h.adapter.sent[0].paper_ids) == 6
    assert "week to Mon 10 Feb 2025" in h.adapter.sent[0].text
    await h2.tick(utc(2025, 2, 12, 9, 0))
    assert len(h.adapter.sent) == 1, "the caught-up weekly digest went out twice"
    await h2.app.close()


async def test_a_weekly_digest_missed_beyond_the_window_is_not_posted_late(db_url):
    h = harness(db_url, utc(2025, 2, 3, 8, 0), CATCH_UP_HOURS="12", SOURCE_GRACE_HOURS="6")
    await h.bot.say("subscribe diffusion")
    await h.bot.say("digest weekly monday 09:00 UTC")
    await feature_week(h, date(2025, 2, 4), 5)
    h2 = await h.restart()
    await h2.tick(utc(2025, 2, 10, 21, 1))  # 12 hours and a minute after Monday 09:00
    assert h.adapter.sent == []
    status = " ".join((await h2.bot.text("status")).split())
    assert "Next digest Mon 2025-02-17 09:00 UTC" in status
    await h2.app.close()


async def test_weekly_and_back_to_daily_in_a_channel(db_url):
    h = harness(db_url, utc(2025, 2, 5, 12, 0))  # a Wednesday
    await h.bot.say("subscribe diffusion")
    reply = await h.bot.text("digest weekly friday 16:30 europe/berlin")
    assert "Weekly digest for #papers. Every Friday at 16:30 Europe/Berlin" in reply
    assert "Next: Fri 2025-02-07 16:30 CET" in reply
    assert "Back to daily: /digest daily." in reply
    status = " ".join((await h.bot.text("status")).split())
    assert "16:30 Europe/Berlin, weekly on Friday" in status
    # `digest time` keeps the cadence; `digest daily` (or `digest everyday`) switches back.
    assert "weekly on Friday" in await h.bot.text("digest time 17:00")
    back = await h.bot.text("digest daily")
    assert "is posted at 17:00 Europe/Berlin, every day" in back
    assert "Next: Wed 2025-02-05 17:00 CET" in back
    await h.bot.say("digest weekly Fri 08:00")
    assert "every day" in await h.bot.text("digest everyday")


async def test_weekly_alerts_by_dm(db_url):
    h = harness(db_url, utc(2025, 2, 5, 12, 0))
    await h.bot.say("subscribe diffusion", user=MEMBER, place=DM)
    reply = await h.bot.text("alerts weekly sun 18:00 America/New_York", user=MEMBER, place=DM)
    assert "You get one DM a week with your matches. Every Sunday at 18:00" in reply
    assert "Next: Sun 2025-02-09 18:00 EST" in reply
    status = " ".join((await h.bot.text("status", user=MEMBER, place=DM)).split())
    assert "weekly, 18:00 America/New_York, weekly on Sunday" in status
    h.source.feature(date(2025, 2, 9), paper(1, "Diffusion for the week", upvotes=3))
    await h.tick(utc(2025, 2, 9, 22, 59))
    assert h.adapter.sent == []
    await h.tick(utc(2025, 2, 9, 23, 0))  # 18:00 EST
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00001"]]
    daily = await h.bot.text("alerts daily 08:00", user=MEMBER, place=DM)
    assert "You get one DM a day with your matches, at 08:00 America/New_York" in daily


async def test_bad_weekly_input_gets_one_line_naming_the_fix(db_url):
    h = harness(db_url, utc(2025, 2, 5, 12, 0))
    await h.bot.say("subscribe diffusion")
    for line, expected in [
        ("digest weekly funday 09:00", "'funday' is not a day of the week; use Monday to Sunday"),
        ("digest weekly monday 25:00", "'25:00' is not a time of day; use HH:MM"),
        ("digest weekly monday 9am", "'9am' is not a time of day; use HH:MM"),
        ("digest weekly monday 09:00 Mars/Olympus", "is not a time zone I know"),
        ("digest weekly monday", "Usage:"),
        ("digest weekly monday 09:00 UTC --dm", "Too many arguments"),
        ("alerts weekly 09:00 monday", "'09:00' is not a day of the week"),
    ]:
        answer = await h.bot.text(line)
        # One line naming the fix; a usage line may follow it.
        assert expected in answer.splitlines()[0] or expected == "Usage:", (line, answer)
        assert expected in answer, (line, answer)
        assert len(answer.splitlines()) <= 2, (line, answer)


def test_every_platform_shows_the_most_discussed_head_under_the_title() -> None:
    intro = "Most discussed this week: 1. Diffusion (9 upvotes)"
    plist = PaperList(
        title="Weekly Papers digest",
        items=(PaperItem(Paper(id="2501.00001", title="Diffusion", abstract="a", upvotes=9)),),
        intro=intro,
    )
    assert intro in (discord_render(plist)[0].content or "")
    assert intro in str(render_list(plist)[0])
    assert intro in console_render(plist)


def test_the_next_weekly_digest_keeps_its_local_time_across_spring_forward() -> None:
    from datetime import timedelta as td

    from bot.delivery.timing import Schedule, due_slots, next_digest

    # Berlin springs forward on Sunday 2025-03-30: Sunday 09:00 is 08:00 UTC the week
    # before, 07:00 UTC that day.
    weekly = Schedule("09:00", "Europe/Berlin", False, utc(2025, 3, 1), weekday=6)
    reach = td(hours=12)
    assert next_digest(weekly, utc(2025, 3, 23, 7, 0), reach) == utc(2025, 3, 23, 8, 0)
    assert next_digest(weekly, utc(2025, 3, 24, 7, 0), reach) == utc(2025, 3, 30, 7, 0)
    assert due_slots(weekly, utc(2025, 3, 30, 6, 59), reach) == []
    assert due_slots(weekly, utc(2025, 3, 30, 7, 0), reach) == [
        (date(2025, 3, 30), utc(2025, 3, 30, 7, 0))
    ]
    # weekdays_only is a daily setting: a weekly Sunday digest is still owed.
    both = Schedule("09:00", "Europe/Berlin", True, utc(2025, 3, 1), weekday=6)
    assert next_digest(both, utc(2025, 3, 24, 7, 0), reach) == utc(2025, 3, 30, 7, 0)
    assert weekly.slot(date(2025, 3, 30)) == "week-2025-03-30"
