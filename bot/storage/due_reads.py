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

from sqlalchemy import ColumnElement, Table, bindparam, func, select, text, tuple_, update
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
    when_crossed: bool = False  # a trending subscription: not matched by digests


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
    digest_weekday: int | None  # weekly cadence: the weekday; None: daily
    paused: bool
    alerts_mode: str
    threads: bool  # `digest threads on`: papers go in a thread under the header
    muted_until: datetime | None
    quiet_start: str | None
    quiet_end: str | None
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
        async with self._sessions.begin() as s:
            if s.get_bind().dialect.name == "postgresql":
                ordered = sorted(looks, key=lambda look: look.destination_id)
                params = {
                    "ids": [look.destination_id for look in ordered],
                    "versions": [look.version for look in ordered],
                    "nexts": [look.next_due_at for look in ordered],
                    "marks": [look.alert_mark for look in ordered],
                }
                return rowcount(await s.execute(_RESCHEDULE, params))
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
            return rowcount(await s.execute(stmt, rows))


# PostgreSQL: one statement of arrays instead of one UPDATE per destination (10,000 took a
# second). The rows are locked in id order first, as the row-by-row form does, so two
# sweepers rescheduling the same destinations never deadlock; a row changed meanwhile
# (`due_version` moved on) is re-checked against its new version and left alone.
_RESCHEDULE = text(
    """
WITH locked AS (
    SELECT id FROM destinations WHERE id = ANY(CAST(:ids AS bigint[])) ORDER BY id FOR UPDATE
)
UPDATE destinations d SET next_due_at = u.next_due_at, alert_mark = u.alert_mark
FROM unnest(
    CAST(:ids AS bigint[]), CAST(:versions AS integer[]), CAST(:nexts AS timestamptz[]),
    CAST(:marks AS timestamptz[])
) AS u(id, version, next_due_at, alert_mark)
WHERE d.id = u.id AND d.due_version = u.version AND d.id IN (SELECT id FROM locked)
"""
)


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
            select(
                sub.c.destination_id, sub.c.query, sub.c.canonical, sub.c.parsed, sub.c.when_crossed
            )
            .where(sub.c.destination_id.in_(page))
            .order_by(sub.c.destination_id, sub.c.id)
        )
        for dest, query, canonical, parsed, crossed in (await s.execute(stmt)).all():
            subs.setdefault(dest, []).append(DueSubscription(query, canonical, parsed, crossed))
        stmt = select(*(d.c[name] for name in _DUE_COLUMNS)).where(d.c.id.in_(page))
        for row in (await s.execute(stmt.order_by(d.c.id))).all():
            values = dict(zip(_DUE_COLUMNS, row, strict=True))
            out.append(DueDestination(**values, subscriptions=tuple(subs.get(row.id, ()))))
    return out
