"""Compose digests: match a window of papers against a destination's subscriptions, rank, cap."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bot.delivery.compiled import QueryCache
from bot.messages import Notice, PaperItem, PaperList, Reply
from bot.papers import Paper
from bot.storage.due_reads import Destination
from bot.storage.kinds import RunKind

log = logging.getLogger(__name__)

Ranked = list[tuple[str, tuple[str, ...]]]  # (paper id, subscriptions that matched), best first


@dataclass(frozen=True)
class Occasion:
    """One thing a destination may be owed: a daily digest, `digest now`, an alert, a catch-up."""

    destination: Destination
    slot: str  # unique per destination: the local date for daily digests
    kind: RunKind
    local_date: date | None = None
    due_at: datetime | None = None


@dataclass(frozen=True)
class Candidates:
    """What matched for one destination: ranked entries, and which query matched most."""

    ranked: Ranked
    busiest_query: str | None
    # Papers no query matched that the reader may like (personal alerts), best first.
    suggested: Ranked = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Interest:
    """What one occasion asks of the papers, as plain data a worker thread may read.

    ORM rows stay on the event loop: an attribute that was never loaded would try to reach
    the database from the thread.
    """

    destination_id: int
    queries: tuple[str, ...]  # its subscriptions' queries as typed, in subscription order
    # Each query's stored parsed form and canonical text (parsed again when None or old).
    stored: tuple[tuple[object, str], ...] = ()
    min_upvotes: int = 0
    start: datetime | None = None  # the window: papers first seen after `start`...
    oldest_day: date | None = None  # ...featured on `oldest_day` or later


def interest(
    d: Destination,
    start: datetime | None = None,
    oldest_day: date | None = None,
) -> Interest:
    """Copy what matching and ranking need out of a destination row (on the loop).

    Trending subscriptions are left out: they post when a paper crosses their threshold
    (bot.delivery.trending), never in a digest or an instant alert.
    """
    subs = [sub for sub in d.subscriptions if not sub.when_crossed]
    queries = tuple(sub.query for sub in subs)
    stored = tuple((sub.parsed, sub.canonical) for sub in subs)
    return Interest(d.id, queries, stored, d.min_upvotes, start, oldest_day)


Hits = dict[int, list[tuple[str, str]]]  # destination id -> [(query, paper id)], plain lists


def match_interests(
    papers: Sequence[Paper], interests: Sequence[Interest], queries: QueryCache
) -> Hits:
    """Match papers against every destination's queries: synchronous, CPU-bound.

    Each distinct query is matched once, however many subscriptions share it, and only the
    matched papers' ids are read (`MatchList.paper_ids`): building every `Match` with its
    reasons took seconds for 20,000 subscriptions, against hundredths of a second for the
    ids, and a digest names only the queries.
    Returns {destination id: [(query, paper id), ...]}, grouped by subscription, papers in
    batch order; destinations without a match are left out.
    """
    stored = {q: form for i in interests for q, form in zip(i.queries, i.stored, strict=False)}
    texts = {q for i in interests for q in i.queries}
    if not papers or not texts:
        return {}
    # Compiled once per set of queries and kept (QueryCache.engine): the next sweep of the
    # same destinations matches at once.
    engine, order = queries.engine(texts, stored)
    found = engine.match_batch(papers)
    ids = {order[n]: matched.paper_ids for n, matched in found.items()}
    out: Hits = {}
    for i in interests:
        hits = [(q, pid) for q in i.queries for pid in ids.get(q, ())]
        if hits:
            out[i.destination_id] = hits
    return out


async def match_destinations(
    papers: Sequence[Paper],
    destinations: Iterable[Destination],
    queries: QueryCache,
) -> Hits:
    """Match papers against every destination's subscriptions in one pass.

    Returns {destination id: [(query, paper id), ...]}. Matching is CPU work, so it runs in
    a thread, once for all destinations together; the thread hands back plain lists, never
    lazy match lists the loop would have to expand.
    """
    interests = [interest(d) for d in destinations]
    if not papers or not interests:
        return {}
    return await asyncio.to_thread(match_interests, list(papers), interests, queries)


def rank(
    hits: Iterable[tuple[str, str]],
    papers: Mapping[str, Paper],
    allowed: Container[str],
    min_upvotes: int,
) -> Candidates:
    """Each matched paper once, with the queries that matched it, most upvoted first."""
    reasons: dict[str, list[str]] = {}
    per_query: dict[str, int] = {}
    for query, pid in hits:
        paper = papers.get(pid)
        if pid not in allowed or paper is None or paper.upvotes < min_upvotes:
            continue
        names = reasons.setdefault(pid, [])
        if query not in names:
            names.append(query)
            per_query[query] = per_query.get(query, 0) + 1
    order = sorted(reasons, key=lambda pid: (-papers[pid].upvotes, pid))
    busiest = max(per_query, key=lambda q: (per_query[q], q)) if per_query else None
    return Candidates([(pid, tuple(reasons[pid])) for pid in order], busiest)


def rank_interests(
    papers: Mapping[str, Paper],
    seen: Sequence[tuple[str, datetime, date]],
    interests: Sequence[Interest],
    horizon: datetime,
    queries: QueryCache,
) -> list[Candidates]:
    """Match and rank every occasion of a sweep: synchronous, CPU-bound, for a worker thread.

    `seen` holds (paper id, first seen, featured day); an occasion may offer the papers
    first seen in its window (start, horizon] and featured on its oldest day or later.
    Returns one `Candidates` per interest, in order: plain lists and tuples only.
    """
    hits = match_interests(list(papers.values()), interests, queries)
    # Most occasions of a sweep share a window (same last digest): compute each window once.
    windows: dict[tuple[datetime | None, date | None], frozenset[str]] = {}
    out = []
    for i in interests:
        key = (i.start, i.oldest_day)
        allowed = windows.get(key)
        if allowed is None:
            allowed = windows[key] = frozenset(
                pid
                for pid, t, day in seen
                if (i.start is None or i.start < t)
                and t <= horizon
                and (i.oldest_day is None or day >= i.oldest_day)
            )
        out.append(rank(hits.get(i.destination_id, ()), papers, allowed, i.min_upvotes))
    return out


def digest_payload(
    title: str,
    listed: Sequence[tuple[str, tuple[str, ...]]],
    more: int,
    search_hint: str | None,
    *,
    empty_text: str | None = None,
    thread: bool = False,
    intro: str | None = None,
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
    payload: dict[str, Any] = {
        "title": title,
        "items": [{"paper_id": pid, "reasons": list(why)} for pid, why in listed],
        "footer": footer,
    }
    if thread:
        payload["thread"] = True
    if intro:
        payload["intro"] = intro
    return payload


HEAD_SIZE = 3  # papers in a weekly digest's "most discussed" head
HEAD_TITLE = 80  # characters of each title there


def most_discussed(listed: Sequence[str], papers: Mapping[str, Paper]) -> str | None:
    """A weekly digest's head: its most upvoted papers, in one short line (None: none).

    Of the papers the digest lists, so the head never names a paper the destination did not
    subscribe to, and each it names is in the list below (whose order may be by taste).
    """
    known = [papers[pid] for pid in listed if pid in papers]
    top = sorted(known, key=lambda p: (-p.upvotes, p.id))[:HEAD_SIZE]
    if not top:
        return None
    names = []
    for n, p in enumerate(top, 1):
        title = " ".join(p.title.split()) or p.id
        if len(title) > HEAD_TITLE:
            title = title[: HEAD_TITLE - 1].rstrip() + "…"
        names.append(f"{n}. {title} ({p.upvotes} upvote{'' if p.upvotes == 1 else 's'})")
    return "Most discussed this week: " + "; ".join(names)


def payload_paper_ids(payload: dict[str, Any]) -> list[str]:
    entries = [*payload.get("items", ()), *payload.get("suggestions", ())]
    return [e["paper_id"] for e in entries]


def payload_reply(payload: dict[str, Any], papers: Mapping[str, Paper]) -> Reply:
    """Rebuild the neutral message from a stored payload and the papers it names."""
    if "notice" in payload:
        return Notice(str(payload["notice"]))
    items = tuple(
        PaperItem(papers[e["paper_id"]], reasons=tuple(e["reasons"]))
        for e in payload["items"]
        if e["paper_id"] in papers
    )
    also = tuple(
        PaperItem(papers[e["paper_id"]], reasons=tuple(e["reasons"]))
        for e in payload.get("suggestions", ())
        if e["paper_id"] in papers
    )
    return PaperList(
        title=payload["title"],
        items=items,
        footer=payload.get("footer"),
        thread=bool(payload.get("thread")),
        intro=payload.get("intro"),
        also=also,
    )
