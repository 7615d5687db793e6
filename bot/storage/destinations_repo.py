"""Destinations: the channels and users the bot posts to, with their settings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.messages import Place, User
from bot.port import Destination
from bot.storage.db import rowcount
from bot.storage.models import LOOK_NOW, DestinationRow
from bot.storage.papers_repo import _insert_for

CHANNEL = "channel"
USER = "user"


def key_for(user: User, place: Place, *, personal: bool = False) -> tuple[str, str, str]:
    """(platform, kind, external id) of the destination a command acts on.

    In a DM, or when the user asks for it (`personal`), that is the user; otherwise the channel.
    """
    if personal or place.is_dm:
        return (user.platform, USER, user.id)
    return (place.platform, CHANNEL, place.id)


def to_port(row: DestinationRow) -> Destination:
    return Destination(
        platform=row.platform,
        kind=row.kind,
        id=row.external_id,
        address=row.address,
        workspace=row.workspace_id,
    )


def describe(row: DestinationRow) -> str:
    """How users read a destination: "this channel" / "your DMs" style labels."""
    if row.kind == USER:
        return "your direct messages"
    return f"#{row.name}" if row.name else "this channel"


def look_now(row: DestinationRow) -> None:
    """Have the next sweep look at `row` (a setting changed: a post may be due sooner)."""
    # The version tells a sweep computing its due time meanwhile not to store what it found.
    row.next_due_at = LOOK_NOW
    row.due_version = (row.due_version or 0) + 1


def look_now_values() -> dict[str, Any]:
    """`look_now` as UPDATE values, for statements that change a destination's posts."""
    return {"next_due_at": LOOK_NOW, "due_version": DestinationRow.due_version + 1}


class DestinationRepo:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], default_timezone: str = "UTC"):
        self._sessions = sessions
        self._tz = default_timezone

    async def find(
        self, user: User, place: Place, *, personal: bool = False
    ) -> DestinationRow | None:
        platform, kind, ext = key_for(user, place, personal=personal)
        async with self._sessions() as s:
            return await s.scalar(
                select(DestinationRow).where(
                    DestinationRow.platform == platform,
                    DestinationRow.kind == kind,
                    DestinationRow.external_id == ext,
                )
            )

    async def get_or_create(
        self, user: User, place: Place, *, personal: bool = False, now: datetime | None = None
    ) -> DestinationRow:
        """The destination a command acts on, created on first use (race-safe)."""
        platform, kind, ext = key_for(user, place, personal=personal)
        now = now or datetime.now(UTC)
        values: dict[str, Any] = {
            "platform": platform,
            "kind": kind,
            "external_id": ext,
            "workspace_id": place.workspace_id,
            "name": (user.name if kind == USER else place.name) or None,
            # A DM typed in is where the bot can write back to this user.
            "address": place.id if kind == USER and place.is_dm else None,
            "timezone": self._tz,
            "digest_time": "09:00",
            "digest_max": 10,
            "min_upvotes": 0,
            "weekdays_only": False,
            "paused": False,
            "alerts_mode": "daily",
            "created_at": now,
        }
        async with self._sessions.begin() as s:
            insert = _insert_for(s)
            await s.execute(
                insert(DestinationRow)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["platform", "kind", "external_id"])
            )
        row = await self.find(user, place, personal=personal)
        assert row is not None
        if row.address is None and values["address"]:
            await self.update(row.id, address=values["address"])
            row.address = values["address"]
        return row

    async def get(self, destination_id: int) -> DestinationRow | None:
        async with self._sessions() as s:
            return await s.get(DestinationRow, destination_id)

    async def update(self, destination_id: int, **values: Any) -> DestinationRow:
        """Change settings of a destination and return the updated row."""
        async with self._sessions.begin() as s:
            row = await s.get(DestinationRow, destination_id, with_for_update=True)
            if row is None:
                raise LookupError(f"destination {destination_id} is gone")
            for k, v in values.items():
                if not hasattr(row, k):
                    raise AttributeError(k)
                setattr(row, k, v)
            look_now(row)
            return row

    async def all_active(self) -> list[DestinationRow]:
        """Destinations that are neither paused nor disabled."""
        async with self._sessions() as s:
            stmt = select(DestinationRow).where(
                DestinationRow.paused.is_(False), DestinationRow.disabled_reason.is_(None)
            )
            return list((await s.scalars(stmt)).all())

    async def disable_workspace(
        self, platform: str, workspace_id: str, reason: str, now: datetime
    ) -> int:
        """Disable every destination of a workspace the bot was removed from, with `reason`.

        Its waiting messages stay in the outbox, unclaimed while it is disabled (so they are
        not retried meanwhile), and go out if `enable_workspace` brings it back.
        """
        async with self._sessions.begin() as s:
            result = await s.execute(
                update(DestinationRow)
                .where(
                    DestinationRow.platform == platform,
                    DestinationRow.workspace_id == workspace_id,
                    DestinationRow.disabled_reason.is_(None),
                )
                .values(disabled_reason=reason[:500], disabled_at=now)
            )
            return rowcount(result)

    async def enable_workspace(self, platform: str, workspace_id: str, reasons_from: str) -> int:
        """Re-enable a workspace's destinations disabled for a reason starting `reasons_from`.

        Only those: a channel disabled for its own reason (archived, bot not invited) stays
        off after a reinstall.
        """
        async with self._sessions.begin() as s:
            result = await s.execute(
                update(DestinationRow)
                .where(
                    DestinationRow.platform == platform,
                    DestinationRow.workspace_id == workspace_id,
                    DestinationRow.disabled_reason.startswith(reasons_from, autoescape=True),
                )
                .values(disabled_reason=None, disabled_at=None, **look_now_values())
            )
            return rowcount(result)
