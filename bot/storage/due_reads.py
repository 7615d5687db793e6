"""What the sweep reads and writes to select only the destinations that are due.

Each destination stores when the sweep is to look at it next (`next_due_at`) and, for
instant alerts, where its last alert ended (`alert_mark`); both are indexed with the id, and
read in index order a page at a time, so a sweep costs what is due, not what is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.db import rowcount
from bot.storage.models import DestinationRow, PaperFeature, SubscriptionRow

# Destinations read per query, with their subscriptions: at up to 100 subscriptions each,
# a page is at most 25,000 small rows for the loop to copy between two awaits.
_PAGE = 250
_ID_PAGE = 1_000  # due ids read per query, in index order


@dataclass(frozen=True, slots=True)
class DueSubscription:
    """What the sweep reads of a subscription."""

    query: str  # as typed
    canonical: str
    parsed: dict[str, Any] | None  # the stored parsed form (bot.query.stored)


@dataclass(slots=True)
class DueDestination:
    """A destination as the sweep reads it: plain data copied out of Core rows.

    Not an ORM row: building 10,000 `DestinationRow`s with their subscriptions took seconds
    (identity map, instrumented collections, and the garbage collector walking them all),
    a plain copy a tenth of that; and a worker thread may read it. The attribute names are
    the row's, so the planning reads either. Not frozen: the sweep clears `muted_until`
    once it has recorded a mute's catch-up, as it does on a row.
    """

    id: int
    platform: str
    kind: str
    timezone: str
    digest_time: str
    digest_max: int
    min_upvotes: int
    weekdays_only: bool
    paused: bool
    alerts_mode: str
    muted_until: datetime | None
    disabled_reason: str | None
    created_at: datetime
    schedule_since: datetime | None
    due_version: int
    subscriptions: tuple[DueSubscription, ...]


# What the sweep plans with: the plain copy it reads, or a row (`digest now`, a preview).
Destination = DestinationRow | DueDestination
_DUE_COLUMNS = [f.name for f in fields(DueDestination) if f.name != "subscriptions"]


@dataclass(frozen=True)
class NextLook:
    """When the sweep is to look at a destination again, as it computed it."""

    destination_id: int
    version: int  # the destination's `due_version` when the sweep read it
    next_due_at: datetime
    alert_mark: datetime | None


class DueReads:
    """The due-time half of `DeliveryRepo` (which inherits it)."""

    _sessions: async_sessionmaker[AsyncSession]

    async def due_destinations(
        self, now: datetime, horizon: datetime, *, alerts: bool
    ) -> tuple[list[DueDestination], datetime | None]:
        """Destinations the sweep must look at now, with their subscriptions; and when the
        latest paper up to `horizon` was first seen.

        Those whose next look (`next_due_at`) has come, and, with `alerts`, those whose
        instant alerts stop before that latest paper. Each is an index range read in index
        order, so the cost is what is due, never the number of destinations. One session:
        an idle sweep is a few round trips.
        """
        async with self._sessions() as s:
            latest = await s.scalar(latest_seen_statement(horizon))
            ids = set(await _ids_in_order(s, DestinationRow.next_due_at, now, strict=False))
            if alerts and latest is not None:
                mark = DestinationRow.alert_mark
                ids.update(await _ids_in_order(s, mark, latest, strict=True))
            return await _with_subscriptions(s, sorted(ids)), latest

    async def reschedule(self, looks: Sequence[NextLook]) -> int:
        """Store when each destination is to be looked at next; the number stored.

        A destination changed since the sweep read it (`due_version` moved on) keeps its
        "look now": what was computed from the old settings may come too late.
        """
        if not looks:
            return 0
        d = cast(Table, DestinationRow.__table__)
        stmt = (
            update(d)
            .where(d.c.id == bindparam("b_id"), d.c.due_version == bindparam("b_version"))
            .values(next_due_at=bindparam("b_next"), alert_mark=bindparam("b_mark"))
        )
        rows = [
            {
                "b_id": look.destination_id,
                "b_version": look.version,
                "b_next": look.next_due_at,
                "b_mark": look.alert_mark,
            }
            for look in looks
        ]
        async with self._sessions.begin() as s:
            result = await s.execute(stmt, rows)
        return rowcount(result)


def latest_seen_statement(end: datetime) -> Any:
    return select(func.max(PaperFeature.seen_at)).where(PaperFeature.seen_at <= end)


async def _ids_in_order(
    s: AsyncSession, column: Any, bound: datetime, *, strict: bool
) -> list[int]:
    """Ids of destinations whose `column` is before `bound` (or at it), a page at a time.

    Ordered and limited like the index (column, id), so the planner reads the index from
    its start even when stale statistics claim every row qualifies.
    """
    d = DestinationRow
    cond: ColumnElement[bool] = column < bound if strict else column <= bound
    out: list[int] = []
    after: tuple[datetime, int] | None = None
    while True:
        stmt = select(column, d.id).where(cond).order_by(column, d.id).limit(_ID_PAGE)
        if after is not None:
            stmt = stmt.where(tuple_(column, d.id) > tuple_(*after))
        page = (await s.execute(stmt)).all()
        out.extend(i for _, i in page)
        if len(page) < _ID_PAGE:
            return out
        after = (page[-1][0], page[-1][1])


async def _with_subscriptions(s: AsyncSession, ids: list[int]) -> list[DueDestination]:
    """The destinations of `ids` with their subscriptions, a page at a time, in id order."""
    d = cast(Table, DestinationRow.__table__)
    sub = cast(Table, SubscriptionRow.__table__)
    out: list[DueDestination] = []
    for i in range(0, len(ids), _PAGE):
        page = ids[i : i + _PAGE]
        # Core rows, typed by the tables (UTC datetimes, JSON): no ORM objects to build.
        subs: dict[int, list[DueSubscription]] = {}
        stmt = (
            select(sub.c.destination_id, sub.c.query, sub.c.canonical, sub.c.parsed)
            .where(sub.c.destination_id.in_(page))
            .order_by(sub.c.destination_id, sub.c.id)
        )
        for dest, query, canonical, parsed in (await s.execute(stmt)).all():
            subs.setdefault(dest, []).append(DueSubscription(query, canonical, parsed))
        stmt = select(*(d.c[name] for name in _DUE_COLUMNS)).where(d.c.id.in_(page))
        for row in (await s.execute(stmt.order_by(d.c.id))).all():
            values = dict(zip(_DUE_COLUMNS, row, strict=True))
            out.append(DueDestination(**values, subscriptions=tuple(subs.get(row.id, ()))))
    return out
