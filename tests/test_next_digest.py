"""The reply to a schedule change, `status` and the scheduler agree on the next digest.

The semantics: one daily digest per local day. Once today's is done, a later time today
means the next digest is tomorrow, and the reply says so. A time that has passed when it is
set (or a destination set up after today's time) is not owed today: catch-up is only for
digests missed while the bot was down.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from bot.messages import Fields
from tests.delivery_helpers import FakeSource, Harness, RecordingAdapter, make_app, paper, utc
from tests.helpers import FakeClock

MON = date(2025, 2, 3)
_WHEN_RE = re.compile(r"\w{3} (\d{4}-\d{2}-\d{2} \d{2}:\d{2}) UTC")


def harness(db_url: str, start: datetime, **env: str) -> Harness:
    source = FakeSource()
    return Harness(make_app(db_url, FakeClock(start), source, **env), source, RecordingAdapter())


def when(text: str) -> datetime:
    """The first "Mon 2025-02-03 18:07 UTC" in `text`."""
    m = _WHEN_RE.search(text)
    assert m, text
    return datetime.fromisoformat(m.group(1) + "+00:00")


async def status_next(h: Harness) -> str:
    [reply] = await h.bot.say("status")
    assert isinstance(reply, Fields)
    return dict(reply.rows)["Next digest"]


async def posted_exactly_at(h: Harness, at: datetime) -> None:
    """Nothing goes out before `at` (polling every 30 minutes), one digest at `at`."""
    before = len(h.adapter.sent)
    t = h.clock()
    while t + timedelta(minutes=30) < at:
        t += timedelta(minutes=30)
        await h.tick(t)
    await h.tick(at - timedelta(minutes=1))
    assert len(h.adapter.sent) == before, f"a digest went out before {at}"
    await h.tick(at)
    assert len(h.adapter.sent) == before + 1, f"no digest at {at}"


async def test_a_later_time_after_todays_digest_means_tomorrow_and_says_so(db_url):
    h = harness(db_url, utc(2025, 2, 3, 7, 0))
    await h.bot.say("subscribe diffusion")
    await h.bot.say("digest time 09:00 UTC")
    h.source.feature(MON, paper(1, "Diffusion one"))
    await h.tick(utc(2025, 2, 3, 9, 0))
    assert len(h.adapter.sent) == 1
    h.clock.set(utc(2025, 2, 3, 12, 0))
    reply = await h.bot.text("digest time 18:07")
    assert "Next: Tue 2025-02-04 18:07 UTC" in reply, reply
    assert "today's digest is done already" in reply
    assert when(await status_next(h)) == utc(2025, 2, 4, 18, 7)
    h.source.feature(MON, paper(2, "Diffusion two"))
    await posted_exactly_at(h, utc(2025, 2, 4, 18, 7))
    assert h.adapter.sent[-1].paper_ids == ["2501.00002"]


async def test_a_later_time_before_todays_digest_is_today(db_url):
    h = harness(db_url, utc(2025, 2, 3, 7, 0))
    await h.bot.say("subscribe diffusion")
    h.source.feature(MON, paper(1, "Diffusion one"))
    reply = await h.bot.text("digest time 18:07 UTC")
    assert "Next: Mon 2025-02-03 18:07 UTC" in reply
    assert when(await status_next(h)) == utc(2025, 2, 3, 18, 7)
    await posted_exactly_at(h, utc(2025, 2, 3, 18, 7))


async def test_a_time_already_past_today_is_not_a_catch_up(db_url):
    h = harness(db_url, utc(2025, 2, 3, 7, 0))
    await h.bot.say("subscribe diffusion")
    await h.bot.say("digest time 18:00 UTC")
    h.source.feature(MON, paper(1, "Diffusion one"))
    await h.tick(utc(2025, 2, 3, 10, 0))
    reply = await h.bot.text("digest time 08:00")
    assert "Next: Tue 2025-02-04 08:00 UTC" in reply
    assert when(await status_next(h)) == utc(2025, 2, 4, 8, 0)
    await posted_exactly_at(h, utc(2025, 2, 4, 8, 0))
    assert h.adapter.sent[-1].paper_ids == ["2501.00001"]  # today's papers are not lost


async def test_the_first_digest_is_at_the_next_scheduled_time(db_url):
    # Set up at 10:00 with the default 09:00: not a catch-up a second later, tomorrow 09:00.
    h = harness(db_url, utc(2025, 2, 3, 10, 0))
    h.source.feature(MON, paper(1, "Diffusion one"))
    await h.tick(utc(2025, 2, 3, 10, 0))
    await h.bot.say("subscribe diffusion")
    assert when(await status_next(h)) == utc(2025, 2, 4, 9, 0)
    await posted_exactly_at(h, utc(2025, 2, 4, 9, 0))
    assert h.adapter.sent[-1].paper_ids == ["2501.00001"]  # it covers the day before set-up


async def test_resume_after_the_digest_time_is_tomorrow(db_url):
    h = harness(db_url, utc(2025, 2, 3, 7, 0))
    await h.bot.say("subscribe diffusion")
    await h.bot.say("digest pause")
    h.source.feature(MON, paper(1, "Diffusion one"))
    await h.tick(utc(2025, 2, 3, 9, 0))
    h.clock.set(utc(2025, 2, 3, 12, 0))
    reply = await h.bot.text("digest resume")
    assert "Next: Tue 2025-02-04 09:00 UTC" in reply
    assert when(await status_next(h)) == utc(2025, 2, 4, 9, 0)
    await posted_exactly_at(h, utc(2025, 2, 4, 9, 0))


async def test_a_digest_waiting_for_the_source_is_due_in_status(db_url):
    h = harness(db_url, utc(2025, 2, 3, 7, 0))
    await h.bot.say("subscribe diffusion")
    await h.tick(utc(2025, 2, 3, 8, 0))
    h.source.down = True
    await h.tick(utc(2025, 2, 3, 9, 30))
    assert h.adapter.sent == []
    shown = await status_next(h)
    assert shown.startswith("due since Mon 2025-02-03 09:00 UTC"), shown
    # Changing the time now moves the schedule on: that digest is not owed any more.
    reply = await h.bot.text("digest time 10:00")
    assert "Next: Mon 2025-02-03 10:00 UTC" in reply
