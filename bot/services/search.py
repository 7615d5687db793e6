"""Searching stored papers with a subscription query: recent papers, matches, their reasons.

`search_recent` (the `search` command) reads the process's per-day token indexes
(`app.search_index`), so a year-long window costs a version check and the query, not a
year of papers loaded and indexed again. `recent_papers` with `search_papers` or
`run_matching` load the window's papers and match them afresh: `subscribe` (its preview)
and `subscriptions` (match counts) over a week, and `paperbot search`, a one-shot process
whose cache would die with it. Matching is CPU work: it runs in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class SearchResult:
    """What a query matched in a window: the matches, most upvoted first, and of how many."""

    papers: int  # distinct papers featured in the window
    found: list[tuple[Paper, Match]]


async def search_recent(app: App, days: int, query: Query) -> SearchResult:
    """Match `query` against the papers featured in the last `days` days, from the index."""
    first, last = window(app.clock().date(), days)
    papers = await app.search_index.window(first, last)
    found = await asyncio.to_thread(papers.search, query) if papers.size else []
    return SearchResult(papers.size, found)


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
