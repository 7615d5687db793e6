"""Claimed outbox items waiting for a sender worker, claimed ahead in batches.

Claiming one item per post cost a database round trip per message, which kept delivery far
below the platforms' rates. The sender's feeder claims a batch whenever the queue runs low,
and its workers take items from here. A queued item is claimed like one being sent: the
sender's heartbeat renews its lease, a worker checks the claim is still this process's
before each post (see `Sender._still_ours`), and a killed process's queued items are taken
over when their lease runs out, like any other claim.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping

from bot.app import App
from bot.delivery.digest import payload_paper_ids, payload_reply
from bot.messages import Reply
from bot.port import Adapter, Destination, Part
from bot.storage.destinations_repo import to_port
from bot.storage.outbox_repo import Claimed

log = logging.getLogger(__name__)
Claim = Callable[[int], Awaitable[list[Claimed]]]  # up to n due items, claimed for us


class Prefetch:
    """Items this process holds: at most `capacity`, queued or being sent."""

    def __init__(self, capacity: int, low: int) -> None:
        self.capacity = max(1, capacity)
        self._low = max(0, min(low, self.capacity - 1))  # refill at this many queued
        self._queue: deque[Claimed] = deque()
        self._held = 0  # queued + taken by a worker and not done yet
        self._closed = False  # nothing more will be claimed: workers stop when it is empty
        self._changed = asyncio.Condition()

    async def fill(self, claim: Claim) -> int:
        """Wait until the queue runs low, then claim what fits; the number claimed."""
        async with self._changed:
            await self._changed.wait_for(self._wants_more)
            if self._closed:
                return 0
            room = self.capacity - self._held
            # Counted as held before the claim returns, so a concurrent `done` cannot make
            # the feeder claim twice the room.
            self._held += room
        got: list[Claimed] = []
        try:
            got = await claim(room)
        finally:
            async with self._changed:
                self._held -= room - len(got)
                self._queue.extend(got)
                self._changed.notify_all()
        return len(got)

    def _wants_more(self) -> bool:
        return self._closed or (len(self._queue) <= self._low and self._held < self.capacity)

    async def get(self) -> Claimed | None:
        """The next item to send; None once closed and empty."""
        async with self._changed:
            await self._changed.wait_for(lambda: bool(self._queue) or self._closed)
            return self._queue.popleft() if self._queue else None

    async def done(self) -> None:
        """A worker finished (or gave back) the item it took."""
        async with self._changed:
            self._held -= 1
            self._changed.notify_all()

    async def close(self) -> None:
        """Claim nothing more; workers stop once the queue is empty."""
        async with self._changed:
            self._closed = True
            self._changed.notify_all()

    def take_queued(self) -> list[Claimed]:
        """Remove and return the items no worker has started (to release them at a stop)."""
        items = list(self._queue)
        self._queue.clear()
        self._held -= len(items)
        return items

    @property
    def queued(self) -> int:
        return len(self._queue)


async def compose_for(adapter: Adapter, reply: Reply, destination: Destination) -> list[Part]:
    """The parts of `reply` for `destination`: the adapter's `compose_at` where it has one
    (its parts depend on the place), else its `compose`."""
    compose_at = getattr(adapter, "compose_at", None)
    if compose_at is not None:
        return list(await compose_at(reply, destination))
    return adapter.compose(reply)


async def frozen(
    batch: list[Claimed], app: App, adapters: Mapping[str, Adapter], owner: str
) -> list[Claimed]:
    """Render and store the parts of a batch's first tries at once: one look-up of the
    papers and one transaction for all, instead of two round trips per item."""
    new = [c for c in batch if c.item.parts is None]
    if not new:
        return batch
    ids = sorted({i for c in new for i in payload_paper_ids(c.item.payload)})
    papers = {p.id: p for p in await app.papers.get_many(ids)}
    parts: dict[int, list[Part]] = {}
    for c in new:
        try:
            reply = payload_reply(c.item.payload, papers)
            adapter = adapters[c.item.platform]
            parts[c.item.id] = await compose_for(adapter, reply, to_port(c.destination))
        except Exception:
            # Left for the worker, which renders it again and handles the failure.
            log.exception("rendering outbox item %s failed", c.item.id)
    stored = await app.outbox.freeze_many(owner, parts)
    kept = []
    for c in batch:
        if c.item.id in stored:
            c.item.parts = [dict(p) for p in parts[c.item.id]]
        elif c.item.id in parts:
            log.info("outbox item %s was taken over before its first post", c.item.id)
            continue
        kept.append(c)
    return kept
