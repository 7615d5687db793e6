"""The bot's own database upkeep: VACUUM/ANALYZE on PostgreSQL, optimize on SQLite."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.app import App
from bot.storage.db import make_engine
from bot.storage.models import DestinationRow, PaperRow
from bot.storage.upkeep import HOT_TABLES, UPKEEP_LOCK_KEY, Upkeep, upkeep_round
from tests.delivery_helpers import FakeSource, Harness, RecordingAdapter, make_app, utc
from tests.helpers import FakeClock

NOW = utc(2025, 2, 3, 9, 0)


def only_postgres(app: App) -> None:
    if app.engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL promise")


async def destinations(app: App, n: int) -> None:
    rows = [
        {
            "platform": "test",
            "kind": "channel",
            "external_id": f"C{i}",
            "timezone": "UTC",
            "digest_time": "09:00",
            "digest_max": 10,
            "min_upvotes": 0,
            "weekdays_only": False,
            "paused": False,
            "alerts_mode": "daily",
            "created_at": NOW,
        }
        for i in range(n)
    ]
    async with app.sessions.begin() as s:
        await s.execute(insert(DestinationRow), rows)


async def flush_stats(app: App, change: Callable[[AsyncConnection], Awaitable[object]]) -> None:
    """Make a change, and have its counts in pg_stat_user_tables before returning.

    A backend reports its counts at most once a second (or when idle): forcing the next
    report on the very connection that made the change makes the test independent of that.
    """
    async with app.engine.connect() as conn:
        await change(conn)
        await conn.commit()
        await conn.execute(text("SELECT pg_stat_force_next_flush()"))
        await conn.commit()


async def rewrite_every_destination(conn: AsyncConnection) -> None:
    # What the sweep's first full look does: every row gets a new version.
    await conn.execute(update(DestinationRow).values(next_due_at=NOW))


async def stats(app: App, table: str) -> dict[str, int]:
    async with app.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT n_dead_tup, vacuum_count, analyze_count FROM pg_stat_user_tables "
                    "WHERE relname = :t AND schemaname = current_schema()"
                ),
                {"t": table},
            )
        ).one()
    return {"dead": row[0], "vacuums": row[1], "analyses": row[2]}


async def test_dead_rows_are_vacuumed_and_only_where_the_statistics_call_for_it(app: App):
    only_postgres(app)
    await destinations(app, 400)

    await flush_stats(app, rewrite_every_destination)
    before = {t: await stats(app, t) for t in ("destinations", "papers", "outbox")}
    assert before["destinations"]["dead"] >= 400

    report = await Upkeep(app.engine).run()

    assert "destinations" in report.vacuumed and not report.failed and not report.busy
    after = {t: await stats(app, t) for t in before}
    assert after["destinations"]["dead"] == 0
    assert after["destinations"]["vacuums"] == before["destinations"]["vacuums"] + 1
    assert after["destinations"]["analyses"] == before["destinations"]["analyses"] + 1
    # Untouched tables are left alone: the round costs what changed.
    assert "papers" not in report.vacuumed and "outbox" not in report.vacuumed
    assert after["papers"]["vacuums"] == before["papers"]["vacuums"]
    # Nothing changed since: the next round does nothing.
    again = await Upkeep(app.engine).run()
    assert (again.vacuumed, again.analyzed) == ((), ())


async def test_a_bulk_insert_is_analysed(app: App):
    """Fresh statistics after bulk inserts; a VACUUM only once the insert threshold is passed."""
    only_postgres(app)

    async def insert_papers(conn: AsyncConnection) -> None:
        rows = [
            {"id": f"2501.{i:05d}", "title": f"P{i}", "first_seen_at": NOW, "updated_at": NOW}
            for i in range(300)
        ]
        await conn.execute(insert(PaperRow), rows)

    await flush_stats(app, insert_papers)
    before = await stats(app, "papers")
    report = await Upkeep(app.engine).run()
    assert report.analyzed == ("papers",) and "papers" not in report.vacuumed
    after = await stats(app, "papers")
    assert after["analyses"] == before["analyses"] + 1
    assert after["vacuums"] == before["vacuums"]


async def test_forced_round_vacuums_the_hot_tables(app: App):
    only_postgres(app)
    before = {t: await stats(app, t) for t in HOT_TABLES}
    report = await Upkeep(app.engine).run(force=True)
    assert report.vacuumed == HOT_TABLES
    for t in HOT_TABLES:
        assert (await stats(app, t))["vacuums"] == before[t]["vacuums"] + 1


async def test_sqlite_is_optimized_and_its_wal_checkpointed(app: App):
    if app.engine.dialect.name != "sqlite":
        pytest.skip("a SQLite promise")
    await destinations(app, 300)
    report = await Upkeep(app.engine).run()
    assert report.checkpoint is not None
    busy, frames, copied = report.checkpoint
    # Nobody else reads or writes: everything in the WAL was copied into the database.
    assert busy == 0 and frames > 0 and copied == frames


@asynccontextmanager
async def held(app: App, block: asyncio.Event) -> AsyncIterator[tuple[asyncio.Task, asyncio.Event]]:
    """A round of `app`'s upkeep, paused while it holds its turn until `block` is set."""
    entered = asyncio.Event()

    async def hold() -> None:
        entered.set()
        await block.wait()

    task = asyncio.create_task(Upkeep(app.engine, while_locked=hold).run(force=True))
    try:
        await asyncio.wait_for(entered.wait(), 30)
        yield task, entered
    finally:
        block.set()
        await asyncio.wait_for(task, 30)


async def test_two_processes_take_turns_only_one_vacuums_at_a_time(app: App, clock: FakeClock):
    only_postgres(app)
    other = make_app(app.settings.database_url, clock, FakeSource())
    try:
        release = asyncio.Event()
        async with held(app, release) as (first, _):
            second = await Upkeep(other.engine).run(force=True)
            assert second.busy and second.vacuumed == ()
            release.set()
            done = await first
        assert done.vacuumed == HOT_TABLES and not done.busy
        # The turn is given back with the round.
        third = await Upkeep(other.engine).run(force=True)
        assert not third.busy and third.vacuumed == HOT_TABLES
    finally:
        await other.close()


async def test_a_locked_table_times_out_is_logged_and_the_rest_is_done(app: App, caplog):
    only_postgres(app)
    caplog.set_level(logging.WARNING, logger="bot.storage.upkeep")
    locker = make_engine(app.settings.database_url)
    try:
        async with locker.connect() as conn:
            # A lock a VACUUM must wait for (a concurrent ANALYZE or a migration takes it).
            await conn.execute(text("LOCK TABLE outbox IN SHARE UPDATE EXCLUSIVE MODE"))
            report = await Upkeep(app.engine, lock_timeout_ms=100).run(force=True)
            await conn.rollback()
        assert report.failed == ("outbox",)
        assert report.vacuumed == tuple(t for t in HOT_TABLES if t != "outbox")
        assert "VACUUM outbox failed" in caplog.text and "lock timeout" in caplog.text
        # The next round, once the lock is gone, gets it.
        assert "outbox" in (await Upkeep(app.engine).run(force=True)).vacuumed
    finally:
        await locker.dispose()


@pytest.mark.parametrize("url", ["postgresql://u@127.0.0.1:1/none", "sqlite:////nonexistent/x.db"])
async def test_a_database_that_is_down_is_logged_never_raised(url, caplog):
    """The job stays alive: each round logs the failure and the next one tries again."""
    source = FakeSource()
    h = Harness(make_app(url, FakeClock(NOW), source), source, RecordingAdapter())
    try:
        caplog.set_level(logging.ERROR, logger="bot.storage.upkeep")
        for _ in range(2):
            await h.scheduler.upkeep_job()
        failures = [r for r in caplog.records if "database upkeep failed" in r.getMessage()]
        assert len(failures) == 2 and all(r.exc_info for r in failures)
        assert await upkeep_round(Upkeep(h.app.engine)) is None
    finally:
        await h.app.close()


async def until(condition: Callable[[], Awaitable[bool]]) -> None:
    """Wait for a condition of the server's that no event of ours announces."""
    while True:
        if await condition():
            return
        await asyncio.sleep(0.05)


async def vacuum_waits_for_a_lock(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        return bool(
            await conn.scalar(
                text(
                    "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = "
                    "current_database() AND wait_event_type = 'Lock' AND query LIKE 'VACUUM%')"
                )
            )
        )


async def test_stopping_the_scheduler_cancels_a_running_upkeep_and_frees_its_turn(db_url):
    """The real APScheduler runs the upkeep (a VACUUM stuck behind a lock on PostgreSQL);
    the stop is prompt, and the VACUUM and its turn are gone with it."""
    source = FakeSource()
    h = Harness(make_app(db_url, FakeClock(NOW), source), source, RecordingAdapter())
    pg = h.app.engine.dialect.name == "postgresql"
    entered, left = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        entered.set()
        if not pg:  # SQLite: a round that would not end by itself
            try:
                await asyncio.Event().wait()
            finally:
                left.set()

    # A long lock timeout: only a cancelled statement frees the turn within the bound below.
    h.scheduler.upkeep = Upkeep(h.app.engine, lock_timeout_ms=120_000, while_locked=hold)
    if pg:  # dead rows the round will want to vacuum
        await destinations(h.app, 100)
        await flush_stats(h.app, rewrite_every_destination)
    locker = make_engine(db_url)
    try:
        async with locker.connect() as conn:
            if pg:
                await conn.execute(text("LOCK TABLE destinations IN SHARE UPDATE EXCLUSIVE MODE"))
            await h.scheduler.start()
            jobs = h.scheduler._scheduler  # to run the upkeep now, not in 10 min
            assert jobs is not None
            jobs.modify_job("upkeep", next_run_time=datetime.now(UTC))
            await asyncio.wait_for(entered.wait(), 60)
            if pg:
                await asyncio.wait_for(until(lambda: vacuum_waits_for_a_lock(locker)), 30)
            await asyncio.wait_for(h.scheduler.stop(), 10)
            if pg:
                # Blocks until the upkeep's session gave its turn back.
                await asyncio.wait_for(
                    conn.scalar(text("SELECT pg_advisory_lock(:k)"), {"k": UPKEEP_LOCK_KEY}), 10
                )
                assert not await vacuum_waits_for_a_lock(locker)
                await conn.scalar(text("SELECT pg_advisory_unlock(:k)"), {"k": UPKEEP_LOCK_KEY})
            else:
                await asyncio.wait_for(left.wait(), 10)
            await conn.rollback()
    finally:
        await locker.dispose()
        await h.app.close()


@pytest.mark.parametrize(("minutes", "scheduled"), [("10", True), ("0", False)])
async def test_the_scheduler_runs_the_upkeep_every_interval_unless_it_is_0(
    tmp_path, minutes, scheduled
):
    source = FakeSource()
    url = f"sqlite:///{tmp_path}/x.sqlite3"
    h = Harness(
        make_app(url, FakeClock(NOW), source, UPKEEP_INTERVAL_MINUTES=minutes),
        source,
        RecordingAdapter(),
    )
    from bot.storage.db import upgrade

    await upgrade(h.app.settings.database_url)
    await h.scheduler.start()
    try:
        assert h.scheduler._scheduler is not None
        job = h.scheduler._scheduler.get_job("upkeep")
        assert (job is not None) == scheduled
        if job is not None:
            assert job.trigger.interval.total_seconds() == 600
            # Not at start, beside the catch-up: one interval later.
            assert (job.next_run_time - datetime.now(UTC)).total_seconds() > 500
    finally:
        await asyncio.wait_for(h.scheduler.stop(), 10)
        await h.app.close()


async def test_the_pool_never_hands_out_the_upkeep_connection(app: App):
    """Its AUTOCOMMIT and timeouts stay out of delivery's transactions (SQLAlchemy resets the
    isolation level of a pooled connection, not the SET values of its session)."""
    only_postgres(app)
    await Upkeep(app.engine, lock_timeout_ms=123, statement_timeout_ms=4567).run(force=True)
    async with AsyncExitStack() as stack:
        # Every connection the pool holds now, at once: the upkeep's would be among them.
        n = max(1, app.engine.pool.checkedin())  # type: ignore[attr-defined]
        for _ in range(n):
            conn = await stack.enter_async_context(app.engine.connect())
            assert await conn.scalar(text("SHOW lock_timeout")) == "0"
            assert await conn.scalar(text("SHOW statement_timeout")) == "0"
            await conn.execute(update(DestinationRow).values(next_due_at=NOW))
            await conn.rollback()  # a transaction, not autocommitted statements


async def test_no_round_takes_the_last_free_connection_of_a_capped_pool(db_url):
    source = FakeSource()
    app = make_app(db_url, FakeClock(NOW), source, DATABASE_POOL_SIZE="2")
    try:
        only_postgres(app)
        async with app.engine.connect() as held_by_delivery:
            await held_by_delivery.execute(text("SELECT 1"))
            report = await asyncio.wait_for(Upkeep(app.engine).run(force=True), 10)
        assert report.busy and report.vacuumed == ()
        assert (await Upkeep(app.engine).run(force=True)).vacuumed == HOT_TABLES
    finally:
        await app.close()


async def test_delivery_with_an_upkeep_round_beside_every_step(db_url):
    """The scenario of test_permanent_failure_disables_until_a_digest_command (which a daily
    VACUUM once broke), each step run at once with a forced upkeep round, in a small pool."""
    from bot.port import DeliveryError, Failure
    from tests.delivery_helpers import paper

    source = FakeSource()
    h = Harness(
        make_app(db_url, FakeClock(utc(2025, 2, 3, 7, 0)), source, DATABASE_POOL_SIZE="4"),
        source,
        RecordingAdapter(),
    )
    upkeep = Upkeep(h.app.engine)
    rounds: list[bool] = []

    async def beside(step: Awaitable[object]) -> None:
        _, report = await asyncio.gather(step, upkeep.run(force=True))
        rounds.append(report.busy)

    try:
        await beside(h.bot.say("subscribe diffusion"))
        await beside(h.bot.say("digest time 09:00 UTC"))
        gone = DeliveryError("the channel was deleted", Failure.DESTINATION_GONE)
        h.adapter.fail = lambda d: gone
        day = utc(2025, 2, 3).date()
        h.source.feature(day, paper(1, "Diffusion A"))
        await beside(h.tick(utc(2025, 2, 3, 9, 0)))
        assert h.adapter.sent == [] and h.adapter.attempts == 1
        assert "Disabled" in await h.bot.text("status")
        h.source.feature(utc(2025, 2, 4).date(), paper(2, "Diffusion B"))
        await beside(h.tick(utc(2025, 2, 4, 9, 0)))
        assert h.adapter.attempts == 1, "tried to post to a disabled destination"
        h.adapter.fail = None
        await beside(h.bot.say("digest resume"))
        await beside(h.tick(utc(2025, 2, 4, 9, 5)))
        assert sorted(p for s in h.adapter.sent for p in s.paper_ids) == [
            "2501.00001",
            "2501.00002",
        ]
        assert "Disabled" not in await h.bot.text("status")
        if h.app.engine.dialect.name == "postgresql":
            assert not all(rounds), "no upkeep round ran: the test would prove nothing"
    finally:
        await h.app.close()
