"""The scheduler inside `paperbot run`: poll the paper source, sweep due digests, send.

APScheduler only says *when* to look; *what* is due and what was done lives in the
database, so restarts and several processes on one PostgreSQL need no coordination here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.app import App
from bot.delivery.claims import ARTIFACT_LOCK_KEY, IngestLock, process_id
from bot.delivery.sender import Sender, SendReport
from bot.delivery.sweep import Sweeper, SweepReport
from bot.delivery.trending import Trending, refresh_days
from bot.port import Adapter
from bot.services.artifacts import ArtifactReport, artifact_round
from bot.services.ingest import days_between, poll_round, refresh_round
from bot.storage.state_repo import StateRepo
from bot.storage.upkeep import Upkeep, upkeep_round

log = logging.getLogger(__name__)

MAX_CATCH_UP_DAYS = 7  # after a long downtime, fetch at most this many past days
KEEP_HISTORY = timedelta(days=30)  # sent messages and empty runs are pruned after this
PRUNE_EVERY = timedelta(hours=24)


@dataclass
class IngestOutcome:
    days: list[date] = field(default_factory=list)
    new_features: int = 0
    error: str | None = None


class DeliveryScheduler:
    """Owns the ingest job, the minute sweep and the outbox sender of one process."""

    def __init__(self, app: App, adapters: Mapping[str, Adapter], *, owner: str | None = None):
        self.app = app
        self.owner = owner or process_id()
        self.sweeper = Sweeper(app)
        self.trending = Trending(app)
        self.sender = Sender(app, adapters, owner=self.owner)
        self.lock = IngestLock(app.engine)
        self.artifact_lock = IngestLock(app.engine, key=ARTIFACT_LOCK_KEY)
        self.upkeep = Upkeep(app.engine)
        self._scheduler: AsyncIOScheduler | None = None
        self._stop = asyncio.Event()
        self._sender_task: asyncio.Task[None] | None = None
        # Job runs under way: a stop cancels them and then waits for them, so that no
        # database call is left half-cancelled behind a stopped scheduler (its connection
        # would be closed later, by the garbage collector, on a loop that may be gone).
        self._running: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        """Catch up (ingest, then overdue digests) at once, then run on the intervals."""
        if self.app.settings.is_sqlite:
            # SQLite means one process: claims left by our previous life can be taken back
            # at once instead of after their lease.
            freed = await self.app.outbox.release_all()
            if freed:
                log.info("resuming %d outbox items claimed before a restart", freed)
        now = datetime.now(UTC)
        sched = AsyncIOScheduler(timezone=UTC)
        common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 300}
        sched.add_job(
            self._tracked(self.ingest_job),
            IntervalTrigger(minutes=self.app.settings.ingest_interval_minutes, timezone=UTC),
            id="ingest",
            next_run_time=now,
            **common,
        )
        sched.add_job(
            self._tracked(self.sweep_job),
            IntervalTrigger(minutes=1, timezone=UTC),
            id="sweep",
            next_run_time=now + timedelta(seconds=1),
            **common,
        )
        if self.app.settings.artifact_days:
            sched.add_job(
                self._tracked(self.artifact_job),
                IntervalTrigger(minutes=self.app.settings.ingest_interval_minutes, timezone=UTC),
                id="artifacts",
                # After the catch-up poll has stored the papers to look up.
                next_run_time=now + timedelta(minutes=1),
                **common,
            )
        if self.app.settings.upkeep_interval_minutes:
            every = self.app.settings.upkeep_interval_minutes
            sched.add_job(
                self._tracked(self.upkeep_job),
                IntervalTrigger(minutes=every, timezone=UTC),
                id="upkeep",
                # Not at start, beside the catch-up ingest and sweep: one interval later.
                next_run_time=now + timedelta(minutes=every),
                **common,
            )
        sched.start()
        self._scheduler = sched
        self._stop.clear()
        self._sender_task = asyncio.create_task(self.sender.run(self._stop), name="outbox-sender")
        log.info("scheduler started as %s", self.owner)

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)  # cancels the job runs under way
            self._scheduler = None
        if self._running:
            await asyncio.wait(set(self._running), timeout=10)
        self._stop.set()
        if self._sender_task is not None:
            try:
                await asyncio.wait_for(self._sender_task, timeout=10)
            except TimeoutError:
                self._sender_task.cancel()
                await asyncio.gather(self._sender_task, return_exceptions=True)
            self._sender_task = None

    def _tracked(self, job: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """`job`, with its run counted among those a stop waits for."""

        async def run() -> None:
            task = asyncio.current_task()
            if task is not None:
                self._running.add(task)
            try:
                await job()
            finally:
                self._running.discard(task)

        run.__name__ = run.__qualname__ = getattr(job, "__name__", "job")
        return run

    async def ingest_job(self) -> None:
        try:
            outcome = await self.ingest_once()
            if outcome is not None:
                # Instant alerts, and digests that waited for papers, go out right away.
                await self.sweep_job()
        except asyncio.CancelledError:
            # Shutting down mid-poll: the next start polls again; nothing to report.
            log.debug("ingest job stopped by shutdown")
        except Exception:
            self.app.metrics.polled("error")
            log.exception("ingest job failed")

    async def sweep_job(self) -> None:
        try:
            # Instant alerts wait while an ingest runs; ingest_job sweeps again at its end.
            alerts = not await self.lock.busy()
            with self.app.metrics.sweep():
                report = await self.sweeper.sweep(alerts=alerts)
            if report.queued:
                self.sender.wake()
        except asyncio.CancelledError:
            log.debug("digest sweep stopped by shutdown")  # state is in the database
        except Exception:
            log.exception("digest sweep failed")

    async def artifact_job(self) -> None:
        """Look up linked models, datasets and Spaces of recent papers; never fatal."""
        try:
            await self.artifacts_once()
        except asyncio.CancelledError:
            log.debug("artifact look-ups stopped by shutdown")  # each one is stored as it comes
        except Exception:
            log.exception("artifact look-ups failed")

    async def artifacts_once(self) -> ArtifactReport | None:
        """One artifact round; None if another process runs one."""
        async with self.artifact_lock.hold() as mine:
            if not mine:
                return None
            return await artifact_round(self.app)

    async def upkeep_job(self) -> None:
        """VACUUM/ANALYZE (PostgreSQL) or optimize (SQLite) what needs it; never fatal."""
        try:
            await upkeep_round(self.upkeep)
        except asyncio.CancelledError:
            # Shutting down mid-VACUUM: the statement is cancelled, the lock goes with the
            # session; nothing to undo.
            log.debug("database upkeep stopped by shutdown")

    async def ingest_once(self) -> IngestOutcome | None:
        """Poll today and yesterday (and days missed while down); None if another process is."""
        async with self.lock.hold() as mine:
            if not mine:
                log.debug("another process is ingesting")
                return None
            state = self.app.state
            days = await self._days_to_poll(state)
            report = await poll_round(self.app, days)
            outcome = IngestOutcome(days=days, new_features=len(report.stats.new_features))
            outcome.error = "; ".join(report.source_errors) or None
            self.app.metrics.polled(poll_result(len(days), len(report.failed_days)))
            await self._trending(days)
            await self._prune(state)
            return outcome

    async def _trending(self, polled: list[date]) -> None:
        """Refresh the week's upvotes, then record the papers that crossed a threshold.

        Only when some destination has a trending subscription: otherwise a poll costs what
        it did (two lists). A failure here never fails the poll: digests do not wait for it,
        and the next poll refreshes and looks again.
        """
        try:
            if not await self.app.subscriptions.any_trending():
                return
            extra = refresh_days(self.app.clock().date(), polled)
            await refresh_round(self.app, extra)
            await self.trending.record_crossings()
        except Exception:
            log.exception("trending alerts failed this poll; the next poll tries again")

    async def _prune(self, state: StateRepo) -> None:
        """Once a day (under the ingest lock, so in one process), drop old delivery history."""
        now = self.app.clock()
        last = await state.get("pruned")
        if last and now - datetime.fromisoformat(last["at"]) < PRUNE_EVERY:
            return
        items, runs = await self.app.deliveries.prune(now - KEEP_HISTORY)
        await state.set("pruned", {"at": now.isoformat()}, now=now)
        if items or runs:
            log.info("pruned %d sent outbox items and %d empty digest runs", items, runs)

    async def _days_to_poll(self, state: StateRepo) -> list[date]:
        """Yesterday and today; after a downtime every day since the last one fetched; and
        the days the last round failed on."""
        today = self.app.clock().date()
        oldest = today - timedelta(days=MAX_CATCH_UP_DAYS)
        first = today - timedelta(days=1)
        status = await state.ingest_status()
        if status.day_ok:
            first = max(min(first, max(d for d, _ in status.day_ok)), oldest)
        retry = [d for d in status.retry_days if oldest <= d < first]
        return sorted({*retry, *days_between(first, today)})

    async def run_once(self, *, ingest: bool = True) -> tuple[SweepReport, SendReport]:
        """One ingest (unless told not to), one sweep, and the outbox drained: for cron."""
        if self.app.settings.is_sqlite:
            await self.app.outbox.release_all()
        if ingest:
            await self.ingest_once()
        with self.app.metrics.sweep():
            report = await self.sweeper.sweep()
        sent = await self.sender.drain()
        if ingest and self.app.settings.artifact_days:
            # After the sending: cron's run must not hold its alerts for the look-ups.
            await self.artifact_job()
        return report, sent


def poll_result(days: int, failed: int) -> str:
    """The `result` label of a poll round: ok, partial (some days failed) or error."""
    if not failed:
        return "ok"
    return "partial" if failed < days else "error"
