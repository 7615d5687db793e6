"""Drain the outbox through the adapters: retries with backoff, rate limits, disabling.

An item is claimed (with a lease) before it is sent and marked sent afterwards. A crash
in between leaves it claimed until the lease ends; then it is sent again under the same
idempotency key, which Discord de-duplicates (message nonce) and other platforms cannot, so
there at most one duplicate per crash. A claim is renewed before each send when less than
half its lease is left, so a batch slowed by rate limits is never sent by two processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from bot.app import App
from bot.delivery.claims import process_id
from bot.delivery.digest import payload_paper_ids, payload_reply
from bot.delivery.outbox import Claimed, OutboxRepo, SentItem
from bot.delivery.pacing import Pacer
from bot.papers import Paper
from bot.port import Adapter, DeliveryError
from bot.storage.destinations_repo import to_port

log = logging.getLogger(__name__)

BACKOFF_FIRST = 30.0  # seconds before the first retry of a transient failure
BACKOFF_MAX = 3600.0
# A platform's transient answers (5xx, timeouts, 429 beyond the inline wait) are retried
# until it recovers, an hour apart at most: an outage delays a digest, it does not lose it.
# An adapter's own exception (a bug, not an answer) is given up after about a day (7 tries
# in the first hour, then hourly), counted in attempts so time spent disabled does not
# count; status shows it and any digest or alerts command there tries again.
MAX_ATTEMPTS = 30


@dataclass
class SendReport:
    sent: int = 0
    rate_limited: int = 0  # rate-limit answers waited out in place
    retried: int = 0  # transient failures put back with a backoff
    disabled: int = 0  # permanent failures: the destination was disabled
    failed: int = 0  # adapter errors given up after MAX_ATTEMPTS (status shows them)


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """Seconds to wait before attempt `attempts + 1`: exponential, jittered, capped."""
    delay = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** max(0, attempts)) * random.uniform(0.8, 1.2)
    return max(delay, retry_after or 0.0)


class Sender:
    """Sends pending outbox items of the platforms this process has adapters for."""

    def __init__(
        self,
        app: App,
        adapters: Mapping[str, Adapter],
        *,
        owner: str | None = None,
        concurrency: int = 8,
        claim_size: int = 8,
        lease: timedelta = timedelta(minutes=3),
        max_inline_wait: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.app = app
        self.adapters = dict(adapters)
        self.owner = owner or process_id()
        self.repo = OutboxRepo(app.sessions)
        self.concurrency = concurrency
        self.claim_size = claim_size
        self.lease = lease
        self.max_inline_wait = max_inline_wait
        self._monotonic = monotonic
        self._pacers: dict[str, Pacer] = {}
        self._wake = asyncio.Event()
        self._serial: dict[str, asyncio.Lock] = {}  # platforms that cannot de-duplicate

    def wake(self) -> None:
        """Look at the outbox now rather than at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, poll: float = 2.0) -> None:
        """Drain the outbox until `stop` is set, polling every `poll` seconds."""
        while not stop.is_set():
            try:
                await self.drain()
            except Exception:
                log.exception("outbox drain failed; retrying in %ss", poll)
            self._wake.clear()
            waiter = asyncio.ensure_future(self._wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiter, stopper}, timeout=poll, return_when="FIRST_COMPLETED")
            for t in (waiter, stopper):
                t.cancel()

    async def drain(self) -> SendReport:
        """Send every item that is due now, then return what happened."""
        report = SendReport()
        if self.adapters:
            await asyncio.gather(*(self._worker(report) for _ in range(self.concurrency)))
        return report

    def dedupes(self, platform: str) -> bool:
        """Whether the platform drops a repeated send with the same key (Discord's nonce).

        An adapter may say so with a `dedupes_sends` attribute; Discord does by the port's
        contract.
        """
        return bool(getattr(self.adapters[platform], "dedupes_sends", platform == "discord"))

    async def _worker(self, report: SendReport) -> None:
        while True:
            batch = await self.repo.claim(
                self.owner, list(self.adapters), self.app.clock(), self.lease, self.claim_size
            )
            if not batch:
                return
            todo = {c.item.id for c in batch}
            try:
                papers = await self._papers(batch)
                for claimed in batch:
                    platform = claimed.item.platform
                    # Every message is marked as soon as the platform took it, so a crash can
                    # only resend what was in flight: harmless where the platform drops a
                    # repeated key (Discord's nonce only lasts minutes, so marks must not
                    # wait); elsewhere sends go one at a time, so at most one repeats.
                    serial = contextlib.nullcontext() if self.dedupes(platform) else None
                    async with serial or self._serial.setdefault(platform, asyncio.Lock()):
                        done = await self._deliver(claimed, papers, report)
                        if done:
                            await self.repo.mark_sent([done], self.app.clock())
                    todo.discard(claimed.item.id)
            except asyncio.CancelledError:
                # Stopped mid-batch: hand the rest back at once rather than after the lease.
                # (A crash cannot; then the lease runs out.)
                with contextlib.suppress(Exception):
                    await asyncio.shield(self.repo.release(todo))
                raise

    async def _papers(self, batch: list[Claimed]) -> dict[str, Paper]:
        """The papers a batch names, loaded together (current upvotes)."""
        ids = sorted({pid for c in batch for pid in payload_paper_ids(c.item.payload)})
        return {p.id: p for p in await self.app.papers.get_many(ids)} if ids else {}

    async def _deliver(
        self, c: Claimed, papers: dict[str, Paper], report: SendReport
    ) -> SentItem | None:
        """Send one item; return what to mark sent, or None if it failed (and was handled)."""
        item, platform = c.item, c.item.platform
        adapter = self.adapters[platform]
        reply = payload_reply(item.payload, papers)
        destination = to_port(c.destination)
        deadline = self._monotonic() + self.max_inline_wait
        while True:
            pacer = self._pacers.setdefault(platform, Pacer(self._monotonic))
            await pacer.wait()
            if not await self._still_ours(c):
                log.info("outbox item %s was taken over after its lease ran out", item.id)
                return None
            try:
                result = await adapter.send(destination, reply, key=item.key)
            except DeliveryError as exc:
                if exc.permanent:
                    await self._disable(c, exc.reason)
                    report.disabled += 1
                    return None
                wait = exc.retry_after
                if wait is not None and self._monotonic() + wait <= deadline:
                    # A rate limit: pause the whole platform for that long, then try again.
                    pacer.limited(wait)
                    report.rate_limited += 1
                    continue
                await self._reschedule(c, exc.reason, wait, report, may_give_up=False)
                return None
            except Exception as exc:  # an adapter bug must not stop the other deliveries
                log.exception("adapter %s failed on outbox item %s", platform, item.id)
                reason = f"{type(exc).__name__}: {exc}"
                await self._reschedule(c, reason, None, report, may_give_up=True)
                return None
            pacer.succeeded()
            report.sent += 1
            # Remember a DM channel the adapter opened, so it need not open it again.
            address = result.address if result.address != c.destination.address else None
            return SentItem(item.id, c.destination.id, result.message_ids, address)

    async def _still_ours(self, c: Claimed) -> bool:
        """Renew the claim if less than half the lease is left, so no other process takes
        an item this one is about to send (a batch can outlive its lease on a slow platform).
        """
        now = self.app.clock()
        until = c.item.claimed_until
        if until is not None and until - now > self.lease / 2:
            return True
        if not await self.repo.renew(c.item.id, self.owner, now, self.lease):
            return False
        c.item.claimed_until = now + self.lease
        return True

    async def _reschedule(
        self,
        c: Claimed,
        reason: str,
        retry_after: float | None,
        report: SendReport,
        *,
        may_give_up: bool,
    ) -> None:
        now = self.app.clock()
        give_up = may_give_up and c.item.attempts + 1 >= MAX_ATTEMPTS
        delay = timedelta(seconds=backoff(c.item.attempts, retry_after))
        await self.repo.mark_retry(c.item.id, reason, now + delay, give_up=give_up)
        if give_up:
            report.failed += 1
            log.error(
                "giving up outbox item %s for destination %s after %s attempts: %s",
                c.item.id,
                c.destination.id,
                c.item.attempts + 1,
                reason,
            )
        else:
            report.retried += 1
            log.warning(
                "outbox item %s for destination %s failed (%s); retry in %.0fs",
                c.item.id,
                c.destination.id,
                reason,
                delay.total_seconds(),
            )

    async def _disable(self, c: Claimed, reason: str) -> None:
        await self.repo.disable(c.item.id, c.destination.id, reason, self.app.clock())
        log.warning(
            "destination %s (%s %s %s) disabled: %s",
            c.destination.id,
            c.destination.platform,
            c.destination.kind,
            c.destination.external_id,
            reason,
        )
