"""Subscriptions: saved queries of a channel or of one user's DMs."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import joinedload

from bot.query import QueryError, parse_query
from bot.query.stored import dump
from bot.storage.db import rowcount
from bot.storage.destinations_repo import USER, look_now_values
from bot.storage.models import DestinationRow, SubscriptionRow
from bot.storage.papers_repo import _insert_for


class DuplicateSubscriptionError(Exception):
    """The destination already has a subscription with the same canonical query."""

    def __init__(self, existing_id: int) -> None:
        super().__init__(f"duplicate of subscription {existing_id}")
        self.existing_id = existing_id


class SubscriptionLimitError(Exception):
    """The destination already holds as many subscriptions as it may."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"limit of {limit} subscriptions reached")
        self.limit = limit


class SubscriptionRepo:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions

    async def any_trending(self) -> bool:
        """Whether any destination has a trending subscription."""
        async with self._sessions() as s:
            stmt = select(SubscriptionRow.id).where(SubscriptionRow.when_crossed.is_(True))
            return (await s.scalar(stmt.limit(1))) is not None

    async def trending_destinations(self) -> list[DestinationRow]:
        """Destinations with a trending (`--when-crossed`) subscription, with all of theirs.

        Few per deployment; a poll reads them all.
        """
        with_trending = select(SubscriptionRow.destination_id).where(
            SubscriptionRow.when_crossed.is_(True)
        )
        stmt = select(DestinationRow).where(DestinationRow.id.in_(with_trending))
        async with self._sessions() as s:
            return list((await s.scalars(stmt.order_by(DestinationRow.id))).all())

    async def add(
        self,
        destination_id: int,
        query: str,
        canonical: str,
        *,
        created_by: str | None,
        limit: int,
        now: datetime | None = None,
        when_crossed: bool = False,
    ) -> SubscriptionRow:
        """Save a subscription; raise DuplicateSubscriptionError or SubscriptionLimitError."""
        now = now or datetime.now(UTC)
        async with self._sessions.begin() as s:
            # Locking the destination row serialises concurrent adds to it on PostgreSQL, so
            # the limit holds under races; SQLite serialises writers anyway.
            if await s.get(DestinationRow, destination_id, with_for_update=True) is None:
                raise LookupError(f"destination {destination_id} is gone")
            existing = await self._find(s, destination_id, canonical)
            if existing is not None:
                raise DuplicateSubscriptionError(existing.id)
            if await self._count(s, destination_id) >= limit:
                raise SubscriptionLimitError(limit)
            insert = _insert_for(s)
            new_id = await s.scalar(
                insert(SubscriptionRow)
                .values(
                    destination_id=destination_id,
                    query=query,
                    canonical=canonical,
                    parsed=_parsed(query),
                    when_crossed=when_crossed,
                    created_by=created_by,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["destination_id", "canonical"])
                .returning(SubscriptionRow.id)
            )
            if new_id is not None:
                await _changed(s, destination_id)
        if new_id is None:  # another request saved the same query in between
            raced = await self.find_by_canonical(destination_id, canonical)
            raise DuplicateSubscriptionError(raced.id if raced else 0)
        row = await self.get(new_id)
        assert row is not None
        return row

    async def add_many(
        self,
        destination_id: int,
        items: list[tuple[str, str]],
        *,
        created_by: str | None,
        limit: int,
        now: datetime,
        crossed: Collection[int] = (),
    ) -> SubscriptionBatch:
        """Save (query, canonical) items in one transaction (see `add_many`)."""
        return await add_many(
            self._sessions,
            destination_id,
            items,
            created_by=created_by,
            limit=limit,
            now=now,
            crossed=crossed,
        )

    async def remove(self, subscription_id: int, destination_id: int) -> bool:
        """Delete a subscription of this destination; False when there is none."""
        async with self._sessions.begin() as s:
            result = await s.execute(
                delete(SubscriptionRow).where(
                    SubscriptionRow.id == subscription_id,
                    SubscriptionRow.destination_id == destination_id,
                )
            )
            removed = bool(rowcount(result))
            if removed:
                await _changed(s, destination_id)
            return removed

    async def get(self, subscription_id: int) -> SubscriptionRow | None:
        async with self._sessions() as s:
            return await s.get(SubscriptionRow, subscription_id)

    async def list_for(self, destination_id: int) -> list[SubscriptionRow]:
        """Subscriptions of one destination, oldest first."""
        async with self._sessions() as s:
            stmt = (
                select(SubscriptionRow)
                .where(SubscriptionRow.destination_id == destination_id)
                .order_by(SubscriptionRow.id)
            )
            return list((await s.scalars(stmt)).all())

    async def count_for(self, destination_id: int) -> int:
        async with self._sessions() as s:
            return await self._count(s, destination_id)

    async def count_personal(self, platform: str, user_id: str) -> int:
        """How many subscriptions a user holds for their own DMs."""
        async with self._sessions() as s:
            stmt = (
                select(func.count())
                .select_from(SubscriptionRow)
                .join(DestinationRow)
                .where(
                    DestinationRow.platform == platform,
                    DestinationRow.kind == USER,
                    DestinationRow.external_id == user_id,
                )
            )
            return int(await s.scalar(stmt) or 0)

    async def find_by_canonical(
        self, destination_id: int, canonical: str
    ) -> SubscriptionRow | None:
        async with self._sessions() as s:
            return await self._find(s, destination_id, canonical)

    async def all_active(self) -> list[SubscriptionRow]:
        """Subscriptions of destinations neither paused nor disabled, with `.destination` loaded."""
        async with self._sessions() as s:
            stmt = (
                select(SubscriptionRow)
                .join(DestinationRow)
                .where(DestinationRow.paused.is_(False), DestinationRow.disabled_reason.is_(None))
                .options(joinedload(SubscriptionRow.destination))
                .order_by(SubscriptionRow.id)
            )
            return list((await s.scalars(stmt)).unique().all())

    @staticmethod
    async def _find(s: AsyncSession, destination_id: int, canonical: str) -> SubscriptionRow | None:
        return await s.scalar(
            select(SubscriptionRow).where(
                SubscriptionRow.destination_id == destination_id,
                SubscriptionRow.canonical == canonical,
            )
        )

    @staticmethod
    async def _count(s: AsyncSession, destination_id: int) -> int:
        stmt = (
            select(func.count())
            .select_from(SubscriptionRow)
            .where(SubscriptionRow.destination_id == destination_id)
        )
        return int(await s.scalar(stmt) or 0)


async def _changed(s: AsyncSession, destination_id: int) -> None:
    """The destination's subscriptions changed: the next sweep looks at it again."""
    await s.execute(
        update(DestinationRow).where(DestinationRow.id == destination_id).values(look_now_values())
    )


def _parsed(query: str) -> dict[str, Any] | None:
    """The stored parsed form of a query (None if it does not parse: the sweep logs it)."""
    try:
        return dump(parse_query(query))
    except QueryError:
        return None


class SubscriptionBatch:
    """What one `add_many` did: the rows it added, and which items were duplicates of what."""

    def __init__(self) -> None:
        self.added: list[SubscriptionRow] = []
        self.duplicates: list[tuple[int, int]] = []  # (item index, existing subscription id)


async def add_many(
    sessions: async_sessionmaker[AsyncSession],
    destination_id: int,
    items: list[tuple[str, str]],
    *,
    created_by: str | None,
    limit: int,
    now: datetime,
    crossed: Collection[int] = (),
) -> SubscriptionBatch:
    """Save (query, canonical) items in ONE transaction: all new ones, or none.

    The items whose index is in `crossed` are trending (`--when-crossed`) subscriptions.

    Items whose canonical query the destination already holds (or an earlier item of the
    batch) are duplicates, not errors. When the new ones would pass `limit`, nothing is saved
    and SubscriptionLimitError says so; any other failure rolls the whole batch back too.
    """
    batch = SubscriptionBatch()
    async with sessions.begin() as s:
        # The same lock as `add`: concurrent adds to this destination wait for the batch.
        if await s.get(DestinationRow, destination_id, with_for_update=True) is None:
            raise LookupError(f"destination {destination_id} is gone")
        rows = await s.execute(
            select(SubscriptionRow.canonical, SubscriptionRow.id).where(
                SubscriptionRow.destination_id == destination_id
            )
        )
        held: dict[str, int] = {canonical: sid for canonical, sid in rows.all()}
        fresh: list[tuple[int, str, str]] = []
        pending: dict[str, int] = {}  # canonical -> index of the batch item that brings it
        for index, (query, canonical) in enumerate(items):
            if canonical in held:
                batch.duplicates.append((index, held[canonical]))
            elif canonical in pending:
                batch.duplicates.append((index, -1 - pending[canonical]))
            else:
                pending[canonical] = index
                fresh.append((index, query, canonical))
        if fresh and len(held) + len(fresh) > limit:
            raise SubscriptionLimitError(limit)
        insert = _insert_for(s)
        ids: dict[int, int] = {}
        for index, query, canonical in fresh:
            new_id = await s.scalar(
                insert(SubscriptionRow)
                .values(
                    destination_id=destination_id,
                    query=query,
                    canonical=canonical,
                    parsed=_parsed(query),
                    when_crossed=index in crossed,
                    created_by=created_by,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["destination_id", "canonical"])
                .returning(SubscriptionRow.id)
            )
            if new_id is None:  # saved by a concurrent add on SQLite: a duplicate after all
                raced = await SubscriptionRepo._find(s, destination_id, canonical)
                batch.duplicates.append((index, raced.id if raced else 0))
            else:
                ids[index] = new_id
        if ids:
            await _changed(s, destination_id)
    # A duplicate of an earlier item of the batch names that item's new id.
    batch.duplicates = sorted(
        (i, ids.get(-1 - sid, 0) if sid < 0 else sid) for i, sid in batch.duplicates
    )
    async with sessions() as s:
        found = await s.scalars(select(SubscriptionRow).where(SubscriptionRow.id.in_(ids.values())))
        batch.added = sorted(found.all(), key=lambda r: r.id)
    return batch
