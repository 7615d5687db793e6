"""Claims on platform events: of several copies of one event, only the first is acted on."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.db import rowcount
from bot.storage.models import EventClaimRow
from bot.storage.papers_repo import _insert_for

# Slack re-sends an event for up to about an hour (three retries, then Socket Mode
# reconnects replaying unacknowledged envelopes): a day covers it with room to spare.
CLAIM_LIFETIME = timedelta(days=1)


class EventClaimRepo:
    """One INSERT per event: of two processes given the same event, one wins the row."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions

    async def claim(self, key: str, now: datetime) -> bool:
        """Whether this is the first claim on `key` (within `CLAIM_LIFETIME`)."""
        async with self._sessions.begin() as s:
            # Expired claims go with each new one, so the table stays a day's events small.
            await s.execute(delete(EventClaimRow).where(EventClaimRow.expires_at <= now))
            insert = _insert_for(s)
            result = await s.execute(
                insert(EventClaimRow)
                .values(key=key[:200], expires_at=now + CLAIM_LIFETIME)
                .on_conflict_do_nothing(index_elements=["key"])
            )
        return rowcount(result) == 1
