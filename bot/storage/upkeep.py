"""The bot's own database upkeep: VACUUM and ANALYZE on PostgreSQL, optimize on SQLite.

The bot cannot count on autovacuum (some servers run without it). Without a VACUUM, the
dead index entries of every rewritten row stay in the index ranges the sweep and the claim
read (a full look of the sweep rewrites every destination), and without an ANALYZE the
planner keeps the statistics of an empty table. So the scheduler calls `Upkeep.run` every
few minutes, and it does on our tables what autovacuum would: a cheap read of
`pg_stat_user_tables`, then `VACUUM (ANALYZE)` of the tables with enough dead (or newly
inserted) rows, and `ANALYZE` of those changed enough since their last one, with
autovacuum's default thresholds.

It never holds up delivery: VACUUM without FULL takes no lock that conflicts with reads or
writes, the truncation of trailing pages (which would) is turned off, and each statement
runs under a lock and a statement timeout. Processes sharing one server take turns through
an advisory lock; a process that finds it taken skips its round.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from sqlalchemy import QueuePool, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.storage.models import Base

log = logging.getLogger(__name__)

# An arbitrary constant naming paperbot's upkeep among PostgreSQL advisory locks (not the
# ingest's: an upkeep and an ingest may run at once).
UPKEEP_LOCK_KEY = 0x75706B70  # "upkp"
# What the sweep, the claim and the pruning rewrite all day; `run(force=True)` vacuums these.
HOT_TABLES = ("outbox", "destinations", "digest_runs", "deliveries")
TABLES = tuple(t.name for t in Base.metadata.sorted_tables)
LOCK_TIMEOUT_MS = 5_000  # a table another session has locked is left for the next round
STATEMENT_TIMEOUT_MS = 300_000  # one table's VACUUM; ours take seconds at 100,000 rows
SQLITE_ANALYSIS_LIMIT = 1_000  # rows per index ANALYZE reads: approximate, but bounded

Hook = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class TableStats:
    """What the statistics collector counted for one table since its last VACUUM/ANALYZE."""

    name: str
    live: int
    dead: int
    inserted: int  # since the last VACUUM
    modified: int  # since the last ANALYZE

    # autovacuum's defaults (autovacuum_vacuum_threshold 50, scale factor 0.2; the insert
    # threshold 1000, 0.2; analyze 50, 0.1): the same policy autovacuum would apply.
    def needs_vacuum(self) -> bool:
        # Inserted rows count too: a VACUUM sets the visibility map, which the claim's
        # index-only scan needs to skip the heap.
        return self.dead > 50 + 0.2 * self.live or self.inserted > 1000 + 0.2 * self.live

    def needs_analyze(self) -> bool:
        return self.modified > 50 + 0.1 * self.live


@dataclass(frozen=True)
class UpkeepReport:
    vacuumed: tuple[str, ...] = ()
    analyzed: tuple[str, ...] = ()  # analysed only (a VACUUM (ANALYZE) counts as vacuumed)
    failed: tuple[str, ...] = ()  # tables whose statement failed (logged), e.g. lock timeout
    busy: bool = False  # another process was at it, or no spare connection: nothing done
    checkpoint: tuple[int, int, int] | None = None  # SQLite: (busy, WAL frames, checkpointed)
    seconds: float = 0.0


class Upkeep:
    """One process's upkeep of its database; `run` is one round."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        lock_timeout_ms: int = LOCK_TIMEOUT_MS,
        statement_timeout_ms: int = STATEMENT_TIMEOUT_MS,
        while_locked: Hook | None = None,  # tests: runs while this process holds the turn
    ) -> None:
        self._engine = engine
        self._lock_timeout_ms = lock_timeout_ms
        self._statement_timeout_ms = statement_timeout_ms
        self._while_locked = while_locked

    async def run(self, *, force: bool = False) -> UpkeepReport:
        """One round: what the statistics call for, or (`force`) the hot tables at once."""
        t0 = time.perf_counter()
        if self._engine.dialect.name == "postgresql":
            report = await self._postgres(force)
        else:
            report = await self._sqlite()
        return replace(report, seconds=time.perf_counter() - t0)

    async def _postgres(self, force: bool) -> UpkeepReport:
        pool = self._engine.pool
        if isinstance(pool, QueuePool) and pool.size() - pool.checkedout() < 2:
            # The pool is capped (DATABASE_POOL_SIZE, no overflow): a VACUUM holding its
            # last free connection would make delivery wait for it. Next round, then.
            log.debug("database upkeep skipped: no spare connection in the pool")
            return UpkeepReport(busy=True)
        async with self._engine.connect() as conn:
            try:
                await conn.execution_options(isolation_level="AUTOCOMMIT")  # VACUUM needs it
                await conn.execute(text(f"SET lock_timeout = {int(self._lock_timeout_ms)}"))
                timeout = int(self._statement_timeout_ms)
                await conn.execute(text(f"SET statement_timeout = {timeout}"))
                got = await conn.scalar(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": UPKEEP_LOCK_KEY}
                )
                if not got:
                    log.debug("another process is doing the database upkeep")
                    report = UpkeepReport(busy=True)
                else:
                    if self._while_locked is not None:
                        await self._while_locked()
                    report = await self._vacuum(conn, force)
                    await conn.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": UPKEEP_LOCK_KEY}
                    )
                # Back to the pool as it was lent: SQLAlchemy resets the isolation level on
                # return, not the SET values of the session.
                await conn.execute(text("RESET lock_timeout"))
                await conn.execute(text("RESET statement_timeout"))
                return report
            except BaseException:
                # Cut short (an error, or a stop cancelling it): the session's state is
                # unknown, so it is closed, not pooled. Its end cancels its VACUUM and
                # releases the lock (tests/test_upkeep.py holds a VACUUM to check).
                await conn.invalidate()
                raise

    async def _vacuum(self, conn: AsyncConnection, force: bool) -> UpkeepReport:
        stats = await table_stats(conn)
        if force:
            vacuum = [t for t in HOT_TABLES if t in stats]
        else:
            vacuum = [s.name for s in stats.values() if s.needs_vacuum()]
        analyze = [s.name for s in stats.values() if s.needs_analyze() and s.name not in vacuum]
        # INDEX_CLEANUP ON: the dead index entries are what slows the sweep, and "auto" may
        # skip them. TRUNCATE false: giving back trailing pages takes an exclusive lock that
        # would stop delivery on that table meanwhile.
        done_v = await _each(conn, vacuum, "VACUUM (ANALYZE, INDEX_CLEANUP ON, TRUNCATE false)")
        done_a = await _each(conn, analyze, "ANALYZE")
        failed = [t for t in [*vacuum, *analyze] if t not in done_v and t not in done_a]
        if done_v or done_a:
            log.info("database upkeep: vacuumed %s; analysed %s", done_v, done_a)
        return UpkeepReport(vacuumed=tuple(done_v), analyzed=tuple(done_a), failed=tuple(failed))

    async def _sqlite(self) -> UpkeepReport:
        async with self._engine.connect() as conn:
            # SQLite is the one-process setup: the turn is always ours.
            if self._while_locked is not None:
                await self._while_locked()
            await conn.execute(text(f"PRAGMA analysis_limit = {SQLITE_ANALYSIS_LIMIT}"))
            try:
                # 0x10002: ANALYZE the tables whose statistics are missing or stale, all of
                # them, not only those this pooled connection happened to query.
                await conn.execute(text("PRAGMA optimize = 0x10002"))
                await conn.commit()
            except OperationalError as exc:
                # Its ANALYZE must write; SQLite refuses a reader's upgrade to a writer at
                # once ("database is locked", no busy wait) while a delivery writes. The
                # delivery goes first: this round is skipped, the next one will do.
                if "locked" not in str(exc.orig):
                    raise
                await conn.rollback()
                log.debug("database upkeep: SQLite was busy writing; skipped this round")
                return UpkeepReport(busy=True)
            # PASSIVE copies what it can without waiting on anyone; TRUNCATE (which also
            # shrinks the file) would block new writers, the sender among them, while it
            # waits for readers, up to the 30 s busy timeout. A WAL that is checkpointed is
            # reused from its start, so its size stays bounded all the same.
            row = (await conn.execute(text("PRAGMA wal_checkpoint(PASSIVE)"))).one()
        busy, frames, copied = (int(v) for v in row)
        log.debug("database upkeep: optimized; WAL checkpoint %d of %d frames", copied, frames)
        return UpkeepReport(checkpoint=(busy, frames, copied))


async def table_stats(conn: AsyncConnection) -> dict[str, TableStats]:
    """Our tables' counters from the statistics collector (one catalog read)."""
    rows = await conn.execute(
        text(
            "SELECT relname, n_live_tup, n_dead_tup, n_ins_since_vacuum, n_mod_since_analyze "
            "FROM pg_stat_user_tables "
            "WHERE schemaname = current_schema() AND relname = ANY(:names)"
        ),
        {"names": list(TABLES)},
    )
    return {r[0]: TableStats(r[0], *(int(v or 0) for v in r[1:])) for r in rows}


async def _each(conn: AsyncConnection, tables: Sequence[str], verb: str) -> list[str]:
    """Run `verb` on each table by itself (its own timeout); the tables it succeeded on."""
    done = []
    quote = conn.dialect.identifier_preparer.quote
    for table in tables:
        try:
            await conn.execute(text(f"{verb} {quote(table)}"))
        except Exception as exc:  # one table's failure is not the round's
            log.warning("database upkeep: %s %s failed: %s", verb.split()[0], table, exc)
        else:
            done.append(table)
    return done


async def upkeep_round(upkeep: Upkeep) -> UpkeepReport | None:
    """One round for the scheduler: a failure (the database down, say) is logged, not raised."""
    try:
        return await upkeep.run()
    except Exception:
        log.exception("database upkeep failed; trying again next round")
        return None
