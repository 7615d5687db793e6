"""The async engine, sessions and schema migrations."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from alembic import command

log = logging.getLogger(__name__)

# The migrations live at the top of the repository (alembic/), beside bot/.
ALEMBIC_DIR = Path(__file__).resolve().parents[2] / "alembic"


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create the engine for `url`; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30})
    else:
        kwargs.setdefault("pool_pre_ping", True)
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
    if not (ALEMBIC_DIR / "env.py").exists():
        raise RuntimeError(f"migrations not found at {ALEMBIC_DIR}; install paperbot with pip -e")
    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    # ConfigParser interpolation would choke on a '%' in a password.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


async def check_connection(url: str) -> None:
    """Open and close one connection, so "cannot connect" is raised here, on our loop.

    Failing inside Alembic's private event loop instead leaves aiosqlite's worker thread
    reporting to a closed loop, which prints a stray traceback after our clear message.
    """
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
    log.info("database schema is at %s", revision)
