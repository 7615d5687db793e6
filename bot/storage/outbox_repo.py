"""The outbox: composed messages waiting to be sent, claimed by one process at a time.

The delivery sender takes items from here; commands and the status read what waits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import raiseload

from bot.port import Part
from bot.storage.db import rowcount
from bot.storage.kinds import OutboxStatus
from bot.storage.models import DestinationRow, OutboxRow


@dataclass(frozen=True)
class PostedParts:
    """How far an item got: the ids of its parts the platform accepted, in order."""

    item_id: int
    destination_id: int
    message_ids: Sequence[str]
    complete: bool  # every part is posted: the item is sent
    address: str | None = None  # a DM channel the adapter opened, to remember
    thread: str | None = None  # the thread later parts go into, once a part opened it


@dataclass(frozen=True)
class Claimed:
    item: OutboxRow
    destination: DestinationRow
    # Its parts were stored by an earlier claim, which may have posted the next part and
    # ended (a crash, a stop, a timeout) before recording it: that part may be out already.
    resumed: bool = False


# The claim's filter written as the predicate of its partial index (ix_outbox_claim,
# migration 0006): both planners use such an index only for a query that states the
# predicate itself, not through a bound parameter.
PENDING_LITERAL = text(f"outbox.status = '{OutboxStatus.PENDING.value}'")
# PostgreSQL, for the claim's transaction only: no sequential or bitmap scan and no sort.
# With the statistics of an empty outbox (never analysed since, autovacuum off) the planner
# otherwise reads every pending item through a bitmap scan and sorts them, so each claim
# costs the whole backlog; this way it reads ix_outbox_claim in its order and stops after
# `limit` qualifying entries, whatever the statistics say. One round trip (set_config is a
# function; SET cannot be sent as a prepared statement with others).
PIN_CLAIM_PLAN = text(
    "SELECT set_config('enable_seqscan', 'off', true), "
    "set_config('enable_bitmapscan', 'off', true), set_config('enable_sort', 'off', true)"
)


def claim_statement(
    owner: str, platforms: Sequence[str], now: datetime, lease: timedelta, limit: int
) -> Any:
    """The claim: mark the first `limit` due items this process's, returning them.

    It reads the partial index ix_outbox_claim in its order and stops after `limit`
    entries that qualify, so its cost does not grow with the items sent before.
    """
    disabled = select(DestinationRow.id).where(
        DestinationRow.id == OutboxRow.destination_id,
        DestinationRow.disabled_reason.is_not(None),
    )
    due = and_(
        PENDING_LITERAL,
        OutboxRow.next_attempt_at <= now,
        OutboxRow.platform.in_(list(platforms)),
        or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < now),
        # Per candidate, a primary-key probe: an IN over every enabled destination
        # would read them all on each claim.
        ~disabled.exists(),
    )
    pick = (
        select(OutboxRow.id)
        .where(due)
        .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=OutboxRow)
    )
    # One statement: PostgreSQL locks the picked rows (other processes skip them); SQLite
    # runs it under its single writer lock, so no two workers can take the same item.
    return (
        update(OutboxRow)
        .where(OutboxRow.id.in_(pick.scalar_subquery()))
        .values(claimed_by=owner, claimed_until=now + lease)
        .returning(OutboxRow)
        .execution_options(synchronize_session=False)
    )


class OutboxRepo:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions

    async def claim(
        self, owner: str, platforms: Sequence[str], now: datetime, lease: timedelta, limit: int
    ) -> list[Claimed]:
        """Take up to `limit` due items for this process; other processes skip them."""
        claim = claim_statement(owner, platforms, now, lease, limit)
        async with self._sessions.begin() as s:
            if s.get_bind().dialect.name == "postgresql":
                await s.execute(PIN_CLAIM_PLAN)
            items = list((await s.scalars(claim)).all())
            if not items:
                return []
            stmt = (
                select(DestinationRow)
                .where(DestinationRow.id.in_({i.destination_id for i in items}))
                .options(raiseload(DestinationRow.subscriptions))
            )
            dests = {d.id: d for d in (await s.scalars(stmt)).all()}
        ordered = sorted(items, key=lambda i: (i.next_attempt_at, i.id))
        return [Claimed(i, dests[i.destination_id], i.parts is not None) for i in ordered]

    async def renew(self, item_id: int, owner: str, now: datetime, lease: timedelta) -> bool:
        """Extend this process's claim on an item; False if the claim was lost meanwhile."""
        async with self._sessions.begin() as s:
            result = await s.execute(
                update(OutboxRow)
                .where(
                    OutboxRow.id == item_id,
                    OutboxRow.status == OutboxStatus.PENDING,
                    OutboxRow.claimed_by == owner,
                )
                .values(claimed_until=now + lease)
            )
            return bool(rowcount(result))

    async def heartbeat(self, owner: str, now: datetime, lease: timedelta) -> int:
        """Extend every claim this process holds; the number of items still held."""
        async with self._sessions.begin() as s:
            result = await s.execute(
                update(OutboxRow)
                .where(OutboxRow.claimed_by == owner, OutboxRow.status == OutboxStatus.PENDING)
                .values(claimed_until=now + lease)
            )
            return rowcount(result)

    async def freeze(self, item_id: int, owner: str, parts: Sequence[Part]) -> bool:
        """Store the parts of an item before its first post; False if the claim was lost.

        Only the first render is kept: a retry posts what was decided then, whatever
        changed in the papers since.
        """
        return item_id in await self.freeze_many(owner, {item_id: parts})

    async def record_posted(self, posted: PostedParts, now: datetime) -> None:
        """Record the parts the platform accepted so far, the moment it accepted the last.

        When every part is posted, the item is sent. A crash after this statement repeats
        nothing; a crash before it repeats only the part in flight.
        """
        values: dict[str, object] = {"message_ids": list(posted.message_ids)}
        if posted.thread is not None:
            # In the same statement as the part that opened it: no retry can miss it.
            values["thread"] = posted.thread
        if posted.complete:
            values.update(
                status=OutboxStatus.SENT,
                sent_at=now,
                claimed_by=None,
                claimed_until=None,
                last_error=None,
            )
        async with self._sessions.begin() as s:
            await s.execute(update(OutboxRow).where(OutboxRow.id == posted.item_id).values(values))
            if posted.address:
                await s.execute(
                    update(DestinationRow)
                    .where(DestinationRow.id == posted.destination_id)
                    .values(address=posted.address)
                )

    async def mark_retry(
        self,
        item_id: int,
        error: str,
        next_at: datetime,
        *,
        give_up: bool = False,
        count: bool = True,
    ) -> None:
        """Put an item back for a later try (or give it up), with the error status shows."""
        async with self._sessions.begin() as s:
            await s.execute(
                update(OutboxRow)
                .where(OutboxRow.id == item_id, OutboxRow.status == OutboxStatus.PENDING)
                .values(
                    status=OutboxStatus.FAILED if give_up else OutboxStatus.PENDING,
                    attempts=OutboxRow.attempts + (1 if count else 0),
                    next_attempt_at=next_at,
                    last_error=error[:500],
                    claimed_by=None,
                    claimed_until=None,
                )
            )

    async def disable(self, item_id: int, destination_id: int, reason: str, now: datetime) -> None:
        """Disable a destination after a permanent failure; its item waits for re-enabling."""
        async with self._sessions.begin() as s:
            await s.execute(
                update(OutboxRow)
                .where(OutboxRow.id == item_id)
                .values(
                    attempts=OutboxRow.attempts + 1,
                    last_error=reason[:500],
                    claimed_by=None,
                    claimed_until=None,
                )
            )
            await s.execute(
                update(DestinationRow)
                .where(DestinationRow.id == destination_id)
                .values(disabled_reason=reason[:500], disabled_at=now)
            )

    async def defer(self, item_id: int, next_at: datetime) -> None:
        """Hand an item back untried until `next_at` (its turn under a rate limit)."""
        async with self._sessions.begin() as s:
            await s.execute(
                update(OutboxRow)
                .where(OutboxRow.id == item_id, OutboxRow.status == OutboxStatus.PENDING)
                .values(next_attempt_at=next_at, claimed_by=None, claimed_until=None)
            )

    async def release(self, item_ids: Iterable[int]) -> None:
        ids = list(item_ids)
        if not ids:
            return
        async with self._sessions.begin() as s:
            await s.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_(ids), OutboxRow.status == OutboxStatus.PENDING)
                .values(claimed_by=None, claimed_until=None)
            )

    async def release_all(self) -> int:
        """Free every claim: only safe when this is the only process (SQLite)."""
        async with self._sessions.begin() as s:
            result = await s.execute(
                update(OutboxRow)
                .where(OutboxRow.status == OutboxStatus.PENDING, OutboxRow.claimed_by.is_not(None))
                .values(claimed_by=None, claimed_until=None)
            )
            return rowcount(result)

    async def retry_now(self, destination_id: int, now: datetime) -> int:
        """Make a destination's waiting items due at once, given-up ones with a fresh budget.

        Called when someone there runs a digest or alerts command: re-enabling after a
        permanent failure, or asking again after transient failures ran out of retries.
        """
        async with self._sessions.begin() as s:
            result = await s.execute(
                update(OutboxRow)
                .where(
                    OutboxRow.destination_id == destination_id,
                    OutboxRow.status.in_([OutboxStatus.PENDING, OutboxStatus.FAILED]),
                )
                .values(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now)
            )
            return rowcount(result)

    async def last_sent(self, destination_id: int) -> OutboxRow | None:
        stmt = (
            select(OutboxRow)
            .where(
                OutboxRow.destination_id == destination_id, OutboxRow.status == OutboxStatus.SENT
            )
            .order_by(OutboxRow.sent_at.desc())
            .limit(1)
        )
        async with self._sessions() as s:
            return await s.scalar(stmt)

    async def waiting(self, destination_id: int) -> list[OutboxRow]:
        """Items not sent yet (pending or failed), oldest first."""
        stmt = (
            select(OutboxRow)
            .where(
                OutboxRow.destination_id == destination_id,
                OutboxRow.status.in_([OutboxStatus.PENDING, OutboxStatus.FAILED]),
            )
            .order_by(OutboxRow.id)
        )
        async with self._sessions() as s:
            return list((await s.scalars(stmt)).all())

    async def counts(self) -> dict[str, int]:
        """Outbox items by status (for tests, benchmarks and logs)."""
        stmt = select(OutboxRow.status, func.count()).group_by(OutboxRow.status)
        async with self._sessions() as s:
            return {k: int(v) for k, v in (await s.execute(stmt)).all()}

    async def waiting_on_errors(self) -> int:
        """Items not sent yet because sending them failed (pending, with an error)."""
        stmt = (
            select(func.count())
            .select_from(OutboxRow)
            .where(OutboxRow.status == OutboxStatus.PENDING, OutboxRow.last_error.is_not(None))
        )
        async with self._sessions() as s:
            return int(await s.scalar(stmt) or 0)

    async def freeze_many(self, owner: str, parts: Mapping[int, Sequence[Part]]) -> set[int]:
        """`freeze` for a batch of items in one transaction; the ids whose parts were stored.

        An id missing from the result was taken over (or frozen) meanwhile: skip it.
        """
        stored: set[int] = set()
        if not parts:
            return stored
        async with self._sessions.begin() as s:
            for item_id, item_parts in parts.items():
                result = await s.execute(
                    update(OutboxRow)
                    .where(
                        OutboxRow.id == item_id,
                        OutboxRow.claimed_by == owner,
                        OutboxRow.status == OutboxStatus.PENDING,
                        OutboxRow.parts.is_(None),
                    )
                    .values(parts=[dict(p) for p in item_parts])
                )
                if rowcount(result):
                    stored.add(item_id)
        return stored
