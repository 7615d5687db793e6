"""Platforms whose credentials stopped working: no sending there until they work again.

An `invalid_auth` or `token_revoked` says nothing about the destination: disabling every
channel one by one would leave them all off after the token is fixed. Instead the sender
stops claiming that platform's items, tries one again every `RETRY_AFTER`, and the halt is
kept in the shared state, so `status` says what is wrong wherever it is asked.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from bot.storage.state_repo import StateRepo

RETRY_AFTER = 600.0  # seconds between tries while a platform refuses the bot's credentials


def state_key(platform: str) -> str:
    return f"halt:{platform}"


class PlatformHalts:
    def __init__(self, state: StateRepo, monotonic: Callable[[], float] = time.monotonic):
        self._state = state
        self._now = monotonic
        self._until: dict[str, float] = {}
        self._checked: set[str] = set()  # platforms whose stored halt this process has seen

    def halted(self, platform: str) -> bool:
        """Whether this process holds the platform's items back now."""
        return self._until.get(platform, 0.0) > self._now()

    async def halt(self, platform: str, reason: str, now: datetime) -> None:
        self._until[platform] = self._now() + RETRY_AFTER
        self._checked.discard(platform)
        await self._state.set(state_key(platform), {"reason": reason, "at": now.isoformat()})

    async def clear(self, platform: str) -> None:
        """A post went through: the platform works (again). Cheap after the first call."""
        if platform in self._checked:
            return
        self._checked.add(platform)
        self._until.pop(platform, None)
        await self._state.delete(state_key(platform))


async def halt_reason(state: StateRepo, platform: str) -> tuple[str, datetime] | None:
    """Why sending on `platform` is stopped, and since when; None if it is not."""
    value = await state.get(state_key(platform))
    if not value or "reason" not in value:
        return None
    return str(value["reason"]), datetime.fromisoformat(value["at"])
