"""Drain the outbox through the adapters: frozen parts, short leases, typed failures.

A feeder claims due items in batches, with a short lease that a heartbeat renews, into an
in-process queue (`prefetch`) that the workers send from; a dead process's items, queued or
in flight, are taken over within one lease (30 s by default), well inside the minutes a
Discord nonce is kept. Before its first post an item's reply is rendered into parts,
which are stored; every part is recorded the moment the platform accepts it, and a retry
posts the stored parts from the first unrecorded one. A crash can therefore only repeat the
part in flight: Discord drops that repeat (the part's nonce); on Slack a resumed item first
looks for that part by its key (`find_posted`) and records it instead of posting it again;
a platform that can do neither gets one part at a time, so there it repeats at most one.

Every post has a timeout, and workers pick up items independently, so one hung request
delays only its own destination, by at most one timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import TypeVar

from bot.app import App
from bot.delivery.claims import process_id
from bot.delivery.digest import payload_paper_ids, payload_reply
from bot.delivery.halts import PlatformHalts
from bot.delivery.outcomes import MAX_ATTEMPTS, Outcomes, SendReport, context
from bot.delivery.pacing import Pacer
from bot.delivery.prefetch import Prefetch, compose_for, frozen
from bot.ops.metrics import PostedItem
from bot.port import Adapter, DeliveryError, Destination, Failure, Part, Posted
from bot.storage.destinations_repo import to_port
from bot.storage.outbox_repo import Claimed, PostedParts

log = logging.getLogger(__name__)

T = TypeVar("T")

LEASE = timedelta(seconds=30)  # the default of DELIVERY_LEASE_SECONDS
# Posts in flight at once: enough that slow answers and a library's inline retries (discord.py
# sleeps 1-9 s on a 502) do not idle a platform's rate, few enough for the database pool.
CONCURRENCY = 16
REQUEST_TIMEOUT = 10.0  # seconds one post may take; less than half the default lease
# Where a platform's rate holds per workspace, an item whose workspace would make its worker
# wait longer than this (a rate-limit hold, a backlog of that workspace's own posts) is put
# back until its turn instead: a worker waiting on one workspace would not serve the others.
DEFER_AFTER = 2.0


def part_key(item_key: str, index: int) -> str:
    """The idempotency key of one part of an outbox item."""
    return f"{item_key}:{index}"


class Sender:
    """Sends pending outbox items of the platforms this process has adapters for."""

    def __init__(
        self,
        app: App,
        adapters: Mapping[str, Adapter],
        *,
        owner: str | None = None,
        concurrency: int = CONCURRENCY,
        prefetch: int | None = None,
        lease: timedelta | None = None,
        request_timeout: float | None = None,
        heartbeat_every: float | None = None,
        max_inline_wait: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ):
        self.app = app
        self.adapters = dict(adapters)
        self.owner = owner or process_id()
        self.repo = app.outbox
        self.halts = PlatformHalts(app.state, monotonic)
        self.metrics = app.metrics
        self.outcomes = Outcomes(self.repo, self.halts, app.clock, self.metrics)
        self.concurrency = concurrency
        # Items claimed ahead of the workers (None: twice `concurrency`): enough that the
        # workers never wait for the next batch's claim and render.
        self.prefetch = prefetch
        self.lease = lease or timedelta(seconds=app.settings.delivery_lease_seconds)
        # A post must end before less than half the lease is left (see _still_ours).
        self.request_timeout = request_timeout or min(
            REQUEST_TIMEOUT, self.lease.total_seconds() / 3
        )
        self.heartbeat_every = heartbeat_every or self.lease.total_seconds() / 3
        self.max_inline_wait = max_inline_wait
        self._monotonic = monotonic
        self._sleep = sleep  # the pacer's, so a test's fake clock can move through waits
        self._pacers: dict[tuple[str, str | None], Pacer] = {}
        self._defers = False  # whether items may be put back for their turn (run, not drain)
        self._wake = asyncio.Event()
        self._posting: set[asyncio.Task[object]] = set()  # workers waiting on a platform
        self._serial: dict[str, asyncio.Lock] = {}  # platforms that cannot de-duplicate

    def wake(self) -> None:
        """Look at the outbox now rather than at the next poll."""
        # Every idle worker waits on the event it saw before it found nothing to do; a new
        # event for the next round means no wake-up is lost between claim and wait.
        self._wake.set()
        self._wake = asyncio.Event()

    async def run(self, stop: asyncio.Event, poll: float = 2.0) -> None:
        """Send items as they become due until `stop` is set, polling every `poll` seconds."""
        if not self.adapters:
            await stop.wait()
            return
        report = SendReport()
        self._defers = True
        async with self._heartbeat():
            await self._pump(report, stop, poll)

    async def drain(self) -> SendReport:
        """Send every item that is due now, then return what happened."""
        report = SendReport()
        if self.adapters:
            async with self._heartbeat():
                await self._pump(report, None, 0)
        return report

    async def _pump(self, report: SendReport, stop: asyncio.Event | None, poll: float) -> None:
        """A feeder claims batches into the prefetch queue; the workers send from it."""
        ahead = self.prefetch if self.prefetch is not None else 2 * self.concurrency
        queue = Prefetch(self.concurrency + ahead, low=max(1, ahead // 2))
        feeder = asyncio.create_task(self._feed(queue, stop, poll))
        workers = [
            asyncio.create_task(self._worker(queue, report, stop is not None))
            for _ in range(self.concurrency)
        ]
        tasks = [feeder, *workers]
        try:
            if stop is None:
                await asyncio.gather(*tasks)
            else:
                await stop.wait()
                await self._wind_down(queue, feeder, workers)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                await self._release_queued(queue)
            # Otherwise the process is as good as dead: its queued claims run out with
            # their lease, as after a kill.
            raise
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await self._release_queued(queue)

    async def _wind_down(
        self, queue: Prefetch, feeder: asyncio.Task[None], workers: list[asyncio.Task[None]]
    ) -> None:
        """Stop claiming, hand back what no worker started, let each finish its item.

        Nothing is cancelled mid-statement or mid-post while it can still end by itself:
        cancelling a claim on SQLite made aiosqlite close its connection while the other
        connections waited out the 30 s busy timeout for its lock (a stop took 40 s).
        """
        await queue.close()
        await asyncio.wait([feeder], timeout=self.request_timeout)
        await self._release_queued(queue)
        # A post may be cut short (its item is handed back; a repeat of the part is what a
        # crash costs too), so a slow platform does not hold up the stop; a worker busy
        # with the database finishes that first.
        for worker in workers:
            if worker in self._posting:
                worker.cancel()
        await asyncio.wait(workers, timeout=self.request_timeout)

    async def _release_queued(self, queue: Prefetch) -> None:
        """Hand back at once the items claimed ahead that no worker started."""
        items = queue.take_queued()
        if items:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.repo.release([c.item.id for c in items]))

    async def _feed(self, queue: Prefetch, stop: asyncio.Event | None, poll: float) -> None:
        """Claim due items in batches while the queue runs low; with no `stop`, close the
        queue as soon as nothing more is due."""
        while stop is None or not stop.is_set():
            wake = self._wake
            try:
                if await queue.fill(self._claim):
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:
                if stop is None:
                    await queue.close()
                    raise
                log.exception("outbox claim failed; retrying in %ss", poll)
            if stop is None:
                break
            waiter = asyncio.ensure_future(wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiter, stopper}, timeout=poll, return_when="FIRST_COMPLETED")
            for t in (waiter, stopper):
                t.cancel()
        await queue.close()

    async def _claim(self, limit: int) -> list[Claimed]:
        platforms = [p for p in self.adapters if not self.halts.halted(p)]
        if not platforms:
            return []
        batch = await self.repo.claim(self.owner, platforms, self.app.clock(), self.lease, limit)
        return await frozen(batch, self.app, self.adapters, self.owner)

    async def _worker(self, queue: Prefetch, report: SendReport, keep_going: bool) -> None:
        """Send the queued items one by one until the queue is closed and empty."""
        while (c := await queue.get()) is not None:
            try:
                await self._send_item(c, report)
            except Exception:
                if not keep_going:
                    raise
                # Its claim runs out with the lease and another try takes it over.
                log.exception("outbox worker failed on item %s", c.item.id, extra=context(c))
            finally:
                await queue.done()

    @contextlib.asynccontextmanager
    async def _heartbeat(self) -> AsyncIterator[None]:
        async def beat() -> None:
            while True:
                await asyncio.sleep(self.heartbeat_every)
                try:
                    await self.repo.heartbeat(self.owner, self.app.clock(), self.lease)
                except Exception:
                    # The per-post lease check still keeps sends safe; only takeover of a
                    # slow item by another process gets more likely.
                    log.warning("outbox heartbeat failed", exc_info=True)

        task = asyncio.create_task(beat())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _send_item(self, c: Claimed, report: SendReport) -> None:
        if self.halts.halted(c.item.platform):  # halted by another worker since the claim
            await self.repo.release([c.item.id])
            return
        try:
            await self._deliver(c, report)
        except asyncio.CancelledError:
            # Stopped mid-item: hand it back at once rather than after the lease (a crash
            # cannot; then the lease runs out). Parts already posted stay recorded.
            with contextlib.suppress(Exception):
                await asyncio.shield(self.repo.release([c.item.id]))
            raise

    async def _parts(self, c: Claimed) -> list[Part] | None:
        """The item's parts: those stored at its first try, or rendered and stored now."""
        if c.item.parts is not None:
            return list(c.item.parts)
        ids = payload_paper_ids(c.item.payload)
        papers = {p.id: p for p in await self.app.papers.get_many(sorted(set(ids)))}
        reply = payload_reply(c.item.payload, papers)
        parts = await compose_for(self.adapters[c.item.platform], reply, to_port(c.destination))
        if not await self.repo.freeze(c.item.id, self.owner, parts):
            return None
        return parts

    async def _deliver(self, c: Claimed, report: SendReport) -> None:
        """Post an item's remaining parts, recording each; handle a failure by its kind."""
        item, platform = c.item, c.item.platform
        parts = await self._parts(c)
        if parts is None:
            log.info(
                "outbox item %s was taken over before its first post", item.id, extra=context(c)
            )
            return
        posted = list(item.message_ids or [])
        # A thread an earlier try opened: this try posts into the same one.
        destination = replace(to_port(c.destination), thread=item.thread)
        thread: str | None = None  # a thread opened in this try, to record with its part
        address: str | None = None  # a DM channel opened in this try, to remember
        deadline = self._monotonic() + self.max_inline_wait
        pacer = self._pacer(platform, destination.workspace)
        per_workspace = self.adapters[platform].capabilities.rate_per_workspace
        # The first part this try posts may have gone out in the try before; look first.
        maybe_posted = c.resumed
        look = maybe_posted and self.adapters[platform].capabilities.finds_posts
        while len(posted) < len(parts):
            if per_workspace and self._defers and (due := pacer.backlog()) > DEFER_AFTER:
                # Not this worker's to wait out: another workspace's item may be next.
                await self.repo.defer(c.item.id, self.app.clock() + timedelta(seconds=due))
                return
            try:
                async with self._turn(platform):
                    # The turn first: on a one-at-a-time platform, a slow post must not
                    # bunch the posts queued behind it into a burst over the rate.
                    await pacer.wait()
                    if not await self._still_ours(c):
                        log.info(
                            "outbox item %s was taken over after its lease ran out",
                            item.id,
                            extra=context(c),
                        )
                        return
                    key = part_key(item.key, len(posted))
                    here = replace(
                        destination,
                        previous=posted[-1] if posted else None,
                        maybe_posted=maybe_posted,
                    )
                    found = await self._find(here, key) if look else None
                    look = maybe_posted = False
                    result = found or await self._post(here, parts[len(posted)], key)
                    posted.append(result.message_id)
                    if result.address and result.address != destination.address:
                        destination = replace(destination, address=result.address)
                        address = result.address
                    if result.thread and result.thread != destination.thread:
                        destination = replace(destination, thread=result.thread)
                        thread = result.thread
                    done = len(posted) == len(parts)
                    await self.repo.record_posted(
                        PostedParts(item.id, c.destination.id, posted, done, address, thread),
                        self.app.clock(),
                    )
                    address = thread = None
            except DeliveryError as exc:
                wait = exc.retry_after
                if (
                    exc.failure is Failure.TRANSIENT
                    and wait is not None
                    and self._monotonic() + wait <= deadline
                ):
                    # A rate limit the library did not wait out: hold the whole platform
                    # for that long, then try again at the full rate.
                    pacer.limited(wait)
                    report.rate_limited += 1
                    self.metrics.limited(platform)
                    continue
                await self.outcomes.failed(c, exc, report)
                return
            except Exception as exc:  # an adapter bug must not stop the other deliveries
                log.exception(
                    "adapter %s failed on outbox item %s", platform, item.id, extra=context(c)
                )
                reason = f"{type(exc).__name__}: {exc}"
                await self.outcomes.reschedule(c, reason, None, report, limit=MAX_ATTEMPTS)
                return
            report.parts += 1
            self.metrics.part_posted(platform)
            await self.halts.clear(platform)
        if not parts:
            await self.repo.record_posted(
                PostedParts(item.id, c.destination.id, (), True), self.app.clock()
            )
        report.sent += 1
        self.metrics.posted(platform)  # once per message, however many parts it took
        d = c.destination
        self.metrics.item_done(
            PostedItem(item.run_id, platform, d.digest_time, d.timezone, self.app.clock())
        )

    def _pacer(self, platform: str, workspace: str | None) -> Pacer:
        """The platform's pacer, or the workspace's where the rate holds per workspace."""
        caps = self.adapters[platform].capabilities
        key = (platform, workspace if caps.rate_per_workspace else None)
        pacer = self._pacers.get(key)
        if pacer is None:
            pacer = self._pacers[key] = Pacer(caps.rate, self._monotonic, self._sleep)
        return pacer

    def _turn(self, platform: str) -> contextlib.AbstractAsyncContextManager[object]:
        """One post at a time on a platform that can neither drop a repeat nor find a part
        already posted, so a crash repeats at most one message; any number at once where
        it can."""
        caps = self.adapters[platform].capabilities
        if caps.dedupes_sends or caps.finds_posts:
            return contextlib.nullcontext()
        return self._serial.setdefault(platform, asyncio.Lock())

    async def _find(self, destination: Destination, key: str) -> Posted | None:
        """The part posted earlier under `key`, if the platform shows it."""
        adapter = self.adapters[destination.platform]
        found = await self._ask(destination, adapter.find_posted(destination, key))
        if found is not None:
            log.info("outbox part %s was posted before its record; not posting it again", key)
        return found

    async def _post(self, destination: Destination, part: Part, key: str) -> Posted:
        adapter = self.adapters[destination.platform]
        return await self._ask(destination, adapter.post(destination, part, key=key))

    async def _ask(self, destination: Destination, call: Awaitable[T]) -> T:
        """Await a platform call within the per-post timeout; a stop may cancel it."""
        task = asyncio.current_task()
        if task is not None:
            self._posting.add(task)
        try:
            async with asyncio.timeout(self.request_timeout):
                return await call
        except TimeoutError:
            raise DeliveryError(
                f"{destination.platform} did not answer within {self.request_timeout:.0f} s"
            ) from None
        finally:
            self._posting.discard(task)

    async def _still_ours(self, c: Claimed) -> bool:
        """Renew the claim if less than half the lease is left, so no other process takes
        an item this one is about to post: a post ends within its timeout, which is shorter
        than half the lease.
        """
        now = self.app.clock()
        until = c.item.claimed_until
        if until is not None and until - now > self.lease / 2:
            return True
        if not await self.repo.renew(c.item.id, self.owner, now, self.lease):
            return False
        c.item.claimed_until = now + self.lease
        return True
