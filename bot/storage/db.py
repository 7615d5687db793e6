"""The async engine, sessions and schema migrations."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from importlib import resources
from pathlib import Path
from typing import Any, cast

from alembic.config import Config
from sqlalchemy import CursorResult, Result, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from alembic import command

log = logging.getLogger(__name__)

# The Alembic scripts ship inside the package (bot/storage/migrations), so a wheel has them.
MIGRATIONS_PACKAGE = "bot.storage.migrations"


def migrations_dir() -> Path:
    """The directory of the Alembic scripts (env.py, versions/), found through the package."""
    return Path(str(resources.files(MIGRATIONS_PACKAGE)))


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
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            if ":memory:" not in url:
                cur.execute("PRAGMA journal_mode=WAL")
                # Safe with WAL (no corruption on power loss); avoids an fsync per commit.
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    # ConfigParser interpolation would choke on a '%' in a password.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def _open_sqlite(url: str) -> None:
    """Open the SQLite file of `url` and read its header, with the standard library."""
    parsed = make_url(url)
    uri = str(parsed.query.get("uri", "")).lower() in ("true", "1")
    conn = sqlite3.connect(parsed.database or "", timeout=30, uri=uri)
    try:
        conn.execute("PRAGMA schema_version")  # fails on a file that is not a database
    finally:
        conn.close()


async def check_connection(url: str) -> None:
    """Open and close one connection, so "cannot connect" is raised here, on our loop.

    SQLite is probed with the standard library in a worker thread we wait for: when
    aiosqlite fails to connect, it hands back the error and only then finishes its own
    worker thread, which reports to our event loop; a command that exits on the error closes
    that loop first, and the thread prints "Event loop is closed" after our one line.
    Raises sqlite3.Error, or DBAPIError/OSError for a server database.
    """
    if url.startswith("sqlite"):
        await asyncio.to_thread(_open_sqlite, url)
        return
    engine = make_engine(url)
    try:
        async with engine.connect():
            pass
    finally:
        await engine.dispose()


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (the bot does this on start)."""
    cfg = alembic_config(url)
    await check_connection(url)
    # Alembic's async env.py runs its own event loop, so it gets a thread of its own.
    await asyncio.to_thread(command.upgrade, cfg, revision)
    log.debug("database schema is at %s", revision)


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched (SQLAlchemy types execute()'s result generically)."""
    return int(cast(CursorResult[Any], result).rowcount or 0)
