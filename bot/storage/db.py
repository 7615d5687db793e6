"""The async engine, sessions and schema migrations."""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, Result, event, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.storage.revisions import (
    connect_sqlite,
    head_revision,
    migrations_dir,
    sqlite_revision,
)

if TYPE_CHECKING:
    from alembic.config import Config


log = logging.getLogger(__name__)


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create the engine for `url`; SQLite gets WAL, foreign keys and a busy timeout."""
    pool_size = kwargs.pop("pool_size", None)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30})
    else:
        kwargs.setdefault("pool_pre_ping", True)
        if pool_size is not None:
            # A hard cap: the connections this process may hold, none beyond.
            kwargs.update(pool_size=pool_size, max_overflow=0)
    engine = create_async_engine(url, **kwargs)
    if url.startswith("sqlite"):

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            _closes_once(dbapi_conn.driver_connection)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            if ":memory:" not in url:
                cur.execute("PRAGMA journal_mode=WAL")
                # Safe with WAL (no corruption on power loss); avoids an fsync per commit.
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    return engine


@functools.cache
def _closes_once_class() -> type:
    """An aiosqlite connection whose close() cannot wait for a worker thread that has gone.

    A task cancelled mid-query has SQLAlchemy terminate its connection: a shielded task
    runs close(), queued behind the statement in aiosqlite's worker thread. If the owner is
    cancelled again meanwhile (a loop teardown cancels every task), SQLAlchemy falls back to
    stop(), which queues the thread's exit. When the close task is cancelled in turn, its
    `finally` calls stop() once more and awaits an answer queued *behind* that exit, which
    never comes: the task has used up its cancellation and the teardown waits forever.
    (aiosqlite 0.22.1, SQLAlchemy 2.1; tests/test_shutdown.py reproduces it.) Here a close
    after a stop already queued does not wait: the thread ends after what was queued.
    """
    import aiosqlite  # loaded by SQLAlchemy for a SQLite URL anyway; not for PostgreSQL

    class ClosesOnce(aiosqlite.Connection):
        async def close(self) -> None:
            if self._connection is None:
                return
            try:
                await self._execute(self._conn.close)
            finally:
                self._connection = None
                if self._running:  # no stop queued yet: ask for one, answered before any
                    future = self.stop()
                    if future is not None:
                        await future

    return ClosesOnce


def _closes_once(conn: Any) -> None:
    """Give the aiosqlite connection SQLAlchemy made from the URL our close()."""
    # Swapping the class keeps SQLAlchemy's reading of the URL (path, uri, timeout).
    cls = _closes_once_class()
    if type(conn) is cls.__base__:
        conn.__class__ = cls


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    # Alembic is imported only to migrate: it costs a CLI command ~0.7 s of CPU to load.
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    # ConfigParser interpolation would choke on a '%' in a password.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def _sqlite_revision(url: str) -> str | None:
    """Open the SQLite file of `url` with the standard library; its schema revision, if any."""
    conn = connect_sqlite(url)
    try:
        return sqlite_revision(conn)
    finally:
        conn.close()


async def check_connection(url: str) -> str | None:
    """Open and close one connection, so "cannot connect" is raised here, on our loop;
    return the database's schema revision (None if it was never migrated).

    SQLite is probed with the standard library in a worker thread we wait for: when
    aiosqlite fails to connect, it hands back the error and only then finishes its own
    worker thread, which reports to our event loop; a command that exits on the error closes
    that loop first, and the thread prints "Event loop is closed" after our one line.
    Raises sqlite3.Error, or DBAPIError/OSError for a server database.
    """
    if url.startswith("sqlite"):
        return await asyncio.to_thread(_sqlite_revision, url)
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            has_table = await conn.run_sync(
                lambda sync: sync.dialect.has_table(sync, "alembic_version")
            )
            if not has_table:
                return None
            return cast(
                str | None, await conn.scalar(text("SELECT version_num FROM alembic_version"))
            )
    finally:
        await engine.dispose()


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (the bot does this on start).

    A database already at the head is left alone without loading Alembic, so that every
    CLI command does not pay for it.
    """
    current = await check_connection(url)
    if revision == "head" and current is not None and current == head_revision():
        return
    from alembic import command

    cfg = alembic_config(url)
    # Alembic's async env.py runs its own event loop, so it gets a thread of its own.
    await asyncio.to_thread(command.upgrade, cfg, revision)
    log.debug("database schema is at %s", revision)


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched (SQLAlchemy types execute()'s result generically)."""
    return int(cast(CursorResult[Any], result).rowcount or 0)
