"""The "You may also like" papers of claimed runs: in the ledger, in the same transaction.

A suggestion is a delivery like any other: its ledger row (listed) goes in with the run that
shows it, so it is offered once, ever — not again by a later alert, not again when a retry
re-posts the stored payload (which already holds it), and not by a concurrent run of the
same destination (the ledger's key decides). The run's own counts (`listed`, `more`) leave
suggestions out: they count what the subscriptions matched.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.delivery_plan import Entry, RunPlan
from bot.storage.models import DeliveryRow
from bot.storage.papers_repo import _insert_for

MAX_SUGGESTIONS = 3


async def claim_suggestions(
    s: AsyncSession, claimed: Sequence[tuple[int, RunPlan]], now: datetime
) -> dict[int, list[Entry]]:
    """For each claimed run (run id, plan) that lists papers: its suggestions, by run id.

    Up to MAX_SUGGESTIONS of the plan's suggestions the destination never had, in the
    plan's order; none for a run that lists nothing (a suggestion never posts alone).
    """
    wanted = [(rid, plan) for rid, plan in claimed if plan.suggested]
    if not wanted:
        return {}
    dests = sorted({plan.destination_id for _, plan in wanted})
    papers = sorted({pid for _, plan in wanted for pid, _ in plan.suggested})
    had: set[tuple[int, str]] = set()
    rows = await s.execute(
        select(DeliveryRow.destination_id, DeliveryRow.paper_id).where(
            DeliveryRow.destination_id.in_(dests), DeliveryRow.paper_id.in_(papers)
        )
    )
    had.update((d, pid) for d, pid in rows.all())
    picked: dict[int, list[Entry]] = {}
    ledger = []
    for rid, plan in sorted(wanted, key=lambda w: w[1].key):
        d = plan.destination_id
        matched = {pid for pid, _ in plan.ranked}
        fresh = [e for e in plan.suggested if (d, e[0]) not in had and e[0] not in matched]
        picked[rid] = fresh[:MAX_SUGGESTIONS]
        ledger += [
            {"destination_id": d, "paper_id": pid, "run_id": rid, "listed": True, "created_at": now}
            for pid, _ in sorted(picked[rid])
        ]
    if not ledger:
        return {}
    t = DeliveryRow.__table__
    inserted = await s.execute(
        _insert_for(s)(t)
        .on_conflict_do_nothing(index_elements=["destination_id", "paper_id"])
        .returning(t.c.run_id, t.c.paper_id),
        ledger,
    )
    went = {(rid, pid) for rid, pid in inserted.all()}
    return {rid: [e for e in entries if (rid, e[0]) in went] for rid, entries in picked.items()}
