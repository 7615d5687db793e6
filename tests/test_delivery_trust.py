"""Delivery under faults, through the real core and outbox: crashes mid-digest, slow and hung
posts, rejected messages, leases taken over. A recording platform counts what arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from bot.delivery.sender import LEASE, Sender
from bot.port import DeliveryError, Destination, Failure, Part, Posted
from bot.storage.models import OutboxRow
from tests.delivery_helpers import Harness, RecordingAdapter, make_app, paper, utc
from tests.helpers import CHANNEL
from tests.test_delivery import DAY, Crash, setup


async def five_papers(h: Harness) -> None:
    h.source.feature(DAY, *(paper(n, f"Diffusion {n}", upvotes=10 - n) for n in range(1, 6)))
    h.clock.set(utc(2025, 2, 3, 9, 0))
    await h.scheduler.ingest_once()
    assert (await h.scheduler.sweeper.sweep()).queued == 1


async def outbox(h: Harness) -> OutboxRow:
    async with h.app.sessions() as s:
        [row] = (await s.scalars(select(OutboxRow))).all()
        return row


def crash_after(h: Harness, posts: int) -> None:
    """The process dies right after the platform accepted its `posts`-th part."""

    def hook() -> None:
        if len(h.adapter.sent) == posts:
            raise Crash

    h.adapter.after_post = hook


async def test_a_crash_mid_digest_repeats_at_most_the_part_in_flight(db_url):
    """Slack has no nonce: after a kill, only the one part that was in flight comes again."""
    h = await setup(db_url, "diffusion")
    h.adapter.honour_nonce = False
    h.adapter.part_size = 1  # five papers: a digest of five parts
    await five_papers(h)
    h.scheduler.sender.concurrency = 1
    crash_after(h, 3)
    with contextlib.suppress(Crash):
        await h.scheduler.sender.drain()
    h.adapter.after_post = None
    assert (await outbox(h)).message_ids == ["m1", "m2"]  # the third was not recorded
    other = await h.restart()
    h.clock.advance(seconds=LEASE.total_seconds() + 1)  # PostgreSQL: the lease runs out
    assert (await other.scheduler.sender.drain()).sent == 1
    await other.app.close()
    ids = [s.paper_ids[0] for s in h.adapter.sent]
    assert len(ids) == 6 and Counter(ids).most_common(1)[0][1] == 2  # one repeat, no more
    assert set(ids) == {f"2501.{n:05d}" for n in range(1, 6)}


async def test_a_crash_repeats_nothing_where_the_platform_finds_posted_parts(db_url):
    """Slack: the part in flight at a kill is found by its key, not posted again, and parts
    go out in parallel (nothing is serialised any more)."""
    h = await setup(db_url, "diffusion")
    h.adapter.honour_nonce = False
    h.adapter.finds_posts = True
    h.adapter.part_size = 1
    await five_papers(h)
    crash_after(h, 3)
    with contextlib.suppress(Crash):
        await h.scheduler.sender.drain()
    h.adapter.after_post = None
    assert (await outbox(h)).message_ids == ["m1", "m2"]  # the third was not recorded
    other = await h.restart()
    h.clock.advance(seconds=LEASE.total_seconds() + 1)
    assert (await other.scheduler.sender.drain()).sent == 1
    await other.app.close()
    ids = [s.paper_ids[0] for s in h.adapter.sent]
    assert sorted(ids) == [f"2501.{n:05d}" for n in range(1, 6)]  # each once
    assert h.adapter.looked == [f"{(await outbox(h)).key}:2"]  # one look, at the resumed part
    assert (await outbox(h)).message_ids == ["m1", "m2", "m3", "m4", "m5"]
    assert not h.scheduler.sender._serial  # no one-at-a-time lock was taken


async def test_a_dead_process_s_claim_is_taken_over_within_a_minute(db_url):
    """Discord keeps a nonce for minutes: a takeover within one lease stays inside it."""
    h = await setup(db_url, "diffusion")
    h.adapter.part_size = 2
    await five_papers(h)
    h.scheduler.sender.concurrency = 1
    crash_after(h, 1)
    with contextlib.suppress(Crash):
        await h.scheduler.sender.drain()
    h.adapter.after_post = None
    # Another process on the same database, 31 s later (SQLite is single-process; there the
    # restart frees the claims at once, PostgreSQL waits for the lease).
    other = Harness(make_app(db_url, h.clock, h.source), h.source, h.adapter)
    h.clock.advance(seconds=31)
    assert (await other.scheduler.sender.drain()).sent == 1
    await other.app.close()
    # The part in flight came again under its key, which the platform dropped.
    assert h.adapter.paper_counts() == Counter({("C1", f"2501.{n:05d}"): 1 for n in range(1, 6)})
    assert len((await outbox(h)).message_ids) == 3


async def test_the_heartbeat_keeps_a_slow_post_s_claim(db_url):
    h = await setup(db_url, "diffusion")
    await five_papers(h)
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow() -> None:
        entered.set()
        await release.wait()

    h.adapter.after_post = slow
    sender = Sender(h.app, {"test": h.adapter}, concurrency=1, heartbeat_every=0.01)
    first = asyncio.create_task(sender.drain())
    await asyncio.wait_for(entered.wait(), 10)
    start = h.clock()
    h.clock.advance(seconds=25)
    # Wait for a beat after the clock moved: it renews the claim from there.
    beat = asyncio.Event()
    renew = sender.repo.heartbeat

    async def heartbeat(*args: object) -> int:
        held = await renew(*args)  # type: ignore[arg-type]
        beat.set()
        return held

    sender.repo.heartbeat = heartbeat  # type: ignore[method-assign]
    await asyncio.wait_for(beat.wait(), 10)
    assert (await outbox(h)).claimed_until > start + LEASE
    h.clock.advance(seconds=25)  # 50 s after the claim: only the heartbeat keeps it
    other = Harness(make_app(db_url, h.clock, h.source), h.source, h.adapter)
    h.adapter.after_post = None
    assert (await other.scheduler.sender.drain()).sent == 0
    release.set()
    assert (await first).sent == 1
    await other.app.close()
    assert len(h.adapter.sent) == 1


class HangingAdapter(RecordingAdapter):
    """One destination's posts never answer; the others answer at once."""

    def __init__(self, hung: str) -> None:
        super().__init__()
        self.hung = hung
        self.sent_when_cancelled: int | None = None

    async def post(self, destination: Destination, part: Part, *, key: str) -> Posted:
        if destination.id == self.hung:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.sent_when_cancelled = len(self.sent)
                raise
        return await super().post(destination, part, key=key)


async def test_one_hung_request_delays_no_other_destination(db_url):
    h = await setup(db_url, "diffusion")
    channels = [f"C{n}" for n in range(2, 13)]
    for cid in channels:
        place = replace(CHANNEL, id=cid, name=cid)
        await h.bot.say("subscribe diffusion", place=place)
        await h.bot.say("digest time 09:00 UTC", place=place)
    h.source.feature(DAY, paper(1, "Diffusion A"))
    h.clock.set(utc(2025, 2, 3, 9, 0))
    await h.scheduler.ingest_once()
    assert (await h.scheduler.sweeper.sweep()).queued == 12
    adapter = HangingAdapter(hung="C1")
    # The timeout only has to outlast eleven quick posts; 0.5 s did not on a machine
    # loaded ninefold (PostgreSQL), and a longer one costs this test nothing else.
    sender = Sender(h.app, {"test": adapter}, request_timeout=3)
    report = await asyncio.wait_for(sender.drain(), 30)
    # Every other channel was posted to before the hung request's timeout ended it.
    assert adapter.sent_when_cancelled == 11
    assert sorted(s.destination.id for s in adapter.sent) == sorted(channels)
    assert report.sent == 11 and report.retried == 1
    assert "did not answer within" in await h.bot.text("status")


async def test_a_rejected_message_is_given_up_and_the_destination_stays_on(db_url):
    h = await setup(db_url, "diffusion")
    await five_papers(h)
    h.adapter.fail = lambda d: DeliveryError("Discord rejected the message (400)", Failure.REJECTED)
    for _ in range(3):
        await h.scheduler.sender.drain()
        h.clock.advance(hours=2)
    assert h.adapter.attempts == 3
    await h.scheduler.sender.drain()
    assert h.adapter.attempts == 3  # given up: not retried hourly for ever
    status = " ".join((await h.bot.text("status")).split())
    assert "gave up retrying" in status and "rejected the message" in status
    assert "Disabled" not in status and "next try" not in status
    # The channel still gets its next digest.
    h.adapter.fail = None
    h.source.feature(DAY + timedelta(days=1), paper(9, "Diffusion next"))
    await h.tick(utc(2025, 2, 4, 9, 0))
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00009"]]


async def test_a_revoked_token_stops_the_platform_without_disabling_anyone(db_url):
    h = await setup(db_url, "diffusion")
    await five_papers(h)
    now = [0.0]
    sender = Sender(h.app, {"test": h.adapter}, monotonic=lambda: now[0])
    h.adapter.fail = lambda d: DeliveryError("token revoked", Failure.BOT_UNAUTHORIZED)
    assert (await sender.drain()).halted == 1
    assert (await sender.drain()).halted == 0 and h.adapter.attempts == 1  # not tried again
    status = await h.bot.text("status")
    assert "Sending stopped" in status and "token revoked" in status and "Disabled" not in status
    h.adapter.fail = None
    now[0] += 601  # the next try, ten minutes on, works: the token was fixed
    assert (await sender.drain()).sent == 1
    assert "Sending stopped" not in await h.bot.text("status")
