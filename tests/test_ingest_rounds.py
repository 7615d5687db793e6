"""Digests wait for a complete poll round: Hugging Face failing or slow on today's list only.

Through the real Hugging Face client against the local fake HF server: yesterday's list
answers, today's fails (500s, or hangs past the client's timeout) or is still in flight. A
digest must never go out with yesterday's papers and none of today's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from bot.messages import Fields
from bot.sources import HuggingFaceClient
from tests.delivery_helpers import Harness, RecordingAdapter, make_app, utc
from tests.fakes.hf_server import FakeHF
from tests.helpers import FakeClock, daily_item

YESTERDAY, TODAY = "2025-02-02", "2025-02-03"  # a Sunday and a Monday
OLD, NEW = "2502.00001", "2502.00002"  # featured yesterday and today


async def _no_sleep(seconds: float) -> None:
    return None


async def source_status(h: Harness) -> str:
    """The "Paper source" row of `status`, unwrapped."""
    [reply] = await h.bot.say("status")
    assert isinstance(reply, Fields)
    return dict(reply.rows)["Paper source"]


@pytest.fixture
async def hf() -> AsyncIterator[FakeHF]:
    async with FakeHF() as server:
        server.days[YESTERDAY] = [daily_item(OLD, "Diffusion yesterday", day=YESTERDAY)]
        server.days[TODAY] = [daily_item(NEW, "Diffusion today", day=TODAY, upvotes=9)]
        yield server


async def harness(
    db_url: str, hf: FakeHF, *, hf_timeout: float = 5, start: datetime | None = None, **env: str
) -> Harness:
    clock = FakeClock(start or utc(2025, 2, 3, 7, 0))
    source = HuggingFaceClient(
        base_url=hf.url,
        timeout=hf_timeout,
        max_retries=0,
        today=lambda: clock().date(),
        sleep=_no_sleep,
    )
    h = Harness(make_app(db_url, clock, source, **env), source, RecordingAdapter())  # type: ignore[arg-type]
    await h.bot.say("subscribe diffusion")
    await h.bot.say("digest time 09:00 UTC")
    return h


@pytest.mark.parametrize("failure", ["500", "timeout"])
async def test_today_failing_while_yesterday_works_holds_the_digest(db_url, hf, failure):
    h = await harness(db_url, hf, hf_timeout=0.3)
    if failure == "500":
        hf.fail_day(TODAY, 500)
    else:
        hf.hold_day(TODAY)  # never answered: the client times out
    try:
        for hour, minute in ((8, 40), (9, 0), (9, 10)):
            await h.tick(utc(2025, 2, 3, hour, minute))
        assert h.adapter.sent == [], "a digest went out without today's list"
        status = await source_status(h)
        problem = "last: HTTP 500" if failure == "500" else "timed out after 0.3 s"
        assert (
            f"unavailable since Mon 2025-02-03 08:40 UTC — list of {TODAY}: Hugging Face at "
            f"{hf.url} did not answer after 1 try ({problem}); digests wait for it"
        ) in status
        assert status.count("Hugging Face") == 1  # named once, not nested
        assert "no complete poll yet" in status
        hf.heal_day(TODAY)
        await h.tick(utc(2025, 2, 3, 9, 30))
        assert [sorted(s.paper_ids) for s in h.adapter.sent] == [[OLD, NEW]]
        status = await source_status(h)
        assert "last complete poll Mon 2025-02-03 09:30 UTC" in status
        assert "unavailable" not in status
        assert f"last error Mon 2025-02-03 09:10 UTC — list of {TODAY}: Hugging Face at" in status
    finally:
        await h.app.close()


async def test_today_in_flight_at_digest_time_holds_the_digest(db_url, hf):
    h = await harness(db_url, hf)
    try:
        hold = hf.hold_day(TODAY)
        h.clock.set(utc(2025, 2, 3, 8, 50))
        poll = asyncio.create_task(h.scheduler.ingest_once())
        await hold.reached.wait()  # yesterday is stored, today's answer is on its way
        await h.tick(utc(2025, 2, 3, 9, 0), ingest=False)
        assert h.adapter.sent == [], "a digest went out while today's list was in flight"
        hold.release.set()
        await poll
        await h.tick(utc(2025, 2, 3, 9, 0), ingest=False)
        assert [sorted(s.paper_ids) for s in h.adapter.sent] == [[OLD, NEW]]
    finally:
        await h.app.close()


async def test_today_failing_beyond_the_grace_skips_the_day_and_tomorrow_has_it(db_url, hf):
    h = await harness(db_url, hf, SOURCE_GRACE_HOURS="2")
    try:
        hf.fail_day(TODAY, 503)
        for hour in (8, 9, 10, 11):
            await h.tick(utc(2025, 2, 3, hour, 30))
        assert h.adapter.sent == []
        hf.heal_day(TODAY)
        await h.tick(utc(2025, 2, 3, 12, 0))
        assert h.adapter.sent == [], "a digest went out after its grace had run out"
        hf.days["2025-02-04"] = [daily_item("2502.00003", "Diffusion tomorrow", day="2025-02-04")]
        await h.tick(utc(2025, 2, 4, 9, 0))
        assert [sorted(s.paper_ids) for s in h.adapter.sent] == [[OLD, NEW, "2502.00003"]]
    finally:
        await h.app.close()


async def test_a_failing_old_day_does_not_hold_todays_digest(db_url, hf):
    """After a downtime the round polls missed days too; one of them failing is retried
    later, while yesterday's and today's lists decide the digest."""
    h = await harness(db_url, hf)
    try:
        await h.tick(utc(2025, 2, 3, 7, 0))
        hf.days["2025-02-06"] = [
            daily_item("2502.00006", "Diffusion on Thursday", day="2025-02-06")
        ]
        hf.fail_day("2025-02-04", 500)
        await h.tick(utc(2025, 2, 6, 9, 0))  # down since Monday morning
        assert [r.query["date"] for r in hf.requests[-4:]] == [
            "2025-02-03",
            "2025-02-04",
            "2025-02-05",
            "2025-02-06",
        ]
        assert "2502.00006" in h.adapter.sent[-1].paper_ids
        hf.heal_day("2025-02-04")
        hf.requests.clear()
        await h.tick(utc(2025, 2, 6, 9, 30))
        assert sorted(r.query["date"] for r in hf.requests) == [
            "2025-02-04",
            "2025-02-05",
            "2025-02-06",
        ]
        await h.tick(utc(2025, 2, 6, 10, 0))
        assert [r.query["date"] for r in hf.requests[-2:]] == ["2025-02-05", "2025-02-06"]
    finally:
        await h.app.close()


async def test_a_round_late_on_the_previous_utc_day_does_not_count_for_todays_digest(db_url, hf):
    """A digest just after midnight UTC waits for the first round that polled the new day."""
    h = await harness(db_url, hf, start=utc(2025, 2, 2, 20, 0))
    try:
        await h.bot.say("digest time 00:10 UTC")
        await h.tick(utc(2025, 2, 2, 23, 55))
        await h.tick(utc(2025, 2, 3, 0, 10), ingest=False)
        assert h.adapter.sent == []
        await h.tick(utc(2025, 2, 3, 0, 25))
        assert [sorted(s.paper_ids) for s in h.adapter.sent] == [[OLD, NEW]]
    finally:
        await h.app.close()


async def test_an_upgraded_database_still_catches_up_the_days_missed(db_url, hf):
    """The status written before the typed one (`ingest_ok`) still says where to resume."""
    h = await harness(db_url, hf)
    try:
        at = utc(2025, 2, 3, 7, 0)
        await h.app.state.set("ingest_ok", {"at": at.isoformat(), "through": TODAY}, now=at)
        await h.tick(utc(2025, 2, 5, 9, 0))
        assert [r.query["date"] for r in hf.requests] == [TODAY, "2025-02-04", "2025-02-05"]
    finally:
        await h.app.close()
