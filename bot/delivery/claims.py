"""Who is who among several processes: a process identity, and the one-ingester lock."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

# An arbitrary constant naming paperbot's ingest among PostgreSQL advisory locks.
INGEST_LOCK_KEY = 0x70617065  # "pape"
# And its artifact look-ups: a lock of their own, so they never make a poll skip its round.
ARTIFACT_LOCK_KEY = 0x70617066


def process_id() -> str:
    """A name for this process in outbox claims: host, pid and a random tag."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


class IngestLock:
    """Only one process ingests at a time.

    On PostgreSQL this is a transaction-level advisory lock, held for the duration of the
    ingest and released by the database even if the process dies. SQLite is the
    single-process setup, so an in-process lock is enough there.
    """

    def __init__(self, engine: AsyncEngine, key: int = INGEST_LOCK_KEY):
        self._engine = engine
        self._key = key
        self._local = asyncio.Lock()

    async def busy(self) -> bool:
        """Whether an ingest is running now, here or (PostgreSQL) in another process.

        Looks at the lock without taking it, so it never makes an ingest skip its round.
        """
        if self._local.locked():
            return True
        if self._engine.dialect.name != "postgresql":
            return False
        # A bigint advisory key shows in pg_locks as classid (high half) and objid (low).
        # Advisory locks belong to one database, but pg_locks lists the whole server's: a
        # second paperbot on another database of the same server must not count.
        async with self._engine.connect() as conn:
            held = await conn.scalar(
                text(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
                    "AND classid = :hi AND objid = :lo AND objsubid = 1 AND granted "
                    "AND database = (SELECT oid FROM pg_database "
                    "WHERE datname = current_database()))"
                ),
                {"hi": self._key >> 32, "lo": self._key & 0xFFFFFFFF},
            )
        return bool(held)

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[bool]:
        """Yield True if this process may ingest now, False if another one is at it."""
        if self._local.locked():
            yield False
            return
        async with self._local:
            if self._engine.dialect.name != "postgresql":
                yield True
                return
            async with self._engine.begin() as conn:
                got = await conn.scalar(
                    text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": self._key}
                )
                yield bool(got)
