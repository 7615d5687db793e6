"""Small named facts shared by every process (last ingest, last source error)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.models import StateRow


class StateRepo:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions

    async def get(self, key: str) -> dict[str, Any] | None:
        async with self._sessions() as s:
            row = await s.scalar(select(StateRow).where(StateRow.key == key))
            return dict(row.value) if row else None

    async def set(self, key: str, value: dict[str, Any], now: datetime | None = None) -> None:
        now = now or datetime.now(UTC)
        async with self._sessions.begin() as s:
            row = await s.get(StateRow, key, with_for_update=True)
            if row is None:
                s.add(StateRow(key=key, value=value, updated_at=now))
            else:
                row.value = value
                row.updated_at = now

    async def delete(self, key: str) -> None:
        async with self._sessions.begin() as s:
            row = await s.get(StateRow, key)
            if row is not None:
                await s.delete(row)
