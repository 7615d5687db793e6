"""When digests go out: local times across DST, weekends, restarts, pauses, source outages."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta

import pytest

from tests.delivery_helpers import FakeSource, Harness, RecordingAdapter, make_app, paper, utc
from tests.helpers import FakeClock


def harness(db_url: str, start: datetime, **env: str) -> Harness:
    source = FakeSource()
    return Harness(make_app(db_url, FakeClock(start), source, **env), source, RecordingAdapter())


@pytest.mark.parametrize(
    ("days", "due_utc"),
    [
        # Spring forward on Sunday 2025-03-30: 09:00 Berlin is 08:00 UTC before, 07:00 after.
        (
            [date(2025, 3, 28), date(2025, 3, 29), date(2025, 3, 30), date(2025, 3, 31)],
            [(8, 0), (8, 0), (7, 0), (7, 0)],
        ),
        # Fall back on Sunday 2025-10-26: 07:00 UTC before, 08:00 after.
        (
            [date(2025, 10, 24), date(2025, 10, 25), date(2025, 10, 26), date(2025, 10, 27)],
            [(7, 0), (7, 0), (8, 0), (8, 0)],
        ),
    ],
    ids=["spring-forward", "fall-back"],
)
async def test_digest_at_0900_berlin_across_dst(db_url, days, due_utc):
    h = harness(db_url, utc(days[0].year, days[0].month, days[0].day, 5, 0))
    await h.bot.say("subscribe diffusion")
    assert "09:00 Europe/Berlin" in await h.bot.text("digest time 09:00 Europe/Berlin")
    for i, (day, (hh, mm)) in enumerate(zip(days, due_utc, strict=True)):
        h.source.feature(day, paper(i, f"Diffusion study {i}", upvotes=i))
        due = datetime.combine(day, datetime.min.time(), tzinfo=utc(2000, 1, 1).tzinfo)
        due = due.replace(hour=hh, minute=mm)
        await h.tick(due - timedelta(minutes=1))
        assert len(h.adapter.sent) == i, f"posted before 09:00 Berlin on {day}"
        await h.tick(due)
        assert len(h.adapter.sent) == i + 1, f"nothing posted at 09:00 Berlin on {day}"
        assert h.adapter.sent[-1].paper_ids == [f"2501.{i:05d}"]
        await h.tick(due + timedelta(hours=3))
        assert len(h.adapter.sent) == i + 1, "a second digest on the same day"


async def test_weekdays_only_monday_includes_the_weekend(db_url):
    fri, sat, sun, mon = (date(2025, 1, 3 + i) for i in range(4))
    h = harness(db_url, utc(2025, 1, 3, 6, 0))
    await h.bot.say("subscribe diffusion")
    await h.bot.say("digest time 09:00 UTC")
    assert "on weekdays" in await h.bot.text("digest weekdays")
    h.source.feature(fri, paper(1, "Diffusion A", upvotes=5))
    await h.tick(utc(2025, 1, 3, 9, 0))
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00001"]]
    h.source.feature(fri, paper(2, "Diffusion B (late on Friday)", upvotes=1))
    await h.tick(utc(2025, 1, 3, 15, 0))
    h.source.feature(sat, paper(3, "Diffusion C (Saturday)", upvotes=9))
    await h.tick(utc(2025, 1, 4, 9, 0))
    h.source.feature(sun, paper(4, "Diffusion D (Sunday)", upvotes=3))
    await h.tick(utc(2025, 1, 5, 9, 0))
    assert len(h.adapter.sent) == 1, "posted on a weekend despite `digest weekdays`"
    h.source.feature(mon, paper(5, "Diffusion E (Monday)", upvotes=4))
    await h.tick(utc(2025, 1, 6, 9, 0))
    monday = h.adapter.sent[-1]
    # Ranked by upvotes; Friday's first paper is not repeated.
    assert monday.paper_ids == ["2501.00003", "2501.00005", "2501.00004", "2501.00002"]
    assert "Mon 06 Jan 2025" in monday.text


async def test_restart_posts_a_missed_digest_within_the_catch_up_window(db_url):
    h = harness(db_url, utc(2025, 2, 3, 7, 0))
    await h.bot.say("subscribe diffusion")
    await h.bot.say("digest time 09:00 UTC")
    h.source.feature(date(2025, 2, 3), paper(1, "Diffusion one"))
    await h.tick(utc(2025, 2, 3, 7, 0))
    # Down from 07:00 until 14:00: the 09:00 digest goes out on start.
    h2 = await h.restart()
    await h2.tick(utc(2025, 2, 3, 14, 0))
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00001"]]
    await h2.app.close()


async def test_a_day_missed_beyond_the_window_is_not_lost(db_url):
    h = harness(db_url, utc(2025, 2, 3, 7, 0), CATCH_UP_HOURS="12")
    await h.bot.say("subscribe diffusion")
    await h.bot.say("digest time 09:00 UTC")
    h.source.feature(date(2025, 2, 3), paper(1, "Diffusion one"))
    await h.tick(utc(2025, 2, 3, 7, 0))
    # Down until 22:00, 13 hours after the digest time: too late to post that day's digest.
    await h.tick(utc(2025, 2, 3, 22, 0))
    assert h.adapter.sent == []
    h.source.feature(date(2025, 2, 4), paper(2, "Diffusion two"))
    await h.tick(utc(2025, 2, 4, 9, 0))
    assert [sorted(s.paper_ids) for s in h.adapter.sent] == [["2501.00001", "2501.00002"]]


async def test_pause_and_resume(db_url):
    h = harness(db_url, utc(2025, 2, 3, 7, 0))
    await h.bot.say("subscribe diffusion")
    await h.bot.say("digest time 09:00 UTC")
    assert "paused" in await h.bot.text("digest pause")
    h.source.feature(date(2025, 2, 3), paper(1, "Diffusion one"))
    await h.tick(utc(2025, 2, 3, 9, 0))
    await h.tick(utc(2025, 2, 3, 12, 0))
    assert h.adapter.sent == []
    assert "paused" in await h.bot.text("status")
    reply = await h.bot.text("digest resume")
    assert "Next: Tue 2025-02-04 09:00 UTC" in reply
    h.source.feature(date(2025, 2, 4), paper(2, "Diffusion two"))
    await h.tick(utc(2025, 2, 4, 9, 0))
    assert len(h.adapter.sent) == 1
    assert "2501.00002" in h.adapter.sent[0].paper_ids


async def test_source_outage_delays_the_digest_until_papers_arrive(db_url):
    day = date(2025, 2, 3)
    h = harness(db_url, utc(2025, 2, 3, 7, 0))
    await h.bot.say("subscribe diffusion")
    await h.bot.say("digest time 09:00 UTC")
    h.source.feature(day, paper(1, "Diffusion one"))
    await h.tick(utc(2025, 2, 3, 8, 0))
    h.source.down = True
    await h.tick(utc(2025, 2, 3, 8, 30))
    await h.tick(utc(2025, 2, 3, 9, 0))
    await h.tick(utc(2025, 2, 3, 10, 0))
    assert h.adapter.sent == [], "posted while the paper source was down"
    assert "unavailable since" in await h.bot.text("status")
    h.source.feature(day, paper(2, "Diffusion two"))
    h.source.down = False
    await h.tick(utc(2025, 2, 3, 10, 30))
    assert [sorted(s.paper_ids) for s in h.adapter.sent] == [["2501.00001", "2501.00002"]]


async def test_outage_beyond_the_grace_skips_the_day_and_the_next_digest_has_it(db_url):
    h = harness(db_url, utc(2025, 2, 3, 7, 0), SOURCE_GRACE_HOURS="2")
    await h.bot.say("subscribe diffusion")
    await h.bot.say("digest time 09:00 UTC")
    h.source.feature(date(2025, 2, 3), paper(1, "Diffusion one"))
    await h.tick(utc(2025, 2, 3, 8, 0))
    h.source.down = True
    for hour in (9, 10, 11, 12):
        await h.tick(utc(2025, 2, 3, hour, 0))
    h.source.down = False
    await h.tick(utc(2025, 2, 3, 13, 0))
    assert h.adapter.sent == [], "a digest was posted after its grace had run out"
    h.source.feature(date(2025, 2, 4), paper(2, "Diffusion two"))
    await h.tick(utc(2025, 2, 4, 9, 0))
    assert [sorted(s.paper_ids) for s in h.adapter.sent] == [["2501.00001", "2501.00002"]]


async def test_ingest_catches_up_missed_days_after_downtime(db_url):
    h = harness(db_url, utc(2025, 2, 3, 7, 0))
    await h.tick(utc(2025, 2, 3, 7, 0))
    assert h.source.calls == [date(2025, 2, 2), date(2025, 2, 3)]
    h.source.calls.clear()
    await h.tick(utc(2025, 2, 6, 12, 0))  # down for three days
    assert h.source.calls == [date(2025, 2, 3 + i) for i in range(4)]


async def test_scheduler_runs_the_jobs_on_start(db_url):
    """The real APScheduler: ingest at start, then the sweep, then the sender posts."""
    h = harness(db_url, utc(2025, 2, 3, 7, 0))
    await h.bot.say("subscribe diffusion")
    await h.bot.say("digest time 09:00 UTC")
    h.source.feature(date(2025, 2, 3), paper(1, "Diffusion one"))
    h.clock.set(utc(2025, 2, 3, 9, 5))
    posted = asyncio.Event()
    h.adapter.after_post = posted.set
    await h.scheduler.start()
    try:
        # APScheduler runs on the real clock (ingest now, the sweep a second later): wait
        # for the post itself, however long a loaded machine takes.
        await asyncio.wait_for(posted.wait(), 60)
    finally:
        # Stopping is prompt: workers woken by the post were mid-claim, and cancelling them
        # there once cost SQLite's 30 s busy timeout.
        await asyncio.wait_for(h.scheduler.stop(), 10)
    assert date(2025, 2, 3) in h.source.calls
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00001"]]


async def test_cron_digest_run_posts_once_and_exits(tmp_path, monkeypatch, capsys):
    """`paperbot digest run`, as cron would call it: one round, then nothing left to do."""
    from adapters.cli import main
    from bot.app import build_app
    from bot.messages import Place, User
    from bot.services.ingest import poll_round
    from bot.settings import load_settings
    from bot.storage.db import upgrade
    from tests.helpers import FakeClock, TestBot

    # Set up ten minutes before the digest is due (a first digest comes at the next digest
    # time after set-up), by the clock the CLI is given too: the console's channel
    # subscribed, its digest at 09:00, today's sample polled in a complete round.
    clock = FakeClock(utc(2025, 2, 3, 8, 50))
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    await upgrade(url)
    app = build_app(load_settings({"DATABASE_URL": url}), source_name="sample", clock=clock)
    try:
        await poll_round(app, [clock().date()])
        bot = TestBot(app)
        me = User(platform="console", id="local", name="me", can_manage_channel=True)
        here = Place(platform="console", id="console", name="console")
        await bot.say("subscribe model", user=me, place=here)
        await bot.say("digest time 09:00 UTC", user=me, place=here)
    finally:
        await app.close()
    monkeypatch.chdir(tmp_path)  # no stray .env
    for var in ("DISCORD_TOKEN", "SLACK_BOT_TOKEN", "PAPERS_SOURCE", "LOG_LEVEL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DATABASE_URL", url)
    clock.set(utc(2025, 2, 3, 9, 2))  # the cron run, two minutes after the digest time

    def digest_run() -> tuple[int, str]:
        code = main(["digest", "run", "--no-ingest"], clock=clock)
        return code, capsys.readouterr().out

    code, out = await asyncio.to_thread(digest_run)
    assert code == 0
    assert "[posted to #console]" in out and "Daily Papers digest" in out
    assert "digest run: 1 queued" in out and "1 sent" in out
    code, out = await asyncio.to_thread(digest_run)
    assert code == 0
    assert "[posted to" not in out and "0 queued" in out


async def test_restart_after_the_grace_waits_for_the_first_poll_instead_of_skipping(db_url):
    h = harness(db_url, utc(2025, 2, 3, 7, 0))  # grace 6 h, catch-up 12 h
    await h.bot.say("subscribe diffusion")
    await h.bot.say("digest time 09:00 UTC")
    h.source.feature(date(2025, 2, 3), paper(1, "Diffusion one"))
    await h.tick(utc(2025, 2, 3, 7, 0))
    h2 = await h.restart()
    # Back at 17:00: the first sweep runs before the first poll has finished.
    await h2.tick(utc(2025, 2, 3, 17, 0), ingest=False)
    assert h.adapter.sent == []
    await h2.tick(utc(2025, 2, 3, 17, 1))
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00001"]]
    await h2.app.close()


def test_local_times_in_dst_gaps_and_folds():
    from bot.delivery.timing import Schedule, at_local, next_digest

    # 02:30 does not exist in Berlin on 2025-03-30: it is read as 03:30 CEST (01:30 UTC).
    assert at_local(date(2025, 3, 30), "02:30", "Europe/Berlin") == utc(2025, 3, 30, 1, 30)
    # 02:30 happens twice on 2025-10-26: the first one (CEST, 00:30 UTC) counts, once.
    assert at_local(date(2025, 10, 26), "02:30", "Europe/Berlin") == utc(2025, 10, 26, 0, 30)
    berlin = Schedule("02:30", "Europe/Berlin", False, since=utc(2025, 10, 1))
    reach = timedelta(hours=12)
    after = next_digest(berlin, utc(2025, 10, 26, 0, 31), reach, done={date(2025, 10, 26)})
    assert after == utc(2025, 10, 27, 1, 30)
    # Weekdays only: Friday evening's next digest, once Friday's is done, is Monday's.
    weekdays = Schedule("09:00", "UTC", True, since=utc(2025, 1, 1))
    friday = utc(2025, 1, 3, 18, 0)
    assert next_digest(weekdays, friday, reach, done={date(2025, 1, 3)}) == utc(2025, 1, 6, 9, 0)
    # Not done yet (the source is down): it is still the next one, due since 09:00.
    assert next_digest(weekdays, friday, reach) == utc(2025, 1, 3, 9, 0)


async def test_no_catch_up_and_no_grace_still_post_on_time(db_url):
    """CATCH_UP_HOURS=0 means no posting after a downtime, not never posting at all."""
    h = harness(db_url, utc(2025, 2, 3, 7, 0), CATCH_UP_HOURS="0", SOURCE_GRACE_HOURS="0")
    await h.bot.say("subscribe diffusion")
    await h.bot.say("digest time 09:00 UTC")
    h.source.feature(date(2025, 2, 3), paper(1, "Diffusion one"))
    await h.tick(utc(2025, 2, 3, 8, 45))
    await h.tick(utc(2025, 2, 3, 9, 0, 40), ingest=False)  # the minute sweep, 40 s past
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00001"]]
