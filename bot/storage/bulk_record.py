"""Recording a batch of digest runs on PostgreSQL: two statements per transaction.

The portable path (`DeliveryRepo.record_many` on SQLite) sends one row per parameter set:
SQLAlchemy prepares each on the event loop, and a batch takes a ledger read, three inserts
and an update. Here every column goes as one array (`unnest`) and the database does the
rest, so 2,000 runs and their 20,000 ledger rows cost two round trips:

1. claim and ledger: read which candidates each destination had already, number the fresh
   ones in rank order (the first `cap` are listed, the rest counted as "and N more"),
   insert the runs (ON CONFLICT on (destination, slot): the claim) and, for the runs this
   statement claimed, their ledger rows (ON CONFLICT on (destination, paper): a concurrent
   run of the same destination may have taken a paper first). It returns, per claimed run,
   the listed papers whose ledger rows went in and how many counted ones did.
2. outcomes: the outbox items of the runs with a payload, and "empty" for the others.

The payloads are built between the two, in a worker thread, from what the first returned:
only the ledger insert knows which papers are this run's.

Rows are inserted in key order (runs by (destination, slot), ledger rows by (destination,
paper)), as on the portable path, so concurrent sweepers never deadlock.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.delivery_plan import (
    Entry,
    Outcome,
    PayloadBuilder,
    Recorded,
    RunPlan,
    new_key,
    with_suggestions,
)
from bot.storage.kinds import OutboxStatus, RunStatus
from bot.storage.suggest_record import claim_suggestions

# For this transaction only (see record_batch).
_PLANNER = text(
    "SELECT set_config('plan_cache_mode', 'force_custom_plan', true), "
    "set_config('enable_seqscan', 'off', true)"
)

_CLAIM = text(
    """
WITH p AS (
    SELECT * FROM unnest(
        CAST(:p_dest AS bigint[]), CAST(:p_slot AS text[]), CAST(:p_kind AS text[]),
        CAST(:p_date AS date[]), CAST(:p_start AS timestamptz[]),
        CAST(:p_horizon AS timestamptz[]), CAST(:p_cap AS integer[])
    ) AS p(destination_id, slot, kind, local_date, window_start, horizon, cap)
),
c AS (
    SELECT * FROM unnest(
        CAST(:c_dest AS bigint[]), CAST(:c_slot AS text[]), CAST(:c_paper AS text[]),
        CAST(:c_rank AS integer[])
    ) AS c(destination_id, slot, paper_id, rank)
),
fresh AS (
    SELECT c.destination_id, c.slot, c.paper_id,
           row_number() OVER (PARTITION BY c.destination_id, c.slot ORDER BY c.rank) AS n
    FROM c
    WHERE NOT EXISTS (
        SELECT 1 FROM deliveries d
        WHERE d.destination_id = c.destination_id AND d.paper_id = c.paper_id
    )
),
counted AS (
    SELECT f.destination_id, f.slot,
           count(*) FILTER (WHERE f.n <= p.cap) AS listed,
           count(*) FILTER (WHERE f.n > p.cap) AS more
    FROM fresh f JOIN p USING (destination_id, slot)
    GROUP BY f.destination_id, f.slot
),
runs AS (
    INSERT INTO digest_runs (destination_id, slot, kind, local_date, window_start, horizon,
                             status, listed, more, created_at)
    SELECT p.destination_id, p.slot, p.kind, p.local_date, p.window_start, p.horizon,
           :queued, coalesce(k.listed, 0), coalesce(k.more, 0), CAST(:now AS timestamptz)
    FROM p LEFT JOIN counted k USING (destination_id, slot)
    ORDER BY p.destination_id, p.slot
    ON CONFLICT (destination_id, slot) DO NOTHING
    RETURNING id, destination_id, slot
),
ledger AS (
    INSERT INTO deliveries (destination_id, paper_id, run_id, listed, created_at)
    SELECT f.destination_id, f.paper_id, r.id, f.n <= p.cap, CAST(:now AS timestamptz)
    FROM fresh f
    JOIN runs r USING (destination_id, slot)
    JOIN p USING (destination_id, slot)
    ORDER BY f.destination_id, f.paper_id
    ON CONFLICT (destination_id, paper_id) DO NOTHING
    RETURNING run_id, paper_id, listed
)
SELECT r.id, r.destination_id, r.slot, l.listed, coalesce(l.more, 0)
FROM runs r
LEFT JOIN (
    SELECT run_id, array_agg(paper_id) FILTER (WHERE listed) AS listed,
           count(*) FILTER (WHERE NOT listed) AS more
    FROM ledger GROUP BY run_id
) l ON l.run_id = r.id
"""
)

_OUTCOMES = text(
    """
WITH emptied AS (
    UPDATE digest_runs SET status = :empty WHERE id = ANY(CAST(:empty_ids AS bigint[]))
)
INSERT INTO outbox (run_id, destination_id, platform, key, payload, status, attempts,
                    next_attempt_at, message_ids, created_at)
SELECT u.run_id, u.destination_id, u.platform, u.key, CAST(u.payload AS json), :pending, 0,
       CAST(:now AS timestamptz), CAST('[]' AS json), CAST(:now AS timestamptz)
FROM unnest(
    CAST(:o_run AS bigint[]), CAST(:o_dest AS bigint[]), CAST(:o_platform AS text[]),
    CAST(:o_key AS text[]), CAST(:o_payload AS text[])
) AS u(run_id, destination_id, platform, key, payload)
ORDER BY u.run_id
RETURNING run_id, id
"""
)


PayloadPlan = tuple[RunPlan, PayloadBuilder]


@dataclass(frozen=True)
class _Claimed:
    run_id: int
    plan: PayloadPlan
    listed: frozenset[str]  # the listed papers whose ledger rows this run inserted...
    more: int  # ...and how many counted ones


async def record_batch(
    s: AsyncSession, plans: Sequence[PayloadPlan], now: datetime
) -> list[Recorded | None]:
    """Claim and record one transaction's runs (None: the slot was taken), in `plans` order."""
    by_key = {p.key: (p, b) for p, b in plans}
    if len(by_key) < len(plans):
        raise ValueError("one run per (destination, slot) in a batch")
    params = await asyncio.to_thread(_claim_params, plans, now)
    # asyncpg prepares each statement once per connection, and from its sixth run PostgreSQL
    # may switch to a generic plan, made without the arrays' lengths: for the claim it chose
    # plans up to 18x slower (20,000 channels: ~10 s of recording became 190 s by the third
    # sweep of one process). Plan for the arrays at hand, every time (the planning is ~1 ms).
    # And probe the ledger through its key, never by scanning it: on a ledger that looked
    # empty when planned, a nested loop re-read the whole table per candidate while the
    # other transaction in flight filled it (16 s of server CPU instead of 1-3 s). Nothing
    # else in the two statements reads a table.
    await s.execute(_PLANNER)
    rows = (await s.execute(_CLAIM, params)).all()
    claimed = [
        _Claimed(rid, by_key[(d, slot)], frozenset(listed or ()), more)
        for rid, d, slot, listed, more in rows
    ]
    # Only runs that list papers get suggestions (rarely any: one more statement then).
    listing = [(c.run_id, c.plan[0]) for c in claimed if c.listed]
    suggestions = await claim_suggestions(s, listing, now)
    outcomes, params = await asyncio.to_thread(_outcome_params, claimed, suggestions, now)
    outbox_ids = {rid: oid for rid, oid in (await s.execute(_OUTCOMES, params)).all()}
    recorded = {
        o.plan.key: Recorded(
            o.run_id,
            RunStatus.QUEUED if o.payload is not None else RunStatus.EMPTY,
            len(o.listed),
            o.more,
            outbox_ids.get(o.run_id),
        )
        for o in outcomes
    }
    return [recorded.get(p.key) for p, _ in plans]


def _claim_params(plans: Sequence[PayloadPlan], now: datetime) -> dict[str, Any]:
    """The claim statement's arrays: one entry per run, one per (run, candidate)."""
    ordered = sorted((p for p, _ in plans), key=lambda p: p.key)
    c_dest: list[int] = []
    c_slot: list[str] = []
    c_paper: list[str] = []
    c_rank: list[int] = []
    for p in ordered:
        for n, (pid, _) in enumerate(p.ranked):
            c_dest.append(p.destination_id)
            c_slot.append(p.slot)
            c_paper.append(pid)
            c_rank.append(n)
    return {
        "p_dest": [p.destination_id for p in ordered],
        "p_slot": [p.slot for p in ordered],
        "p_kind": [str(p.kind) for p in ordered],
        "p_date": [p.local_date for p in ordered],
        "p_start": [p.window_start for p in ordered],
        "p_horizon": [p.horizon for p in ordered],
        "p_cap": [p.cap for p in ordered],
        "c_dest": c_dest,
        "c_slot": c_slot,
        "c_paper": c_paper,
        "c_rank": c_rank,
        "queued": str(RunStatus.QUEUED),
        "now": now,
    }


def _outcome_params(
    claimed: Sequence[_Claimed], suggestions: Mapping[int, Sequence[Entry]], now: datetime
) -> tuple[list[Outcome], dict[str, Any]]:
    """What each claimed run gets (as `settle` decides on the portable path), and the
    outcome statement's arrays.

    Runs in a worker thread: building and serialising 2,000 payloads is CPU work.
    """
    outcomes = []
    for c in sorted(claimed, key=lambda c: c.run_id):
        plan, build = c.plan
        listed: list[Entry] = [r for r in plan.ranked if r[0] in c.listed]
        payload = with_suggestions(build(listed, c.more), suggestions.get(c.run_id, ()))
        outcomes.append(Outcome(c.run_id, plan, listed, c.more, payload))
    queued = [o for o in outcomes if o.payload is not None]
    return outcomes, {
        "empty": str(RunStatus.EMPTY),
        "empty_ids": [o.run_id for o in outcomes if o.payload is None],
        "o_run": [o.run_id for o in queued],
        "o_dest": [o.plan.destination_id for o in queued],
        "o_platform": [o.plan.platform for o in queued],
        "o_key": [new_key() for _ in queued],
        "o_payload": [json.dumps(o.payload) for o in queued],
        "pending": str(OutboxStatus.PENDING),
        "now": now,
    }
