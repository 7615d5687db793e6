"""Claims taken ahead of the workers: kills, expired leases, stops, and 429 storms.

The sender claims items in batches into an in-process queue. A queued item is claimed but
not started; these tests try to make that claim post twice or lose an item.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass, field, replace

import pytest
from sqlalchemy import select

from bot.delivery.sender import LEASE, Sender
from bot.port import Capabilities, DeliveryError, Destination, Part, Posted
from bot.storage.kinds import OutboxStatus
from bot.storage.models import OutboxRow
from tests.delivery_helpers import Harness, RecordingAdapter, make_app, paper, utc
from tests.helpers import CHANNEL
from tests.test_delivery import DAY, Crash, setup
from tests.test_pacing import Clock


async def channels(h: Harness, n: int) -> list[str]:
    """`n` channels subscribed to diffusion, each with its digest in the outbox."""
    ids = [CHANNEL.id] + [f"C{k}" for k in range(2, n + 1)]
    for cid in ids[1:]:
        place = replace(CHANNEL, id=cid, name=cid)
        await h.bot.say("subscribe diffusion", place=place)
        await h.bot.say("digest time 09:00 UTC", place=place)
    h.source.feature(DAY, paper(1, "Diffusion A"))
    h.clock.set(utc(2025, 2, 3, 9, 0))
    await h.scheduler.ingest_once()
    assert (await h.scheduler.sweeper.sweep()).queued == n
    return ids


async def claimed_by(h: Harness, owner: str) -> set[int]:
    async with h.app.sessions() as s:
        rows = await s.scalars(
            select(OutboxRow.id).where(
                OutboxRow.claimed_by == owner, OutboxRow.status == OutboxStatus.PENDING
            )
        )
        return set(rows.all())


def per_channel(adapter: RecordingAdapter) -> Counter[str]:
    return Counter(s.destination.id for s in adapter.sent)


@pytest.mark.parametrize("nonce", [True, False], ids=["nonce", "no-nonce"])
async def test_a_kill_with_claims_queued_doubles_nothing_and_loses_nothing(db_url, nonce):
    h = await setup(db_url, "diffusion")
    h.adapter.honour_nonce = nonce
    ids = await channels(h, 12)

    def die_on_third() -> None:
        if len(h.adapter.sent) == 3:
            h.adapter.after_post = None
            raise Crash

    h.adapter.after_post = die_on_third
    dead = Sender(h.app, {"test": h.adapter}, concurrency=1, prefetch=4)
    with contextlib.suppress(Crash):
        await dead.drain()
    held = await claimed_by(h, dead.owner)
    assert len(held) >= 3  # the item in flight and items claimed ahead, never started
    # Another process, before the dead one's leases ran out, leaves all of those alone.
    other = Harness(make_app(db_url, h.clock, h.source), h.source, h.adapter)
    first = await other.scheduler.sender.drain()
    assert first.sent == 12 - 3 - (len(held) - 1)
    assert await claimed_by(h, dead.owner) == held
    h.clock.advance(seconds=LEASE.total_seconds() + 1)
    assert (await other.scheduler.sender.drain()).sent == len(held)
    await other.app.close()
    counts = per_channel(h.adapter)
    assert set(counts) == set(ids)  # nothing lost
    if nonce:
        assert set(counts.values()) == {1}
    else:  # the one message in flight at the kill comes again, and only that one
        assert sorted(counts.values()) == [1] * 11 + [2]


@dataclass
class StalledFirstPost(RecordingAdapter):
    """The first post hangs until `gate` opens, then fails (it timed out, say)."""

    entered: asyncio.Event = field(default_factory=asyncio.Event)
    gate: asyncio.Event = field(default_factory=asyncio.Event)

    async def post(self, destination: Destination, part: Part, *, key: str) -> Posted:
        if not self.entered.is_set():
            self.entered.set()
            await self.gate.wait()
            raise DeliveryError("Discord answered 503")
        return await super().post(destination, part, key=key)


async def test_a_queued_item_whose_lease_ran_out_is_not_posted_again(db_url):
    """Its lease ran out while it waited (no heartbeat got through); another process sent
    it; the worker that finally reaches it must find the claim gone and skip it."""
    h = await setup(db_url, "diffusion")
    adapter = StalledFirstPost(honour_nonce=False)  # no nonce: a repeat would show
    ids = await channels(h, 8)
    slow = Sender(h.app, {"test": adapter}, concurrency=1, prefetch=4, heartbeat_every=3600)
    task = asyncio.create_task(slow.drain())
    await asyncio.wait_for(adapter.entered.wait(), 10)
    queued = await claimed_by(h, slow.owner)
    assert len(queued) == 5  # one in flight, four waiting in the queue
    h.clock.advance(seconds=LEASE.total_seconds() + 1)
    other = Harness(make_app(db_url, h.clock, h.source), h.source, adapter)
    assert (await other.scheduler.sender.drain()).sent == 8
    adapter.gate.set()
    report = await asyncio.wait_for(task, 10)
    await other.app.close()
    assert report.sent == 0 and report.parts == 0
    assert per_channel(adapter) == Counter({cid: 1 for cid in ids})


async def test_a_stop_hands_back_the_queued_claims_at_once(db_url):
    h = await setup(db_url, "diffusion")
    adapter = StalledFirstPost(honour_nonce=False)
    ids = await channels(h, 6)
    sender = Sender(h.app, {"test": adapter}, concurrency=1, prefetch=3)
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    await asyncio.wait_for(adapter.entered.wait(), 10)
    assert len(await claimed_by(h, sender.owner)) == 4
    stop.set()
    await asyncio.wait_for(task, 10)
    assert await claimed_by(h, sender.owner) == set()
    # No lease to wait for: the next process sends every item now, each once.
    other = Harness(make_app(db_url, h.clock, h.source), h.source, adapter)
    assert (await other.scheduler.sender.drain()).sent == 6
    await other.app.close()
    assert per_channel(adapter) == Counter({cid: 1 for cid in ids})


@dataclass
class Limited(RecordingAdapter):
    """A platform with a documented rate whose first `storm` posts get a 429 each."""

    rate: float = 50.0
    storm: int = 0
    retry_after: float = 2.0
    clock: Clock = field(default_factory=Clock)
    started: list[float] = field(default_factory=list)

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(dedupes_sends=True, rate=self.rate)

    async def post(self, destination: Destination, part: Part, *, key: str) -> Posted:
        self.started.append(self.clock.now)
        if self.storm > 0:
            self.storm -= 1
            raise DeliveryError("rate limited", retry_after=self.retry_after)
        return await super().post(destination, part, key=key)


async def test_after_a_429_storm_the_full_rate_is_back_at_once(db_url):
    h = await setup(db_url, "diffusion")
    adapter = Limited(storm=6, retry_after=2.0)
    ids = await channels(h, 40)
    clock = adapter.clock
    sender = Sender(h.app, {"test": adapter}, monotonic=clock, sleep=clock.sleep)
    report = await sender.drain()
    assert report.sent == 40 and report.rate_limited == 6
    assert per_channel(adapter) == Counter({cid: 1 for cid in ids})
    ok = adapter.started[6:]  # the posts that went through
    # Every 429 held every request for its retry_after: nothing started inside a hold.
    for refused in adapter.started[:6]:
        assert not any(refused < t < refused + 2.0 for t in ok)
    # And right after the last hold the rate is the documented one again, not a crawl.
    rate = (len(ok) - 1) / (ok[-1] - ok[0])
    assert rate >= 0.9 * adapter.rate
    assert ok[-1] - adapter.started[5] <= 2.0 + len(ok) / (0.9 * adapter.rate)
