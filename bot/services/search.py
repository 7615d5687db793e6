"""Searching stored papers with a subscription query: recent papers, matches, their reasons.

Shared by `search`, `subscribe` (its preview), `subscriptions` (match counts) and
`paperbot search`. Matching is CPU work: it runs in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING

from bot.matching.engine import Match, Reason, match_batch
from bot.papers import Paper
from bot.query import Query

if TYPE_CHECKING:
    from bot.app import App

PREVIEW_DAYS = 7  # "would have matched N papers in the last 7 days"


def window(today: date, days: int) -> tuple[date, date]:
    """The first and last day of "the last `days` days", today included (UTC)."""
    return today - timedelta(days=days - 1), today


async def recent_papers(app: App, days: int) -> list[Paper]:
    """Papers featured in the last `days` days, most upvoted first."""
    first, last = window(app.clock().date(), days)
    return await app.papers.featured_between(first, last)


def _matched_ids(
    papers: Sequence[Paper], subscriptions: Sequence[tuple[int, Query]]
) -> dict[int, list[str]]:
    return {sub: found.paper_ids for sub, found in match_batch(papers, subscriptions).items()}


async def run_matching(
    papers: Sequence[Paper], subscriptions: Sequence[tuple[int, Query]]
) -> dict[int, list[str]]:
    """The ids of the papers each subscription matches, in batch order.

    Matched in a worker thread (CPU-bound); the lists are built there too, as nothing lazy
    may come back for the event loop to expand.
    """
    if not papers or not subscriptions:
        return {}
    return await asyncio.to_thread(_matched_ids, papers, subscriptions)


def _search(papers: Sequence[Paper], query: Query) -> list[tuple[Paper, Match]]:
    found: Sequence[Match] = match_batch(papers, [(0, query)]).get(0, [])
    by_id = {p.id: p for p in papers}
    # Every Match (with its reasons) is built here, in the thread: a year of papers and a
    # broad query are thousands of them.
    pairs = [(by_id[m.paper_id], m) for m in found]
    pairs.sort(key=lambda pm: (-pm[0].upvotes, pm[0].id))
    return pairs


async def search_papers(papers: Sequence[Paper], query: Query) -> list[tuple[Paper, Match]]:
    """The papers `query` matches, most upvoted first, each with its match."""
    if not papers:
        return []
    return await asyncio.to_thread(_search, list(papers), query)


def reason_lines(reasons: Sequence[Reason]) -> tuple[str, ...]:
    """Say which term matched in which field: "diffusion in title, abstract"."""
    by_term: dict[str, list[str]] = {}
    for r in reasons:
        by_term.setdefault(r.term, []).append(r.field)
    return tuple(
        term if fields == ["upvotes"] else f"{term} in {', '.join(fields)}"
        for term, fields in by_term.items()
    )


def period(days: int) -> str:
    """How a sentence names the last `days` days: "today" or "the last 7 days"."""
    return "today" if days == 1 else f"the last {days} days"
