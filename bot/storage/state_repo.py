"""Small named facts shared by every process: the ingest status, the last prune."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.models import StateRow

INGEST_KEY = "ingest"
# Before the typed status, a successful round wrote {"at", "through"} here.
LEGACY_OK_KEY = "ingest_ok"


@dataclass(frozen=True)
class IngestStatus:
    """What the polls of the paper source have achieved, written once per poll round.

    A round polls a few days (yesterday and today, and days missed while down); it is
    complete when every recent day it polled (yesterday and today at the time) was fetched
    and stored. Digests wait for a complete round (see `bot.delivery.sweep`).
    """

    # When the last complete round ended, and which days it polled.
    last_complete_round_at: datetime | None = None
    last_round_days: tuple[date, ...] = ()
    # The latest failure of any round: "2025-02-03: Hugging Face answered 500", and when.
    last_error: str | None = None
    last_error_at: datetime | None = None
    failing_since: datetime | None = None  # the first error after the last complete round
    # Per day, when its list was last fetched and stored (the last few days only).
    day_ok: tuple[tuple[date, datetime], ...] = ()
    # Days that failed in the last round: the next round polls them again.
    retry_days: tuple[date, ...] = ()
    # Papers of the last round the database refused ("2025-02-03: paper 2501.00001: why").
    skipped_items: tuple[str, ...] = ()

    @property
    def failing(self) -> bool:
        """Whether the source failed since the last complete round (not: never polled yet)."""
        if self.last_error_at is None:
            return False
        done = self.last_complete_round_at
        return done is None or self.last_error_at > done

    def ok_at(self, day: date) -> datetime | None:
        return dict(self.day_ok).get(day)

    def to_json(self) -> dict[str, Any]:
        return {
            "last_complete_round_at": _iso(self.last_complete_round_at),
            "last_round_days": [d.isoformat() for d in self.last_round_days],
            "last_error": self.last_error,
            "last_error_at": _iso(self.last_error_at),
            "failing_since": _iso(self.failing_since),
            "day_ok": [[d.isoformat(), t.isoformat()] for d, t in self.day_ok],
            "retry_days": [d.isoformat() for d in self.retry_days],
            "skipped_items": list(self.skipped_items),
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> IngestStatus:
        return cls(
            last_complete_round_at=_at(value.get("last_complete_round_at")),
            last_round_days=tuple(date.fromisoformat(d) for d in value.get("last_round_days", ())),
            last_error=value.get("last_error"),
            last_error_at=_at(value.get("last_error_at")),
            failing_since=_at(value.get("failing_since")),
            day_ok=tuple((date.fromisoformat(d), _stamp(t)) for d, t in value.get("day_ok", ())),
            retry_days=tuple(date.fromisoformat(d) for d in value.get("retry_days", ())),
            skipped_items=tuple(value.get("skipped_items", ())),
        )


def _from_legacy(value: dict[str, Any] | None) -> IngestStatus:
    """The status a database upgraded from the old keys starts with, so that the first
    round after the upgrade still catches up the days missed while the bot was down."""
    if not value or "at" not in value or "through" not in value:
        return IngestStatus()
    at, through = _stamp(value["at"]), date.fromisoformat(value["through"])
    return IngestStatus(
        last_complete_round_at=at,
        last_round_days=(through - timedelta(days=1), through),
        day_ok=((through, at),),
    )


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


def _stamp(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _at(text: str | None) -> datetime | None:
    return _stamp(text) if text else None


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

    async def delete_stale(self, prefix: str, before: datetime) -> int:
        """Delete the facts whose key starts with `prefix`, last set before `before`."""
        async with self._sessions.begin() as s:
            result = await s.execute(
                delete(StateRow).where(
                    StateRow.key.startswith(prefix, autoescape=True),
                    StateRow.updated_at < before,
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)

    async def ingest_status(self) -> IngestStatus:
        """The ingest status; empty before the first poll round."""
        value = await self.get(INGEST_KEY)
        if value:
            return IngestStatus.from_json(value)
        return _from_legacy(await self.get(LEGACY_OK_KEY))

    async def save_ingest_status(self, status: IngestStatus, now: datetime) -> None:
        await self.set(INGEST_KEY, status.to_json(), now=now)
