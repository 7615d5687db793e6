"""home_summary: what a person's home screen shows, read from storage (both backends)."""

from __future__ import annotations

from datetime import date

from bot.messages import Place, User
from bot.services.home import RECENT_DELIVERIES, home_summary
from tests.delivery_helpers import FakeSource, Harness, RecordingAdapter, make_app, paper, utc
from tests.helpers import DM, MEMBER, FakeClock

DAY = date(2025, 2, 3)


async def test_a_new_person_sees_the_defaults(db_url: str) -> None:
    source = FakeSource()
    app = make_app(db_url, FakeClock(utc(2025, 2, 3, 7, 0)), source)
    try:
        summary = await home_summary(app, User("test", "U9"), Place("test", ""))
    finally:
        await app.close()
    assert summary.subscriptions == () and summary.delivered == ()
    assert not summary.instant and summary.schedule == "09:00 UTC, every day"
    assert summary.muted_until is None


async def test_subscriptions_alerts_mute_and_the_last_deliveries(db_url: str) -> None:
    source = FakeSource()
    h = Harness(
        make_app(db_url, FakeClock(utc(2025, 2, 3, 7, 0)), source), source, RecordingAdapter()
    )
    try:
        await h.bot.say("subscribe diffusion", user=MEMBER, place=DM)
        await h.bot.say("subscribe graph", user=MEMBER, place=DM)
        await h.bot.say("alerts instant", user=MEMBER, place=DM)
        h.source.feature(DAY, *(paper(i, f"Diffusion {i}", upvotes=i) for i in range(1, 8)))
        await h.tick(utc(2025, 2, 3, 8, 0))
        assert len(h.adapter.sent) == 1
        await h.bot.say("mute 3d", user=MEMBER, place=DM)
        # Another person's state never shows.
        await h.bot.say("subscribe other", user=User("test", "U3"), place=DM)
        summary = await home_summary(h.app, MEMBER, Place("test", "elsewhere"))
    finally:
        await h.app.close()
    assert [(s.query, s.recent) for s in summary.subscriptions] == [("diffusion", 7), ("graph", 0)]
    assert summary.instant
    assert summary.muted_until == "Thu 2025-02-06 08:00 UTC"
    assert len(summary.delivered) == RECENT_DELIVERIES
    assert {p.title for p, _ in summary.delivered} <= {f"Diffusion {i}" for i in range(1, 8)}
    assert all(at == utc(2025, 2, 3, 8, 0) for _, at in summary.delivered)
