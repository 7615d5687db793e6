"""Compose digests: match a window of papers against a destination's subscriptions, rank, cap."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.matching import MatchEngine
from bot.messages import Notice, PaperItem, PaperList, Reply
from bot.papers import Paper
from bot.query import Query, QueryError, parse_query
from bot.storage.models import DestinationRow, SubscriptionRow

log = logging.getLogger(__name__)

Ranked = list[tuple[str, tuple[str, ...]]]  # (paper id, subscriptions that matched), best first


@dataclass(frozen=True)
class Occasion:
    """One thing a destination may be owed: a daily digest, `digest now`, an alert, a catch-up."""

    destination: DestinationRow
    slot: str  # unique per destination: the local date for daily digests
    kind: str  # "digest" | "now" | "alert" | "catchup"
    local_date: date | None = None
    due_at: datetime | None = None


@dataclass(frozen=True)
class Candidates:
    """What matched for one destination: ranked entries, and which query matched most."""

    ranked: Ranked
    busiest_query: str | None


class QueryCache:
    """Parsed subscription queries by their text, so a sweep does not parse them again."""

    def __init__(self) -> None:
        self._parsed: dict[str, Query | None] = {}

    def get(self, text: str) -> Query | None:
        if text not in self._parsed:
            try:
                self._parsed[text] = parse_query(text)
            except QueryError as exc:
                # The language may have become stricter since it was saved; skip it, loudly.
                log.warning("stored subscription query %r no longer parses: %s", text, exc)
                self._parsed[text] = None
        return self._parsed[text]


async def match_destinations(
    papers: Sequence[Paper],
    destinations: Iterable[DestinationRow],
    queries: QueryCache,
) -> dict[int, list[tuple[SubscriptionRow, str]]]:
    """Match papers against every destination's subscriptions in one pass.

    Returns {destination id: [(subscription, paper id), ...]}. Matching is CPU work, so it
    runs in a thread, once per sweep for all destinations together.
    """
    subs: list[tuple[int, Query]] = []
    owner: dict[int, tuple[int, SubscriptionRow]] = {}
    for d in destinations:
        for sub in d.subscriptions:
            q = queries.get(sub.query)
            if q is not None:
                subs.append((sub.id, q))
                owner[sub.id] = (d.id, sub)
    if not papers or not subs:
        return {}
    found = await asyncio.to_thread(lambda: MatchEngine(subs).match_batch(papers))
    out: dict[int, list[tuple[SubscriptionRow, str]]] = {}
    for sub_id, matches in found.items():
        dest_id, sub = owner[sub_id]
        out.setdefault(dest_id, []).extend((sub, m.paper_id) for m in matches)
    return out


def rank(
    hits: Iterable[tuple[SubscriptionRow, str]],
    papers: dict[str, Paper],
    allowed: set[str],
    min_upvotes: int,
) -> Candidates:
    """Each matched paper once, with the subscriptions that matched it, most upvoted first."""
    reasons: dict[str, list[str]] = {}
    per_query: dict[str, int] = {}
    for sub, pid in hits:
        paper = papers.get(pid)
        if pid not in allowed or paper is None or paper.upvotes < min_upvotes:
            continue
        names = reasons.setdefault(pid, [])
        if sub.query not in names:
            names.append(sub.query)
            per_query[sub.query] = per_query.get(sub.query, 0) + 1
    order = sorted(reasons, key=lambda pid: (-papers[pid].upvotes, pid))
    busiest = max(per_query, key=lambda q: (per_query[q], q)) if per_query else None
    return Candidates([(pid, tuple(reasons[pid])) for pid in order], busiest)


def digest_payload(
    title: str,
    listed: Sequence[tuple[str, tuple[str, ...]]],
    more: int,
    search_hint: str | None,
    *,
    empty_text: str | None = None,
) -> dict[str, Any] | None:
    """The outbox payload of a digest; None when there is nothing to post."""
    if not listed:
        return {"notice": empty_text} if empty_text else None
    footer = None
    if more:
        # Plain text that reads right everywhere: the command's prefix differs by platform
        # ("/search" on Discord, "/papers search" on Slack) and a stored message has none.
        footer = f"and {more} more" + (
            f" — find them with the search command: search {search_hint}" if search_hint else ""
        )
    return {
        "title": title,
        "items": [{"paper_id": pid, "reasons": list(why)} for pid, why in listed],
        "footer": footer,
    }


def payload_paper_ids(payload: dict[str, Any]) -> list[str]:
    return [e["paper_id"] for e in payload.get("items", ())]


def payload_reply(payload: dict[str, Any], papers: Mapping[str, Paper]) -> Reply:
    """Rebuild the neutral message from a stored payload and the papers it names."""
    if "notice" in payload:
        return Notice(str(payload["notice"]))
    items = tuple(
        PaperItem(papers[e["paper_id"]], reasons=tuple(e["reasons"]))
        for e in payload["items"]
        if e["paper_id"] in papers
    )
    return PaperList(title=payload["title"], items=items, footer=payload.get("footer"))
