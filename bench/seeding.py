"""Bulk set-up shared by the benchmarks: channels with subscriptions, and a complete poll."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, text

from bot.app import App
from bot.papers import Paper
from bot.storage.models import DestinationRow, SubscriptionRow
from bot.storage.state_repo import IngestStatus

CHUNK = 1000  # rows per INSERT


async def channels_with_queries(
    app: App, queries: Sequence[Sequence[str]], now: datetime, *, floors: Sequence[int] = ()
) -> None:
    """One "bench" channel per entry of `queries` (its subscriptions), digests at 09:00 UTC.

    `floors` gives channel i its minimum upvotes (0 where it is shorter).
    """
    rows = [
        {
            "platform": "bench",
            "kind": "channel",
            "external_id": f"C{i}",
            "timezone": "UTC",
            "digest_time": "09:00",
            "digest_max": 10,
            "min_upvotes": floors[i] if i < len(floors) else 0,
            "weekdays_only": False,
            "paused": False,
            "alerts_mode": "daily",
            "created_at": now,
        }
        for i in range(len(queries))
    ]
    async with app.sessions.begin() as s:
        for i in range(0, len(rows), CHUNK):
            await s.execute(insert(DestinationRow), rows[i : i + CHUNK])
        ids = (await s.scalars(select(DestinationRow.id).order_by(DestinationRow.id))).all()
        # A channel may draw one query twice; the sweep never reads `canonical`.
        subs = [
            {"destination_id": d, "query": q, "canonical": f"{q} #{k}", "created_at": now}
            for d, qs in zip(ids, queries, strict=True)
            for k, q in enumerate(qs)
        ]
        for i in range(0, len(subs), CHUNK):
            await s.execute(insert(SubscriptionRow), subs[i : i + CHUNK])


async def polled(app: App, papers: list[Paper], at: datetime) -> None:
    """What a complete poll round at `at` leaves: the papers stored, yesterday and today
    polled, so digests due after it are composed."""
    await app.papers.upsert(papers, now=at)
    days = (at.date() - timedelta(days=1), at.date())
    status = IngestStatus(last_complete_round_at=at, last_round_days=days)
    await app.state.save_ingest_status(status, now=at)


async def print_plan(
    app: App,
    label: str,
    sql: str,
    params: dict[str, object] | None = None,
    lines: int = 3,
    before: Any = None,
) -> None:
    """Print the first lines of PostgreSQL's plan for `sql` (nothing on SQLite), after
    running `before` in the same transaction (planner settings the bot makes there)."""
    if app.engine.dialect.name != "postgresql":
        return
    async with app.engine.begin() as conn:
        if before is not None:
            await conn.execute(before)
        plan = (await conn.execute(text(f"EXPLAIN {sql}"), params or {})).scalars().all()
    print(f"plan of {label}:", " / ".join(p.strip() for p in plan[:lines]))
