"""Gauges read from the database: what waits in the outbox, papers, destinations, polls.

They describe the whole deployment (every process on one database), so they are read at
scrape time rather than counted: one refresh at a time, a few aggregate queries on one
connection, shared by the scrapes that arrive while it runs; the collector only yields
the last snapshot, so a scrape never runs a query on the collector's thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.timing import at_local
from bot.ops.metrics import Metrics, PostedItem
from bot.storage.kinds import OutboxStatus, RunKind
from bot.storage.models import DestinationRow, DigestRunRow, OutboxRow, PaperRow, StateRow
from bot.storage.state_repo import INGEST_KEY, IngestStatus

log = logging.getLogger(__name__)

REFRESH_TIMEOUT = 10.0  # seconds a refresh may take before the scrape shows the last one

# A disabled destination's reason is text for people ("the bot lost access to this channel
# (Missing Access)"); as a label it is one of these few kinds, first match wins.
REASON_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("archived", ("archived",)),
    ("locked", ("locked",)),
    ("dms_closed", ("dms",)),
    ("missing_permission", ("permission", "does not allow", "refused the post")),
    ("not_found", ("no longer exists", "not found", "unknown", "deactivated")),
    ("no_access", ("access", "not a member", "not_in_channel", "not installed")),
)


def reason_kind(reason: str) -> str:
    """The bounded label for a disabled destination's reason."""
    low = reason.lower()
    for kind, words in REASON_KINDS:
        if any(w in low for w in words):
            return kind
    return "other"


@dataclass(frozen=True)
class Snapshot:
    """What the database said at `taken_at`."""

    taken_at: datetime
    outbox_depth: dict[str, int] = field(default_factory=dict)  # platform -> pending items
    oldest_due_age: dict[str, float] = field(default_factory=dict)  # platform -> seconds
    papers: int = 0
    active: dict[str, int] = field(default_factory=dict)  # platform -> destinations
    disabled: dict[tuple[str, str], int] = field(default_factory=dict)  # (platform, kind)
    last_poll_age: float | None = None  # seconds since the last complete poll round
    poll_failing: bool = False


async def read_snapshot(sessions: async_sessionmaker[AsyncSession], now: datetime) -> Snapshot:
    """Read every gauge in one session (one connection), with aggregate queries."""
    async with sessions() as s:
        pending = OutboxRow.status == OutboxStatus.PENDING
        live = (
            ~select(DestinationRow.id)
            .where(
                DestinationRow.id == OutboxRow.destination_id,
                DestinationRow.disabled_reason.is_not(None),
            )
            .exists()
        )
        depth = await s.execute(
            select(OutboxRow.platform, func.count())
            .where(pending, live)
            .group_by(OutboxRow.platform)
        )
        oldest = await s.execute(
            select(OutboxRow.platform, func.min(OutboxRow.next_attempt_at))
            .where(pending, live, OutboxRow.next_attempt_at <= now)
            .group_by(OutboxRow.platform)
        )
        papers = await s.scalar(select(func.count()).select_from(PaperRow))
        active = await s.execute(
            select(DestinationRow.platform, func.count())
            .where(DestinationRow.disabled_reason.is_(None))
            .group_by(DestinationRow.platform)
        )
        # Reasons are few distinct texts (the adapters' fixed sentences): group by them in
        # the database, classify the handful here.
        disabled_rows = await s.execute(
            select(DestinationRow.platform, DestinationRow.disabled_reason, func.count())
            .where(DestinationRow.disabled_reason.is_not(None))
            .group_by(DestinationRow.platform, DestinationRow.disabled_reason)
        )
        state = await s.scalar(select(StateRow.value).where(StateRow.key == INGEST_KEY))
    disabled: Counter[tuple[str, str]] = Counter()
    for platform, reason, n in disabled_rows.all():
        disabled[(platform, reason_kind(reason or ""))] += int(n)
    status = IngestStatus.from_json(state) if state else IngestStatus()
    done = status.last_complete_round_at
    return Snapshot(
        taken_at=now,
        outbox_depth={p: int(n) for p, n in depth.all()},
        oldest_due_age={p: max(0.0, (now - t).total_seconds()) for p, t in oldest.all() if t},
        papers=int(papers or 0),
        active={p: int(n) for p, n in active.all()},
        disabled=dict(disabled),
        last_poll_age=(now - done).total_seconds() if done else None,
        poll_failing=status.failing,
    )


async def measure_lags(
    sessions: async_sessionmaker[AsyncSession], metrics: Metrics, items: list[PostedItem]
) -> None:
    """Observe the digest lag of items posted since the last scrape: one query for all."""
    if not items:
        return
    async with sessions() as s:
        rows = await s.execute(
            select(
                DigestRunRow.id, DigestRunRow.kind, DigestRunRow.local_date, DigestRunRow.created_at
            ).where(DigestRunRow.id.in_({i.run_id for i in items}))
        )
        runs = {rid: (kind, day, created) for rid, kind, day, created in rows.all()}
    for item in items:
        run = runs.get(item.run_id)
        if run is None:  # pruned meanwhile: nothing to measure against
            continue
        kind, day, created = run
        scheduled = created
        if kind == RunKind.DIGEST and day is not None:
            scheduled = at_local(day, item.digest_time, item.timezone)
        lag = max(0.0, (item.posted_at - scheduled).total_seconds())
        metrics.digest_lag.labels(platform=item.platform, kind=kind).observe(lag)


class DatabaseGauges(Collector):
    """A collector over the last snapshot; `refresh` reads a new one.

    Scrapes that arrive while a refresh runs wait for that one instead of starting their
    own: however many scrapers there are, one refresh (one connection) at a time.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        metrics: Metrics,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._metrics = metrics
        self._clock = clock
        self.snapshot: Snapshot | None = None
        self.errors = 0
        self._running: asyncio.Task[None] | None = None

    async def refresh(self) -> Snapshot | None:
        """Read the gauges (or join the refresh under way); the last good snapshot."""
        if self._running is None or self._running.done():
            self._running = asyncio.create_task(self._refresh(), name="metrics-refresh")
        # A scraper that hangs up must not cancel the refresh others wait for.
        await asyncio.shield(self._running)
        return self.snapshot

    async def _refresh(self) -> None:
        try:
            async with asyncio.timeout(REFRESH_TIMEOUT):
                lags = self._metrics.take_pending_lags()
                await measure_lags(self._sessions, self._metrics, lags)
                self.snapshot = await read_snapshot(self._sessions, self._clock())
        except Exception:
            self.errors += 1
            log.warning("reading the metrics from the database failed", exc_info=True)

    def collect(self) -> Iterable[Metric]:
        return list(self._families())

    def _families(self) -> Iterator[Metric]:
        errors = GaugeMetricFamily(
            "paperbot_metrics_refresh_errors",
            "Times reading the gauges from the database failed (the last values are shown).",
        )
        errors.add_metric([], self.errors)
        yield errors
        snap = self.snapshot
        if snap is None:
            return
        depth = GaugeMetricFamily(
            "paperbot_outbox_depth",
            "Messages waiting in the outbox (pending, destination enabled), by platform.",
            labels=["platform"],
        )
        # Every platform with destinations shows, at 0 when nothing waits: an alert on the
        # series then never sees it vanish.
        platforms = sorted(set(snap.outbox_depth) | set(snap.active))
        for platform in platforms:
            depth.add_metric([platform], snap.outbox_depth.get(platform, 0))
        yield depth
        oldest = GaugeMetricFamily(
            "paperbot_outbox_oldest_due_age_seconds",
            "Age of the oldest outbox item that is due and not sent, by platform (0: none).",
            labels=["platform"],
        )
        for platform in platforms:
            oldest.add_metric([platform], snap.oldest_due_age.get(platform, 0.0))
        yield oldest
        papers = GaugeMetricFamily("paperbot_papers_stored", "Papers in the database.")
        papers.add_metric([], snap.papers)
        yield papers
        active = GaugeMetricFamily(
            "paperbot_destinations_active",
            "Channels and DMs the bot posts to, by platform.",
            labels=["platform"],
        )
        for platform, n in sorted(snap.active.items()):
            active.add_metric([platform], n)
        yield active
        disabled = GaugeMetricFamily(
            "paperbot_destinations_disabled",
            "Destinations disabled after a failure, by platform and kind of reason.",
            labels=["platform", "reason"],
        )
        for (platform, kind), n in sorted(snap.disabled.items()):
            disabled.add_metric([platform, kind], n)
        yield disabled
        if snap.last_poll_age is not None:
            age = GaugeMetricFamily(
                "paperbot_ingest_last_success_age_seconds",
                "Seconds since the last complete poll round of the paper source.",
            )
            age.add_metric([], snap.last_poll_age)
            yield age
        failing = GaugeMetricFamily(
            "paperbot_ingest_failing",
            "1 while the paper source has failed since the last complete poll round.",
        )
        failing.add_metric([], 1.0 if snap.poll_failing else 0.0)
        yield failing
