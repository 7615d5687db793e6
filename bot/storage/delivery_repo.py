"""Digest runs and the delivery ledger, recorded with their outbox items in one transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import (
    Table,
    and_,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.storage.bulk_record import record_batch
from bot.storage.db import rowcount
from bot.storage.delivery_plan import (
    Outcome,
    PayloadBuilder,
    Picked,
    Recorded,
    RunPlan,
    ledger_rows,
    outbox_row,
    pick,
    run_row,
    settle,
)
from bot.storage.due_reads import DueReads, latest_seen_statement
from bot.storage.kinds import OutboxStatus, RunKind, RunStatus
from bot.storage.models import (
    DeliveryRow,
    DestinationRow,
    DigestRunRow,
    OutboxRow,
    PaperFeature,
)
from bot.storage.papers_repo import _insert_for
from bot.storage.suggest_record import claim_suggestions

_CHUNK = 500
# Runs (and about as many ledger rows) per transaction. Row by row, SQLAlchemy prepares each
# row of a bulk insert on the event loop (10-40 us each): 200 digests of 150 matches would
# hold it for a second. In bulk (PostgreSQL) the rows are arrays built in a thread, and
# larger transactions mean fewer round trips; they also hold their claims longer, which
# concurrent sweepers (starting at different places) rarely wait on.
_ROW_LIMITS = (200, 1_000)
_BULK_LIMITS = (2_000, 20_000)
_BULK_AHEAD = 2  # bulk transactions in flight at once
_PAGE = 100  # destinations loaded per query, with their subscriptions


class DeliveryRepo(DueReads):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions

    # --- reading what the sweep needs -------------------------------------------------------

    async def active_destinations(self) -> list[DestinationRow]:
        """Destinations that may get posts: not paused, not disabled, with subscriptions."""
        stmt = (
            select(DestinationRow)
            .where(DestinationRow.paused.is_(False), DestinationRow.disabled_reason.is_(None))
            .options(selectinload(DestinationRow.subscriptions))
            .order_by(DestinationRow.id)
            .limit(_PAGE)
        )
        rows: list[DestinationRow] = []
        async with self._sessions() as s:
            # A page at a time: the ORM builds each page's rows on the event loop between
            # two awaits, and 20,000 subscriptions at once held it ~100 ms.
            while True:
                after = stmt.where(DestinationRow.id > rows[-1].id) if rows else stmt
                page = (await s.scalars(after)).all()
                rows.extend(page)
                if len(page) < _PAGE:
                    break
        return [r for r in rows if r.subscriptions]

    async def last_horizons(self, destination_ids: Iterable[int]) -> dict[int, datetime]:
        """Where each destination's previous run ended (skipped runs do not count, nor
        trending posts: they look at the last week whatever a digest's window is)."""
        ids = sorted(set(destination_ids))
        out: dict[int, datetime] = {}
        async with self._sessions() as s:
            for i in range(0, len(ids), _CHUNK):
                stmt = (
                    select(DigestRunRow.destination_id, func.max(DigestRunRow.horizon))
                    .where(
                        DigestRunRow.destination_id.in_(ids[i : i + _CHUNK]),
                        DigestRunRow.status != RunStatus.SKIPPED,
                        DigestRunRow.kind != RunKind.CROSSED,
                    )
                    .group_by(DigestRunRow.destination_id)
                )
                out.update({d: h for d, h in (await s.execute(stmt)).all()})
        return out

    async def taken_slots(self, wanted: Iterable[tuple[int, str]]) -> set[tuple[int, str]]:
        """Which of these (destination id, slot) runs exist already."""
        pairs = sorted(set(wanted))
        out: set[tuple[int, str]] = set()
        async with self._sessions() as s:
            for i in range(0, len(pairs), _CHUNK):
                chunk = pairs[i : i + _CHUNK]
                stmt = select(DigestRunRow.destination_id, DigestRunRow.slot).where(
                    DigestRunRow.destination_id.in_({d for d, _ in chunk}),
                    DigestRunRow.slot.in_({slot for _, slot in chunk}),
                )
                out.update((d, slot) for d, slot in (await s.execute(stmt)).all())
        return out & set(pairs)

    async def seen_between(
        self, start: datetime, end: datetime, oldest_day: date
    ) -> list[tuple[str, datetime, date]]:
        """(paper id, seen at, day) of features of days from `oldest_day` first seen in
        (start, end]."""
        stmt = select(PaperFeature.paper_id, PaperFeature.seen_at, PaperFeature.day).where(
            PaperFeature.seen_at > start,
            PaperFeature.seen_at <= end,
            PaperFeature.day >= oldest_day,
        )
        async with self._sessions() as s:
            return [(p, t, day) for p, t, day in (await s.execute(stmt)).all()]

    async def latest_seen(self, end: datetime) -> datetime | None:
        async with self._sessions() as s:
            return await s.scalar(latest_seen_statement(end))

    async def delivered(self, destination_id: int, paper_ids: Iterable[str]) -> set[str]:
        ids = list(paper_ids)
        async with self._sessions() as s:
            return await _delivered(s, destination_id, ids)

    # --- recording: claim, ledger and outbox in one transaction -----------------------------

    async def record(self, plan: RunPlan, build: PayloadBuilder, now: datetime) -> Recorded | None:
        """Claim one run's slot and record it; None if the slot was taken already."""
        return (await self.record_many([(plan, build)], now))[0]

    async def record_many(
        self, plans: Sequence[tuple[RunPlan, PayloadBuilder]], now: datetime
    ) -> list[Recorded | None]:
        """Claim the runs' slots and record their ledger rows and outbox items, atomically.

        Each run goes in one transaction with its ledger rows and its outbox item (several
        runs to a transaction). A slot another process (or an earlier sweep) holds already
        yields None: inserting the run is the claim, and the unique (destination, slot)
        decides who gets it.
        """
        bulk = await self._bulk()
        record = record_batch if bulk else _record_rows
        # In bulk, two transactions at a time: while the database claims one batch, a
        # worker thread builds the payloads of the other. They hold different destinations
        # (one run per destination and sweep), and each inserts in key order, so they never
        # wait on each other. Row by row (SQLite: one writer), one at a time.
        ahead = asyncio.Semaphore(_BULK_AHEAD if bulk else 1)

        async def one(batch: Sequence[tuple[RunPlan, PayloadBuilder]]) -> list[Recorded | None]:
            async with ahead, self._sessions.begin() as s:
                return await record(s, batch, now)

        limits = _BULK_LIMITS if bulk else _ROW_LIMITS
        # A failed transaction cancels those not committed yet (the ones before it stay),
        # and its error is raised as it came, not wrapped in a group.
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(one(b)) for b in _batches(plans, limits)]
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None
        return [r for t in tasks for r in t.result()]

    async def _bulk(self) -> bool:
        """Whether to record in bulk (PostgreSQL's arrays) or row by row (elsewhere)."""
        async with self._sessions() as s:  # no connection yet: only which database
            return s.get_bind().dialect.name == "postgresql"

    async def record_skip(self, plan: RunPlan, now: datetime) -> bool:
        """Record that a slot was given up (the paper source stayed down); True if recorded."""
        async with self._sessions.begin() as s:
            insert = _insert_for(s)
            result = await s.execute(
                insert(DigestRunRow)
                .values(
                    destination_id=plan.destination_id,
                    slot=plan.slot,
                    kind=plan.kind,
                    local_date=plan.local_date,
                    window_start=plan.window_start,
                    horizon=plan.horizon,
                    status=RunStatus.SKIPPED,
                    listed=0,
                    more=0,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["destination_id", "slot"])
            )
            return bool(rowcount(result))

    async def prune(self, before: datetime) -> tuple[int, int]:
        """Delete sent outbox items and empty or skipped runs older than `before`.

        Keeps what still means something: runs that may have delivered papers (the ledger
        points at them), each destination's last sent item (status shows it), and items not
        sent yet. Windows never reach back further than a week, so older empty runs decide
        nothing. Returns (outbox items, runs) deleted.
        """
        last_sent = (
            select(func.max(OutboxRow.id))
            .where(OutboxRow.status == OutboxStatus.SENT)
            .group_by(OutboxRow.destination_id)
        )
        async with self._sessions.begin() as s:
            items = await s.execute(
                delete(OutboxRow).where(
                    OutboxRow.status == OutboxStatus.SENT,
                    OutboxRow.sent_at < before,
                    OutboxRow.id.not_in(last_sent.scalar_subquery()),
                )
            )
            runs = await s.execute(
                delete(DigestRunRow).where(
                    DigestRunRow.status.in_([RunStatus.EMPTY, RunStatus.SKIPPED]),
                    DigestRunRow.created_at < before,
                    # A run counts its fresh candidates before the ledger takes them, so a
                    # run with ledger rows never counts 0 (the ledger has no index on its run).
                    DigestRunRow.listed == 0,
                    DigestRunRow.more == 0,
                    DigestRunRow.id.not_in(select(OutboxRow.run_id).scalar_subquery()),
                )
            )
        return rowcount(items), rowcount(runs)

    async def end_mute(self, destination_id: int, now: datetime) -> None:
        """Clear a destination's mute if it has ended (not one set again meanwhile)."""
        async with self._sessions.begin() as s:
            await s.execute(
                update(DestinationRow)
                .where(DestinationRow.id == destination_id, DestinationRow.muted_until <= now)
                .values(muted_until=None)
            )

    async def last_run(self, destination_id: int) -> DigestRunRow | None:
        stmt = (
            select(DigestRunRow)
            .where(DigestRunRow.destination_id == destination_id)
            .order_by(DigestRunRow.created_at.desc(), DigestRunRow.id.desc())
            .limit(1)
        )
        async with self._sessions() as s:
            return await s.scalar(stmt)

    async def recently_delivered(
        self, destination_id: int, limit: int
    ) -> list[tuple[str, datetime]]:
        """The papers last delivered to a destination (id, when), newest first."""
        stmt = (
            select(DeliveryRow.paper_id, DeliveryRow.created_at)
            .where(DeliveryRow.destination_id == destination_id, DeliveryRow.listed)
            .order_by(DeliveryRow.created_at.desc(), DeliveryRow.paper_id)
            .limit(limit)
        )
        async with self._sessions() as s:
            return [(paper_id, at) for paper_id, at in (await s.execute(stmt)).all()]


async def _record_rows(
    s: AsyncSession, plans: Sequence[tuple[RunPlan, PayloadBuilder]], now: datetime
) -> list[Recorded | None]:
    """Claim and record one transaction's runs row by row: the portable path (SQLite)."""
    ids = [p.destination_id for p, _ in plans]
    done = await _delivered_many(s, ids, {pid for p, _ in plans for pid, _ in p.ranked})
    picked = pick(plans, done)
    run_ids = await _insert_runs(s, picked, now)
    mine = [(run_ids[p.plan.key], p) for p in picked if p.plan.key in run_ids]
    inserted = await _insert_ledger(s, ledger_rows(mine, now))
    # Only runs that list papers after the ledger had its say get suggestions.
    listing = [
        (rid, p.plan)
        for rid, p in mine
        if any((p.plan.destination_id, pid) in inserted for pid, _ in p.listed)
    ]
    suggestions = await claim_suggestions(s, listing, now)
    recorded = await _insert_outcomes(s, settle(mine, inserted, suggestions), now)
    return [recorded[run_ids[p.key]] if p.key in run_ids else None for p, _ in plans]


def _batches(
    plans: Sequence[tuple[RunPlan, PayloadBuilder]], limits: tuple[int, int]
) -> Iterator[Sequence[tuple[RunPlan, PayloadBuilder]]]:
    """Cut the runs into transactions of at most so many runs and about so many rows."""
    runs, rows = limits
    batch: list[tuple[RunPlan, PayloadBuilder]] = []
    size = 0
    for item in plans:
        n = len(item[0].ranked) + 1
        if batch and (len(batch) == runs or size + n > rows):
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += n
    if batch:
        yield batch


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


async def _insert_runs(
    s: AsyncSession, picked: list[Picked], now: datetime
) -> dict[tuple[int, str], int]:
    """Insert the runs whose slots are free; the ids of the ones this transaction claimed."""
    # executemany form: compiled once and cached, sent in batches by the driver. On the
    # tables, not the ORM classes: the ORM's bulk path costs ~10 us more per row.
    t = _table(DigestRunRow)
    rows = await s.execute(
        _insert_for(s)(t)
        .on_conflict_do_nothing(index_elements=["destination_id", "slot"])
        .returning(t.c.destination_id, t.c.slot, t.c.id),
        [run_row(p, now) for p in picked],
    )
    return {(d, slot): rid for d, slot, rid in rows.all()}


async def _insert_ledger(s: AsyncSession, ledger: list[dict[str, Any]]) -> set[tuple[int, str]]:
    """Insert the ledger rows no other run holds; the (destination, paper) pairs that went in."""
    if not ledger:
        return set()
    t = _table(DeliveryRow)
    result = await s.execute(
        _insert_for(s)(t)
        .on_conflict_do_nothing(index_elements=["destination_id", "paper_id"])
        .returning(t.c.destination_id, t.c.paper_id),
        ledger,
    )
    return {(d, pid) for d, pid in result.all()}


async def _insert_outcomes(
    s: AsyncSession, outcomes: list[Outcome], now: datetime
) -> dict[int, Recorded]:
    """Queue the runs with a payload in the outbox and mark the others empty, by run id."""
    queued = [o for o in outcomes if o.payload is not None]
    outbox_ids: dict[int, int] = {}
    if queued:
        t = _table(OutboxRow)
        result = await s.execute(
            _insert_for(s)(t).returning(t.c.run_id, t.c.id),
            [outbox_row(o, now) for o in queued],
        )
        outbox_ids = {rid: oid for rid, oid in result.all()}
    empty = [o.run_id for o in outcomes if o.payload is None]
    if empty:
        await s.execute(
            update(DigestRunRow).where(DigestRunRow.id.in_(empty)).values(status=RunStatus.EMPTY)
        )
    return {
        o.run_id: Recorded(
            o.run_id,
            RunStatus.QUEUED if o.payload is not None else RunStatus.EMPTY,
            len(o.listed),
            o.more,
            outbox_ids.get(o.run_id),
        )
        for o in outcomes
    }


async def _delivered_many(
    s: AsyncSession, destination_ids: list[int], paper_ids: set[str]
) -> dict[int, set[str]]:
    """Which of `paper_ids` each destination has had already."""
    out: dict[int, set[str]] = {}
    if not paper_ids:
        return out
    papers = sorted(paper_ids)
    dests = sorted(set(destination_ids))
    for i in range(0, len(dests), _CHUNK):
        for j in range(0, len(papers), _CHUNK):
            stmt = select(DeliveryRow.destination_id, DeliveryRow.paper_id).where(
                DeliveryRow.destination_id.in_(dests[i : i + _CHUNK]),
                DeliveryRow.paper_id.in_(papers[j : j + _CHUNK]),
            )
            for d, pid in (await s.execute(stmt)).all():
                out.setdefault(d, set()).add(pid)
    return out


async def _delivered(s: AsyncSession, destination_id: int, paper_ids: list[str]) -> set[str]:
    out: set[str] = set()
    for i in range(0, len(paper_ids), _CHUNK):
        stmt = select(DeliveryRow.paper_id).where(
            and_(
                DeliveryRow.destination_id == destination_id,
                DeliveryRow.paper_id.in_(paper_ids[i : i + _CHUNK]),
            )
        )
        out.update((await s.scalars(stmt)).all())
    return out
