"""Installations of an app in a platform's workspaces, and OAuth `state` values.

Platform-neutral storage: the adapter decides what an installation's `data` holds (and
encrypts its secrets before they get here); states are opaque strings consumed once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.db import rowcount
from bot.storage.models import InstallationRow, OAuthStateRow
from bot.storage.papers_repo import _insert_for


class InstallationRepo:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions

    async def put(
        self, platform: str, workspace_id: str, data: dict[str, Any], now: datetime
    ) -> None:
        """Save (or replace, on a reinstall) a workspace's installation."""
        async with self._sessions.begin() as s:
            insert = _insert_for(s)
            stmt = insert(InstallationRow).values(
                platform=platform, workspace_id=workspace_id, data=data, installed_at=now,
                updated_at=now,
            )  # fmt: skip
            await s.execute(
                stmt.on_conflict_do_update(
                    index_elements=["platform", "workspace_id"],
                    set_={"data": data, "updated_at": now},
                )
            )

    async def get(self, platform: str, workspace_id: str) -> InstallationRow | None:
        async with self._sessions() as s:
            return await s.scalar(
                select(InstallationRow).where(
                    InstallationRow.platform == platform,
                    InstallationRow.workspace_id == workspace_id,
                )
            )

    async def all(self, platform: str) -> list[InstallationRow]:
        async with self._sessions() as s:
            stmt = (
                select(InstallationRow)
                .where(InstallationRow.platform == platform)
                .order_by(InstallationRow.workspace_id)
            )
            return list((await s.scalars(stmt)).all())

    async def delete(self, platform: str, workspace_id: str) -> bool:
        """Forget a workspace's installation; whether there was one."""
        async with self._sessions.begin() as s:
            result = await s.execute(
                delete(InstallationRow).where(
                    InstallationRow.platform == platform,
                    InstallationRow.workspace_id == workspace_id,
                )
            )
        return rowcount(result) > 0


class OAuthStateRepo:
    """States handed to browsers: each consumed at most once, before it expires.

    Consuming is one DELETE, so of two processes (or a replayed callback) only one wins.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions

    async def add(self, state: str, expires_at: datetime, now: datetime) -> None:
        async with self._sessions.begin() as s:
            # Expired states are swept by each new one, so the table stays as small as the
            # installs started within one lifetime.
            await s.execute(delete(OAuthStateRow).where(OAuthStateRow.expires_at <= now))
            s.add(OAuthStateRow(state=state, expires_at=expires_at))

    async def consume(self, state: str, now: datetime) -> bool:
        async with self._sessions.begin() as s:
            result = await s.execute(
                delete(OAuthStateRow).where(
                    OAuthStateRow.state == state, OAuthStateRow.expires_at > now
                )
            )
        return rowcount(result) == 1
