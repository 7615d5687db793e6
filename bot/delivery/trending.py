"""Trending alerts: a subscription that posts a paper once its upvotes reach a threshold.

`subscribe "world model" upvotes>=50 --when-crossed` is matched on every poll against the
papers featured in the last `TRENDING_DAYS` days, whose upvotes the poll has just refreshed
(`refresh_days`). A paper that matches (its upvotes at the threshold now) and that the
destination never had is posted, in one message per destination and poll, however many
days after it was featured.

Exactly once rests on what every delivery rests on: the ledger (one row per destination and
paper, ever) and the outbox, written in one transaction with the run. A crash before that
transaction loses nothing (the next poll finds the same crossing), one after it posts
nothing twice (the sender's idempotency key). Nothing about a crossing lives in memory.

The same ledger is why a paper a digest already brought is not posted again when it
crosses later, and why a crossed paper is not in a later digest: a destination gets a paper
once, whichever subscription brings it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.delivery.compiled import QueryCache
from bot.delivery.digest import Interest, digest_payload, match_interests, rank
from bot.delivery.quiet import is_quiet
from bot.delivery.timing import slot_stamp
from bot.query import Query
from bot.query.ast import And, Upvotes
from bot.storage.delivery_plan import Entry, PayloadBuilder, RunPlan
from bot.storage.destinations_repo import USER
from bot.storage.kinds import RunKind
from bot.storage.models import DestinationRow

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

FLAG = "--when-crossed"  # as typed after a query, in `subscribe` and in an export

TRENDING_DAYS = 7  # papers featured this many days back (today included) can still cross
MAX_POSTED = 50  # papers listed in one trending message (more are counted: "and N more")


def threshold(query: Query) -> int | None:
    """The upvote count a trending query fires at (upvotes>=N or >N, ANDed in); None if none.

    Only a lower bound ANDed with the rest makes "crossing" mean something: with OR, or
    under NOT, a paper can match without ever reaching a count.
    """
    root = query.root
    parts = root.children if isinstance(root, And) else (root,)
    bounds = [
        p.value + (1 if p.op == ">" else 0)
        for p in parts
        if isinstance(p, Upvotes) and p.op in (">=", ">")
    ]
    return max(bounds) if bounds else None


def refresh_days(today: date, polled: list[date]) -> list[date]:
    """The days of the last week a poll fetches again for their upvotes (not polled yet)."""
    week = [today - timedelta(days=n) for n in range(TRENDING_DAYS)]
    return sorted(d for d in week if d not in polled)


def _postable(d: DestinationRow, now: datetime) -> bool:
    """Whether a trending post may go to `d` now; if not, the next poll tries again."""
    if d.paused or d.disabled_reason is not None:
        return False
    if d.muted_until is not None and d.muted_until > now:
        return False
    # A person's quiet hours hold a trending post like an instant alert.
    return not (d.kind == USER and is_quiet(now, d.quiet_start, d.quiet_end, d.timezone))


class Trending:
    """Finds the papers that crossed a trending subscription's threshold, and records them."""

    def __init__(self, app: App):
        self.app = app
        self.queries = QueryCache()

    async def record_crossings(self) -> int:
        """Record a message for each destination with papers that crossed; how many."""
        app = self.app
        now = app.clock()
        rows = [d for d in await app.subscriptions.trending_destinations() if _postable(d, now)]
        if not rows:
            return 0
        oldest = now.date() - timedelta(days=TRENDING_DAYS - 1)
        # Every feature of the week, however long ago it was first seen.
        seen = await app.deliveries.seen_between(now - timedelta(days=30), now, oldest)
        ids = sorted({pid for pid, *_ in seen})
        papers = {p.id: p for p in await app.papers.get_many(ids)}
        interests = [
            Interest(
                d.id,
                tuple(s.query for s in d.subscriptions if s.when_crossed),
                tuple((s.parsed, s.canonical) for s in d.subscriptions if s.when_crossed),
            )
            for d in rows
        ]
        hits = await asyncio.to_thread(
            match_interests, list(papers.values()), interests, self.queries
        )
        plans: list[tuple[RunPlan, PayloadBuilder]] = []
        for d in rows:
            found = rank(hits.get(d.id, ()), papers, papers, 0).ranked
            if not found:
                continue
            done = await app.deliveries.delivered(d.id, [pid for pid, _ in found])
            fresh = [e for e in found if e[0] not in done]
            if fresh:
                plans.append((self._plan(d, now, fresh), _builder))
        if not plans:
            return 0
        recorded = await app.deliveries.record_many(plans, now)
        queued = sum(1 for r in recorded if r is not None and r.outbox_id is not None)
        log.info("trending: %d destinations get papers that crossed their threshold", queued)
        return queued

    def _plan(self, d: DestinationRow, now: datetime, ranked: list[Entry]) -> RunPlan:
        return RunPlan(
            destination_id=d.id,
            platform=d.platform,
            # One per poll: the slot names the moment, so a retried poll is a new run whose
            # ledger check leaves out what the first one recorded.
            slot=f"crossed-{slot_stamp(now)}",
            kind=RunKind.CROSSED,
            local_date=None,
            window_start=now - timedelta(days=TRENDING_DAYS),
            horizon=now,
            cap=MAX_POSTED,
            ranked=ranked,
        )


def _builder(listed: list[Entry], more: int) -> dict[str, Any] | None:
    total = len(listed) + more
    noun = "paper reached" if total == 1 else "papers reached"
    return digest_payload(f"Taking off: {total} {noun} your upvote threshold", listed, more, None)
