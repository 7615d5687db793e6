"""The due-digest sweep: decide what is due, compose it and record it in the outbox.

Every process may sweep at any time: what has been done lives in the database (one digest
run per destination and slot, claimed by inserting it), never in a scheduler's memory.

When are "the day's papers in"? A digest waits for a complete poll round (`IngestStatus`,
written once at the end of each round) that ended no earlier than one ingest interval
before the digest time and polled the digest's UTC day: one in which yesterday's and
today's lists were both fetched and stored. A round that fetched yesterday but failed (or is
still waiting) on today does not count, so a digest is never composed without today's list.
Windows end where that round ended. While the source fails the digest waits, up to
`source_grace_hours` after its time; then that day's slot is recorded as skipped and its
papers go into the next digest, whose window starts where the last posted one ended.

Which papers? Those first seen since the previous digest (and `RECONSIDER` before it, for
papers not offered yet), featured on a recent day, matched, with enough upvotes, and not in
the delivery ledger, which records every paper a digest listed or counted ("and N more").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.app import App
from bot.delivery.digest import (
    Candidates,
    Occasion,
    QueryCache,
    digest_payload,
    interest,
    most_discussed,
    rank_interests,
)
from bot.delivery.planning import (
    Key,
    Rules,
    ingest_horizon,
    next_looks,
    reach,
    schedule_of,
    special_occasions,
    split,
    triage,
)
from bot.delivery.timing import WEEKLY_SLOT, slot_stamp
from bot.messages import PaperItem, PaperList, Reply
from bot.papers import Paper
from bot.recommend.digests import order_by_taste
from bot.recommend.suggest import add_suggestions
from bot.storage.delivery_plan import PayloadBuilder, Recorded, RunPlan
from bot.storage.due_reads import Destination
from bot.storage.kinds import RunKind
from bot.storage.models import DestinationRow

__all__ = ["SweepReport", "Sweeper", "reach", "schedule_of"]

log = logging.getLogger(__name__)

FIRST_WINDOW = timedelta(hours=24)  # a first digest looks back this far before set-up
# A feature first seen in a window is news only if its day is no older than the day before
# the window starts: the ingest polls today and yesterday (and, after a downtime, the days
# since its last poll), while archive imports and look-ups store past days' papers "now".
FEATURE_SLACK = timedelta(days=1)
LONGEST_WINDOW = timedelta(days=7)  # after a long pause, only the last week counts
# Each digest also looks this far back before the previous one ended, for papers that were
# not offered yet: too few upvotes then (upvotes come during the first days), or stored by
# another writer (a `papers today` fetch) whose commit came after the previous digest read
# the papers, though its clock stamped them earlier. The ledger keeps every paper to once.
RECONSIDER = timedelta(days=2)
DIGEST_KINDS = (RunKind.DIGEST, RunKind.NOW)
INTEREST_CHUNK = 100  # destinations copied out of their rows between two yields to the loop


@dataclass
class SweepReport:
    recorded: list[Recorded] = field(default_factory=list)
    waiting: int = 0  # digests waiting for the paper source
    skipped: int = 0  # digests given up after the source grace
    taken: int = 0  # slots another process (or an earlier sweep) claimed first
    looked_at: int = 0  # destinations the sweep read (the due ones, not all)

    @property
    def queued(self) -> int:
        return sum(1 for r in self.recorded if r.outbox_id is not None)


class Sweeper:
    """Composes due digests, alerts and catch-ups for every destination."""

    def __init__(self, app: App):
        self.app = app
        self.repo = app.deliveries
        self.queries = QueryCache()

    async def sweep(self, *, alerts: bool = True) -> SweepReport:
        """Record everything due now; the sender posts it.

        Only destinations whose stored due time has come (or, for instant alerts, that
        papers came for since their last alert) are read; each is then told when to be
        looked at next. With `alerts` False (an ingest is running) instant alerts wait for
        its end, so one ingest brings one alert, not one per day it polls.
        """
        app = self.app
        rules = Rules.of(app.settings, await app.state.ingest_status(), app.clock(), alerts)
        report = SweepReport()
        looked, latest = await self.repo.due_destinations(rules.now, rules.horizon, alerts=alerts)
        report.looked_at = len(looked)
        parts = split(looked, rules)
        last = await self.repo.last_horizons(
            [d.id for d in parts.special] + [o.destination.id for o in parts.daily]
        )
        occasions = special_occasions(parts.special, rules, latest, last)
        taken = await self.repo.taken_slots(_key(o) for o in [*occasions, *parts.daily])
        sorted_out = triage(parts.daily, taken, rules)
        report.waiting = sorted_out.waiting
        done = set(taken) | await self._skip(sorted_out.skips, rules, report)
        todo = [o for o in occasions if _key(o) not in taken]
        report.taken += len(occasions) - len(todo)
        for o in occasions:
            if o.kind == RunKind.CATCHUP and _key(o) in taken:
                await self._unmute(o.destination)
        done |= await self._compose([*todo, *sorted_out.ready], rules.horizon, last, report)
        # The rows now hold what this sweep did (mutes ended), `last` every horizon.
        await self.repo.reschedule(next_looks(looked, rules, done, parts.daily, last))
        _log_report(report)
        return report

    async def _skip(self, skips: list[Occasion], rules: Rules, report: SweepReport) -> set[Key]:
        """Record the digests given up; the slots that have a run now (recorded or not)."""
        status = rules.status
        for o in skips:
            plan = self._plan(o, rules.horizon, rules.horizon, Candidates([], None))
            if await self.repo.record_skip(plan, rules.now):
                report.skipped += 1
                log.warning(
                    "digest %s of destination %s skipped: no complete poll since %s (%s)",
                    o.slot,
                    o.destination.id,
                    status.last_complete_round_at,
                    status.last_error,
                )
        return {_key(o) for o in skips}

    async def compose_now(self, destination: DestinationRow) -> Recorded | None:
        """Record a digest of everything new for `destination`, to be posted at once."""
        now = self.app.clock()
        horizon = ingest_horizon(await self.app.state.ingest_status(), now)
        last = await self.repo.last_horizons([destination.id])
        report = SweepReport()
        occasion = Occasion(destination, f"now-{slot_stamp(now)}", RunKind.NOW, due_at=now)
        await self._compose([occasion], horizon, last, report)
        return report.recorded[0] if report.recorded else None

    async def preview(self, destination: DestinationRow) -> Reply:
        """What a digest posted now would list; records nothing."""
        now = self.app.clock()
        horizon = ingest_horizon(await self.app.state.ingest_status(), now)
        last = await self.repo.last_horizons([destination.id])
        occasion = Occasion(destination, "preview", RunKind.NOW, due_at=now)
        [(_, cands)], papers = await self._candidates([occasion], horizon, last)
        done = await self.repo.delivered(destination.id, [pid for pid, _ in cands.ranked])
        fresh = [r for r in cands.ranked if r[0] not in done]
        shown = fresh[: destination.digest_max]
        more = len(fresh) - len(shown)
        footer = f"and {more} more" if more else None
        return PaperList(
            title=f"Preview: the next digest would list {len(shown)} of {len(fresh)} papers",
            items=tuple(PaperItem(papers[pid], reasons=why) for pid, why in shown),
            footer=footer,
            empty_text="Nothing new matches the subscriptions here since the last digest.",
            ephemeral=True,
        )

    async def _candidates(
        self,
        occasions: list[Occasion],
        horizon: datetime,
        last: dict[int, datetime],
        *,
        sweeping: bool = False,
    ) -> tuple[list[tuple[datetime, Candidates]], dict[str, Paper]]:
        """Each occasion's window start and ranked matches, and the papers they refer to."""
        starts = [self._start(o, horizon, last) for o in occasions]
        first = min(starts, default=horizon)
        seen = await self.repo.seen_between(first, horizon, (first - FEATURE_SLACK).date())
        papers = {p.id: p for p in await self.app.papers.get_many(sorted({p for p, *_ in seen}))}
        wants = []
        # paperbot_matching_duration_seconds: a sweep's matching alone, not the reads above
        # (nor a preview's).
        with self.app.metrics.matching() if sweeping else contextlib.nullcontext():
            for n, (o, start) in enumerate(zip(occasions, starts, strict=True), 1):
                wants.append(interest(o.destination, start, (start - FEATURE_SLACK).date()))
                if n % INTEREST_CHUNK == 0:
                    # Reading 20 subscriptions off each of 1,000 ORM rows is ~70 ms of CPU:
                    # let the loop run in between (the rows live on the loop; see interest()).
                    await asyncio.sleep(0)
            # Matching and ranking 20,000 subscriptions is seconds of CPU: all of it in a
            # thread, which hands back plain lists (nothing lazy for the loop to expand).
            ranked = await asyncio.to_thread(
                rank_interests, papers, seen, wants, horizon, self.queries
            )
        # Same papers, reordered where a channel's (or person's) ratings say what comes first.
        ranked = await order_by_taste(self.app, [o.destination.id for o in occasions], ranked)
        if sweeping:  # what gets posted; a preview shows only what matched
            ranked = await add_suggestions(self.app, occasions, starts, ranked, papers)
        return list(zip(starts, ranked, strict=True)), papers

    async def _compose(
        self,
        occasions: list[Occasion],
        horizon: datetime,
        last: dict[int, datetime],
        report: SweepReport,
    ) -> set[Key]:
        """Compose and record the occasions; the slots that have a run now."""
        if not occasions:
            return set()
        # One occasion per destination per sweep, the oldest first (yesterday's digest, if
        # still due, before today's); the next sweep takes the next, starting where it ended.
        first: dict[int, Occasion] = {}
        for o in sorted(occasions, key=lambda o: o.due_at or horizon):
            first.setdefault(o.destination.id, o)
        todo = list(first.values())
        # Processes sweeping at the same moment start at different places, so they rarely
        # wait on each other's claims.
        random.shuffle(todo)
        planned, papers = await self._candidates(todo, horizon, last, sweeping=True)
        await self._record(list(zip(todo, planned, strict=True)), horizon, last, report, papers)
        return {_key(o) for o in todo}

    async def _record(
        self,
        planned: list[tuple[Occasion, tuple[datetime, Candidates]]],
        horizon: datetime,
        last: dict[int, datetime],
        report: SweepReport,
        papers: dict[str, Paper],
    ) -> None:
        """Claim and record the runs (None from the repo: taken meanwhile)."""
        plans = [
            (self._plan(o, start, horizon, c), self._builder(o, c, papers))
            for o, (start, c) in planned
        ]
        results = await self.repo.record_many(plans, self.app.clock())
        for (o, _), recorded in zip(planned, results, strict=True):
            if recorded is None:
                report.taken += 1
                continue
            last[o.destination.id] = horizon
            report.recorded.append(recorded)
            if o.kind == RunKind.CATCHUP:
                await self._unmute(o.destination)

    def _start(self, o: Occasion, horizon: datetime, last: dict[int, datetime]) -> datetime:
        # The first digest also covers the day before the destination was set up.
        d = o.destination
        previous = last.get(d.id)
        if previous is None:
            start = min(d.created_at, horizon) - FIRST_WINDOW
        else:
            start = min(previous, horizon) - RECONSIDER
        longest = LONGEST_WINDOW
        if _weekly(o) and o.due_at is not None:
            # A weekly digest caught up days late still covers the week before its time.
            longest += max(timedelta(0), horizon - o.due_at)
        return max(start, horizon - longest)

    def _plan(self, o: Occasion, start: datetime, horizon: datetime, c: Candidates) -> RunPlan:
        d = o.destination
        return RunPlan(
            destination_id=d.id,
            platform=d.platform,
            slot=o.slot,
            kind=o.kind,
            local_date=o.local_date,
            window_start=start,
            horizon=max(horizon, start),
            cap=d.digest_max,
            ranked=c.ranked,
            suggested=c.suggested,
        )

    def _builder(self, o: Occasion, c: Candidates, papers: dict[str, Paper]) -> PayloadBuilder:
        empty = None
        if o.kind in DIGEST_KINDS and self.app.settings.post_empty_digests:
            empty = "No new papers matched the subscriptions here since the last digest."

        # Decided when the digest is composed, so every try posts it the same way.
        thread = o.kind in DIGEST_KINDS and o.destination.threads
        weekly = _weekly(o)

        def build(listed: list[tuple[str, tuple[str, ...]]], more: int) -> dict[str, Any] | None:
            return digest_payload(
                _title(o, len(listed) + more),
                listed,
                more,
                c.busiest_query,
                empty_text=empty,
                thread=thread,
                intro=most_discussed([pid for pid, _ in listed], papers) if weekly else None,
            )

        return build

    async def _unmute(self, d: Destination) -> None:
        if d.muted_until is not None:
            # Only a mute that has ended: the user may have muted again since we read it.
            await self.repo.end_mute(d.id, self.app.clock())
            d.muted_until = None


def _key(o: Occasion) -> Key:
    return (o.destination.id, o.slot)


def _log_report(report: SweepReport) -> None:
    if report.recorded or report.skipped:
        log.info(
            "sweep: %d queued, %d empty, %d skipped, %d waiting for papers, %d taken",
            report.queued,
            len(report.recorded) - report.queued,
            report.skipped,
            report.waiting,
            report.taken,
        )


def _weekly(o: Occasion) -> bool:
    """Whether `o` is a weekly digest (its slot says so, whatever the row says since)."""
    return o.kind == RunKind.DIGEST and o.slot.startswith(WEEKLY_SLOT)


def _title(o: Occasion, total: int) -> str:
    noun = "paper" if total == 1 else "papers"
    if _weekly(o) and o.local_date is not None:
        return f"Weekly Papers digest — week to {o.local_date:%a %d %b %Y} ({total} {noun})"
    if o.kind == RunKind.DIGEST and o.local_date is not None:
        return f"Daily Papers digest — {o.local_date:%a %d %b %Y} ({total} {noun})"
    if o.kind == RunKind.ALERT:
        return f"New papers matching your subscriptions ({total})"
    if o.kind == RunKind.CATCHUP:
        return f"While you were muted: {total} {noun} matched your subscriptions"
    return f"Daily Papers digest ({total} {noun})"
