"""What each destination of a sweep gets: the pure planning between the database steps.

`DeliveryRepo.record_many` reads the ledger, then these functions decide, without I/O, which
papers each run lists, how many more it counts and what payload goes to the outbox.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.storage.kinds import OutboxStatus, RunKind, RunStatus

Entry = tuple[str, tuple[str, ...]]  # (paper id, reasons it matched)

# (listed entries, how many more matched) -> the outbox payload, or None to post nothing.
PayloadBuilder = Callable[[list[Entry], int], "dict[str, Any] | None"]


@dataclass(frozen=True)
class RunPlan:
    """What one run would record: a slot of a destination and its ranked candidates."""

    destination_id: int
    platform: str
    slot: str
    kind: RunKind
    local_date: date | None
    window_start: datetime
    horizon: datetime
    cap: int
    ranked: Sequence[Entry]  # best first
    # Papers outside the subscriptions to add as "You may also like" (personal alerts),
    # best first; bot.storage.suggest_record takes the few the destination never had.
    suggested: Sequence[Entry] = ()

    @property
    def key(self) -> tuple[int, str]:
        return (self.destination_id, self.slot)


@dataclass(frozen=True)
class Recorded:
    run_id: int
    status: RunStatus
    listed: int
    more: int
    outbox_id: int | None


@dataclass(frozen=True)
class Picked:
    """A run's papers before the ledger has its say: listed (up to the cap) and beyond it."""

    plan: RunPlan
    build: PayloadBuilder
    listed: list[Entry]
    more: list[Entry]


@dataclass(frozen=True)
class Outcome:
    """What a claimed run gets: the papers it lists, how many more, and its payload."""

    run_id: int
    plan: RunPlan
    listed: list[Entry]
    more: int
    payload: dict[str, Any] | None  # None: nothing to post, the run is empty


def new_key() -> str:
    """A fresh idempotency key: short enough for a Discord nonce (25 characters)."""
    return "pb" + secrets.token_hex(10)


def pick(
    plans: Sequence[tuple[RunPlan, PayloadBuilder]], delivered: Mapping[int, Set[str]]
) -> list[Picked]:
    """Drop what each destination had already and cut at its cap, in key order."""
    picked = []
    # Rows are inserted in key order, so concurrent processes never deadlock.
    for plan, build in sorted(plans, key=lambda pb: pb[0].key):
        seen = delivered.get(plan.destination_id, set())
        fresh = [r for r in plan.ranked if r[0] not in seen]
        picked.append(Picked(plan, build, fresh[: plan.cap], fresh[plan.cap :]))
    return picked


def run_row(p: Picked, now: datetime) -> dict[str, Any]:
    """The digest run that claims the slot (the claim is the insert)."""
    plan = p.plan
    return {
        "destination_id": plan.destination_id,
        "slot": plan.slot,
        "kind": plan.kind,
        "local_date": plan.local_date,
        "window_start": plan.window_start,
        "horizon": plan.horizon,
        "status": RunStatus.QUEUED,
        "listed": len(p.listed),
        "more": len(p.more),
        "created_at": now,
    }


def ledger_rows(mine: Sequence[tuple[int, Picked]], now: datetime) -> list[dict[str, Any]]:
    """The ledger rows of the claimed runs: every paper listed, or counted as "more"."""
    return [
        {
            "destination_id": p.plan.destination_id,
            "paper_id": pid,
            "run_id": rid,
            "listed": shown,
            "created_at": now,
        }
        for rid, p in mine
        for pid, shown in sorted(
            [(pid, True) for pid, _ in p.listed] + [(pid, False) for pid, _ in p.more]
        )
    ]


def with_suggestions(
    payload: dict[str, Any] | None, suggested: Sequence[Entry]
) -> dict[str, Any] | None:
    """The payload with its "You may also like" entries (only beside papers it lists)."""
    if payload is None or not suggested or not payload.get("items"):
        return payload
    entries = [{"paper_id": pid, "reasons": list(why)} for pid, why in suggested]
    return {**payload, "suggestions": entries}


def settle(
    mine: Sequence[tuple[int, Picked]],
    inserted: Set[tuple[int, str]],
    suggestions: Mapping[int, Sequence[Entry]] | None = None,
) -> list[Outcome]:
    """What each claimed run gets, given the ledger rows that went in (`inserted`).

    The payload is built here, inside the transaction, because only the ledger insert knows
    which papers a concurrent run of the same destination (digest now) took first.
    """
    out = []
    for rid, p in mine:
        d = p.plan.destination_id
        listed = [r for r in p.listed if (d, r[0]) in inserted]
        more = sum(1 for r in p.more if (d, r[0]) in inserted)
        payload = with_suggestions(p.build(listed, more), (suggestions or {}).get(rid, ()))
        out.append(Outcome(rid, p.plan, listed, more, payload))
    return out


def outbox_row(o: Outcome, now: datetime) -> dict[str, Any]:
    """The outbox item of a run with something to post."""
    return {
        "run_id": o.run_id,
        "destination_id": o.plan.destination_id,
        "platform": o.plan.platform,
        "key": new_key(),
        "payload": o.payload,
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "message_ids": [],
        "created_at": now,
    }
