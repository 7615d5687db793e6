"""The stored due time: the sweep reads only what is due, and no change makes it late.

Each test changes what a destination is owed (schedule, zone, weekdays, pause, mute,
subscriptions, alerts mode, a DST change) and checks both sides: the digest comes exactly
when the timing rules say, and idle sweeps in between read no destination at all.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from bot.storage.models import LOOK_NOW, NEVER, DestinationRow
from tests.delivery_helpers import FakeSource, Harness, RecordingAdapter, make_app, paper, utc
from tests.helpers import DM, MEMBER, FakeClock

DAY = date(2025, 2, 3)


async def channel(db_url: str, *commands: str) -> Harness:
    source = FakeSource()
    h = Harness(
        make_app(db_url, FakeClock(utc(2025, 2, 3, 7, 0)), source), source, RecordingAdapter()
    )
    for c in ("subscribe diffusion", "digest time 09:00 UTC", *commands):
        await h.bot.say(c)
    return h


async def due(h: Harness) -> list[tuple[object, object]]:
    async with h.app.sessions() as s:
        rows = await s.execute(
            select(DestinationRow.next_due_at, DestinationRow.alert_mark).order_by(
                DestinationRow.id
            )
        )
        return [tuple(r) for r in rows.all()]


async def sweep(h: Harness, at: object) -> int:
    """One sweep at `at` (no ingest); how many destinations it read."""
    h.clock.set(at)  # type: ignore[arg-type]
    report = await h.scheduler.sweeper.sweep()
    await h.scheduler.sender.drain()
    return report.looked_at


async def test_after_a_digest_idle_sweeps_read_nothing_until_the_next_one(db_url):
    h = await channel(db_url)
    assert await due(h) == [(LOOK_NOW, None)], "a new destination is looked at at once"
    h.source.feature(DAY, paper(1, "Diffusion A"))
    await h.tick(utc(2025, 2, 3, 7, 30))
    assert await due(h) == [(utc(2025, 2, 3, 9, 0), None)]
    assert await sweep(h, utc(2025, 2, 3, 8, 59)) == 0
    await h.tick(utc(2025, 2, 3, 9, 0))
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00001"]]
    assert await due(h) == [(utc(2025, 2, 4, 9, 0), None)]
    for minute in (1, 2, 30, 600):
        assert await sweep(h, utc(2025, 2, 3, 9, 0) + timedelta(minutes=minute)) == 0
    h.source.feature(DAY + timedelta(days=1), paper(2, "Diffusion B"))
    await h.tick(utc(2025, 2, 4, 9, 0))
    assert [s.paper_ids for s in h.adapter.sent][1:] == [["2501.00002"]]


async def test_a_digest_waiting_for_papers_stays_due_every_minute(db_url):
    h = await channel(db_url)
    h.source.feature(DAY, paper(1, "Diffusion A"))
    await h.tick(utc(2025, 2, 3, 7, 30))
    h.source.down = True
    await h.tick(utc(2025, 2, 3, 9, 0))
    assert h.adapter.sent == []
    assert await due(h) == [(utc(2025, 2, 3, 9, 0), None)], "waiting: still due"
    assert await sweep(h, utc(2025, 2, 3, 9, 1)) == 1
    h.source.down = False
    await h.tick(utc(2025, 2, 3, 9, 20))
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00001"]]
    assert await due(h) == [(utc(2025, 2, 4, 9, 0), None)]


async def test_an_earlier_time_or_another_zone_brings_the_digest_forward(db_url):
    h = await channel(db_url)
    h.source.feature(DAY, paper(1, "Diffusion A"), paper(2, "Diffusion B", upvotes=5))
    await h.tick(utc(2025, 2, 3, 7, 30))
    assert await due(h) == [(utc(2025, 2, 3, 9, 0), None)]
    await h.bot.say("digest time 08:15 Europe/Berlin")  # 07:15 UTC: passed, not owed today
    assert await sweep(h, utc(2025, 2, 3, 7, 31)) == 1
    assert await due(h) == [(utc(2025, 2, 4, 7, 15), None)]
    await h.bot.say("digest time 08:45 Europe/Berlin")  # 07:45 UTC today
    await h.tick(utc(2025, 2, 3, 7, 44))
    assert h.adapter.sent == []
    await h.tick(utc(2025, 2, 3, 7, 45))
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00002", "2501.00001"]]
    assert await due(h) == [(utc(2025, 2, 4, 7, 45), None)]


async def test_weekdays_only_skips_the_weekend_in_the_stored_time(db_url):
    h = await channel(db_url, "digest weekdays")
    friday = date(2025, 2, 7)
    h.clock.set(utc(2025, 2, 7, 7, 0))
    h.source.feature(friday, paper(1, "Diffusion A"))
    await h.tick(utc(2025, 2, 7, 9, 0))
    assert len(h.adapter.sent) == 1
    assert await due(h) == [(utc(2025, 2, 10, 9, 0), None)], "Monday, not Saturday"
    await h.bot.say("digest everyday")
    h.source.feature(friday + timedelta(days=1), paper(2, "Diffusion B"))
    await h.tick(utc(2025, 2, 8, 9, 0))
    assert [s.paper_ids for s in h.adapter.sent][1:] == [["2501.00002"]]


async def test_pause_parks_the_destination_and_resume_brings_it_back(db_url):
    h = await channel(db_url)
    await h.tick(utc(2025, 2, 3, 7, 30))
    await h.bot.say("digest pause")
    assert await sweep(h, utc(2025, 2, 3, 7, 31)) == 1
    assert await due(h) == [(NEVER, None)]
    h.source.feature(DAY, paper(1, "Diffusion A"))
    await h.tick(utc(2025, 2, 3, 9, 0))
    assert h.adapter.sent == [] and await sweep(h, utc(2025, 2, 3, 9, 5)) == 0
    await h.bot.say("digest resume")  # at 09:05: today's 09:00 is not owed any more
    assert await sweep(h, utc(2025, 2, 3, 9, 6)) == 1
    assert await due(h) == [(utc(2025, 2, 4, 9, 0), None)]


async def test_subscriptions_park_and_wake_the_destination(db_url):
    h = await channel(db_url)
    await h.tick(utc(2025, 2, 3, 7, 30))
    [sub] = await h.app.subscriptions.list_for((await h.app.destinations.all_active())[0].id)
    await h.bot.say(f"unsubscribe {sub.id}")
    assert await sweep(h, utc(2025, 2, 3, 7, 31)) == 1
    assert await due(h) == [(NEVER, None)], "nothing to match: nothing can be due"
    assert await sweep(h, utc(2025, 2, 3, 7, 32)) == 0
    await h.bot.say("subscribe video")
    h.source.feature(DAY, paper(1, "Long video understanding"))
    await h.tick(utc(2025, 2, 3, 9, 0))
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00001"]]


async def test_the_stored_time_follows_dst_both_ways(db_url):
    h = await channel(db_url)
    h.clock.set(utc(2025, 3, 28, 12, 0))
    await h.bot.say("digest time 09:00 Europe/Berlin")  # today's has passed: not owed
    # Berlin: CET (UTC+1) until 2025-03-30 02:00, then CEST (UTC+2).
    expected = {
        date(2025, 3, 29): utc(2025, 3, 29, 8, 0),
        date(2025, 3, 30): utc(2025, 3, 30, 7, 0),
        date(2025, 3, 31): utc(2025, 3, 31, 7, 0),
    }
    await sweep(h, utc(2025, 3, 28, 12, 1))
    for day, at in expected.items():
        assert await due(h) == [(at, None)]
        h.source.feature(day, paper(day.day, f"Diffusion {day.day}"))
        await h.tick(at - timedelta(minutes=1))
        sent = len(h.adapter.sent)
        await h.tick(at)
        assert len(h.adapter.sent) == sent + 1, f"the digest of {day}"
    # And back: CEST until 2025-10-26 03:00, then CET.
    h.clock.set(utc(2025, 10, 24, 12, 0))
    await h.bot.say("digest time 10:00 Europe/Berlin")
    await sweep(h, utc(2025, 10, 24, 12, 1))
    assert await due(h) == [(utc(2025, 10, 25, 8, 0), None)]
    h.source.feature(date(2025, 10, 25), paper(40, "Diffusion Oct"))
    await h.tick(utc(2025, 10, 25, 8, 0))
    assert await due(h) == [(utc(2025, 10, 26, 9, 0), None)]


async def test_mute_holds_the_time_until_it_ends_and_mute_off_wakes_it(db_url):
    source = FakeSource()
    h = Harness(
        make_app(db_url, FakeClock(utc(2025, 2, 3, 7, 0)), source), source, RecordingAdapter()
    )
    for c in ("subscribe diffusion", "mute 1w"):
        await h.bot.say(c, user=MEMBER, place=DM)
    await h.tick(utc(2025, 2, 3, 7, 30))
    assert await due(h) == [(utc(2025, 2, 10, 7, 0), None)]
    h.source.feature(DAY, paper(1, "Diffusion A"))
    await h.tick(utc(2025, 2, 3, 9, 0))
    assert h.adapter.sent == [] and await sweep(h, utc(2025, 2, 3, 9, 1)) == 0
    await h.bot.say("mute off", user=MEMBER, place=DM)
    await h.tick(utc(2025, 2, 3, 9, 2), ingest=False)
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00001"]]
    # Today's 09:00 digest is still owed (the catch-up took its papers): an empty run.
    assert await due(h) == [(utc(2025, 2, 3, 9, 0), None)]
    assert await sweep(h, utc(2025, 2, 3, 9, 3)) == 1
    assert len(h.adapter.sent) == 1
    assert await due(h) == [(utc(2025, 2, 4, 9, 0), None)]


async def test_instant_alerts_are_read_only_when_papers_came_after_the_last(db_url):
    source = FakeSource()
    h = Harness(
        make_app(db_url, FakeClock(utc(2025, 2, 3, 7, 0)), source), source, RecordingAdapter()
    )
    for c in ("subscribe diffusion", "alerts instant"):
        await h.bot.say(c, user=MEMBER, place=DM)
    h.source.feature(DAY, paper(1, "Diffusion A"))
    await h.tick(utc(2025, 2, 3, 8, 0))
    assert len(h.adapter.sent) == 1
    assert await due(h) == [(NEVER, utc(2025, 2, 3, 8, 0))]
    await h.tick(utc(2025, 2, 3, 8, 30))  # a poll with nothing new
    assert await sweep(h, utc(2025, 2, 3, 8, 31)) == 0
    h.source.feature(DAY, paper(2, "Diffusion B"))
    await h.tick(utc(2025, 2, 3, 9, 0))
    assert [s.paper_ids for s in h.adapter.sent][1:] == [["2501.00002"]]
    await h.bot.say("alerts daily 10:00 UTC", user=MEMBER, place=DM)
    h.source.feature(DAY, paper(3, "Diffusion C"))
    await h.tick(utc(2025, 2, 3, 9, 30))
    assert len(h.adapter.sent) == 2, "daily now: no instant alert"
    assert await due(h) == [(utc(2025, 2, 3, 10, 0), None)]
    await h.tick(utc(2025, 2, 3, 10, 0))
    assert [s.paper_ids for s in h.adapter.sent][2:] == [["2501.00003"]]


async def test_a_change_during_a_sweep_is_not_overwritten(db_url):
    """The sweep computed a time from settings read before a change: it must not store it."""
    h = await channel(db_url)
    await h.tick(utc(2025, 2, 3, 7, 30))
    repo = h.app.deliveries
    [row], _ = await repo.due_destinations(
        utc(2025, 2, 3, 9, 0), utc(2025, 2, 3, 9, 0), alerts=False
    )
    from bot.delivery.planning import Rules, next_looks

    status = await h.app.state.ingest_status()
    rules = Rules.of(h.app.settings, status, utc(2025, 2, 3, 7, 40), alerts=True)
    looks = next_looks([row], rules, set(), [], {})
    await h.bot.say("digest time 07:50 UTC")  # meanwhile, the user moves it earlier
    assert await repo.reschedule(looks) == 0
    assert await due(h) == [(LOOK_NOW, None)]
    await h.tick(utc(2025, 2, 3, 7, 45))
    assert await due(h) == [(utc(2025, 2, 3, 7, 50), None)]


async def test_due_destinations_are_read_in_pages_without_losing_any(db_url, monkeypatch):
    import bot.storage.due_reads as repo_module
    from bot.messages import Place

    monkeypatch.setattr(repo_module, "_ID_PAGE", 2)  # pages of two ids: the keyset path
    monkeypatch.setattr(repo_module, "_PAGE", 2)
    h = await channel(db_url)
    for i in range(2, 7):
        place = Place(platform="test", id=f"C{i}", name=f"c{i}", workspace_id="W1")
        await h.bot.say("subscribe diffusion", place=place)
    assert await sweep(h, utc(2025, 2, 3, 7, 30)) == 6
    assert await due(h) == [(utc(2025, 2, 3, 9, 0), None)] * 6
    h.source.feature(DAY, paper(1, "Diffusion A"))
    await h.tick(utc(2025, 2, 3, 9, 0))
    assert len(h.adapter.sent) == 6
