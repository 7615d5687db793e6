"""Reading and storing the title index snapshot (bot/lookup/snapshot.py): one row."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.models import TitleIndexRow


class TitleIndexRepo:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions

    async def load(self, key: str, fingerprint: str) -> bytes | None:
        """The stored snapshot under `key` if it has this fingerprint, else None."""
        stmt = select(TitleIndexRow.data).where(
            TitleIndexRow.key == key, TitleIndexRow.fingerprint == fingerprint
        )
        async with self._sessions() as s:
            return await s.scalar(stmt)

    async def save(self, key: str, fingerprint: str, data: bytes) -> None:
        """Store a snapshot under `key`, replacing the one before (the last writer wins)."""
        async with self._sessions.begin() as s:
            # Delete and insert in one transaction rather than a dialect's upsert: two
            # processes saving at once both succeed on SQLite and PostgreSQL alike, or one
            # fails on the key and keeps the other's, equally good, snapshot.
            await s.execute(delete(TitleIndexRow).where(TitleIndexRow.key == key))
            s.add(TitleIndexRow(key=key, fingerprint=fingerprint, data=data))
