"""Quiet hours of instant alerts: held inside, one batched message at the end; across
midnight and a DST change (injected clock, no wall time); the command's answers."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.delivery.quiet import is_quiet, parse_span, quiet_until
from bot.delivery.timing import TimingError
from tests.delivery_helpers import FakeSource, Harness, RecordingAdapter, make_app, paper, utc
from tests.helpers import DM, MEMBER, FakeClock


async def user(db_url: str, start: datetime, *commands: str) -> Harness:
    source = FakeSource()
    h = Harness(make_app(db_url, FakeClock(start), source), source, RecordingAdapter())
    await h.bot.say("subscribe diffusion", user=MEMBER, place=DM)
    await h.bot.say("alerts instant", user=MEMBER, place=DM)
    for c in commands:
        await h.bot.say(c, user=MEMBER, place=DM)
    return h


async def test_alerts_inside_quiet_hours_wait_and_come_batched_after_midnight(db_url):
    h = await user(db_url, utc(2025, 2, 3, 21, 0), "alerts quiet 22:00-07:00 Europe/Berlin")
    day = date(2025, 2, 3)
    h.source.feature(day, paper(1, "Diffusion before the quiet hours"))
    await h.tick(utc(2025, 2, 3, 20, 30))  # 21:30 Berlin: not quiet yet
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00001"]]
    h.source.feature(day, paper(2, "Diffusion late at night", upvotes=3))
    await h.tick(utc(2025, 2, 3, 21, 30))  # 22:30 Berlin
    h.source.feature(date(2025, 2, 4), paper(3, "Diffusion after midnight", upvotes=5))
    await h.tick(utc(2025, 2, 4, 0, 30))  # 01:30 Berlin, the next day (UTC too)
    await h.tick(utc(2025, 2, 4, 5, 59), ingest=False)  # 06:59: still quiet
    assert len(h.adapter.sent) == 1, "an alert went out inside the quiet hours"
    await h.tick(utc(2025, 2, 4, 6, 0), ingest=False)  # 07:00 Berlin: the end
    assert [s.paper_ids for s in h.adapter.sent][1:] == [["2501.00003", "2501.00002"]]
    await h.tick(utc(2025, 2, 4, 6, 30))
    assert len(h.adapter.sent) == 2, "the held papers came twice"


async def test_the_end_of_quiet_hours_follows_the_local_clock_across_dst(db_url):
    # Berlin springs forward on 2025-03-30: 07:00 local is 06:00 UTC before, 05:00 UTC after.
    h = await user(db_url, utc(2025, 3, 29, 20, 0), "alerts quiet 22:00-07:00 Europe/Berlin")
    h.source.feature(date(2025, 3, 29), paper(1, "Diffusion at night"))
    await h.tick(utc(2025, 3, 29, 22, 0))  # 23:00 CET: quiet
    await h.tick(utc(2025, 3, 30, 4, 59), ingest=False)  # 06:59 CEST
    assert h.adapter.sent == []
    await h.tick(utc(2025, 3, 30, 5, 0), ingest=False)  # 07:00 CEST: the end, one hour early in UTC
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00001"]]


async def test_quiet_hours_off_releases_what_was_held(db_url):
    h = await user(db_url, utc(2025, 2, 3, 22, 0), "alerts quiet 22:00-07:00")
    h.source.feature(date(2025, 2, 3), paper(1, "Diffusion at night"))
    await h.tick(utc(2025, 2, 3, 23, 0))
    assert h.adapter.sent == []
    reply = await h.bot.text("alerts quiet off", user=MEMBER, place=DM)
    assert "Quiet hours are off" in reply
    await h.tick(utc(2025, 2, 3, 23, 1), ingest=False)
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00001"]]


async def test_the_command_answers_and_refuses_clearly(db_url):
    h = await user(db_url, utc(2025, 2, 3, 12, 0))
    ok = await h.bot.text("alerts quiet 22:00-7:00 europe/berlin", user=MEMBER, place=DM)
    assert "Quiet hours 22:00-07:00 Europe/Berlin: instant alerts that fall inside wait" in ok
    for line, expected in [
        ("alerts quiet 22:00", "'22:00' is not a span of the day; write start-end"),
        ("alerts quiet 25:00-07:00", "'25:00' is not a time of day"),
        ("alerts quiet 07:00-07:00", "would be empty"),
        ("alerts quiet 22:00-07:00 Mars/Olympus", "is not a time zone I know"),
        ("alerts quiet off Europe/Berlin", "alerts quiet off takes no time zone."),
    ]:
        assert expected in await h.bot.text(line, user=MEMBER, place=DM), line
    await h.bot.say("alerts daily 08:00", user=MEMBER, place=DM)
    daily = await h.bot.text("alerts quiet 23:00-06:00", user=MEMBER, place=DM)
    assert "They apply to instant alerts" in daily
    await h.bot.say("alerts quiet off", user=MEMBER, place=DM)
    assert "You have no quiet hours." in await h.bot.text("alerts quiet off", user=MEMBER, place=DM)


@pytest.mark.parametrize(
    ("hour", "minute", "quiet"),
    [(21, 59, False), (22, 0, True), (0, 0, True), (6, 59, True), (7, 0, False), (12, 0, False)],
)
def test_a_span_across_midnight_is_start_inclusive_end_exclusive(
    hour: int, minute: int, quiet: bool
) -> None:
    assert is_quiet(utc(2025, 1, 1, hour, minute), "22:00", "07:00", "UTC") is quiet
    # The same span within a day: 09:00-17:00.
    assert is_quiet(utc(2025, 1, 1, hour, minute), "09:00", "17:00", "UTC") is (9 <= hour < 17)


def test_no_quiet_hours_is_never_quiet() -> None:
    assert not is_quiet(utc(2025, 1, 1, 3, 0), None, None, "UTC")


@pytest.mark.parametrize("text", ["22:00 - 07:00", "22:00–07:00", "22.00 to 7.00"])
def test_spans_are_read_in_the_forms_people_type(text: str) -> None:
    assert parse_span(text) == ("22:00", "07:00")


def test_a_hostile_span_is_refused_in_one_line() -> None:
    with pytest.raises(TimingError) as caught:
        parse_span("\u202e22:00-07:00" * 5)
    assert "\n" not in str(caught.value)


async def test_status_shows_the_quiet_hours(db_url):
    h = await user(db_url, utc(2025, 2, 3, 12, 0), "alerts quiet 22:00-07:00")
    text = await h.bot.text("status", user=MEMBER, place=DM)
    assert "quiet 22:00-07:00 (held, then batched)" in " ".join(text.split())  # unwrapped


def test_quiet_until_is_the_next_local_end_across_dst() -> None:
    # 23:00 CET on the night Berlin springs forward: 07:00 CEST is 05:00 UTC.
    assert quiet_until(utc(2025, 3, 29, 22, 0), "07:00", "Europe/Berlin") == utc(2025, 3, 30, 5)
    # After midnight the end is the same day's; a span within a day ends today.
    assert quiet_until(utc(2025, 2, 4, 1, 0), "07:00", "UTC") == utc(2025, 2, 4, 7)
    assert quiet_until(utc(2025, 2, 4, 10, 0), "17:00", "UTC") == utc(2025, 2, 4, 17)


async def test_a_quiet_destination_is_not_looked_at_again_until_the_end(db_url):
    """New papers during the night must not bring every quiet user into every sweep."""
    h = await user(db_url, utc(2025, 2, 3, 22, 0), "alerts quiet 22:00-07:00")
    h.source.feature(date(2025, 2, 3), paper(1, "Diffusion at night"))
    await h.tick(utc(2025, 2, 3, 23, 0))
    row = await h.app.destinations.find(MEMBER, DM, personal=True)
    assert row is not None
    assert (row.next_due_at, row.alert_mark) == (utc(2025, 2, 4, 7), None)
    h.source.feature(date(2025, 2, 3), paper(2, "Diffusion later at night"))
    h.clock.set(utc(2025, 2, 3, 23, 30))
    await h.scheduler.ingest_once()  # a paper newer than any alert: still not looked at
    report = await h.scheduler.sweeper.sweep()
    assert report.looked_at == 0
    await h.tick(utc(2025, 2, 4, 7, 0))
    assert [sorted(s.paper_ids) for s in h.adapter.sent] == [["2501.00001", "2501.00002"]]
