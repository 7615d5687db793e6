"""How each chat adapter of this process is doing, as the supervisor last saw it.

Kept in memory: it describes this process's connections, which no other process shares.
`status` reads it; `bot.supervision` writes it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum


class State(StrEnum):
    RUNNING = "running"  # start() is serving
    RESTARTING = "restarting"  # it stopped unexpectedly; the next try is scheduled
    FAILED = "failed"  # stopped for a reason a restart cannot fix (a rejected token)
    STOPPED = "stopped"  # shut down on purpose


@dataclass(frozen=True)
class AdapterHealth:
    platform: str
    state: State
    since: datetime  # when it entered this state
    restarts: int = 0  # restarts since the process started
    last_error: str | None = None  # why it last stopped, one line
    last_error_at: datetime | None = None
    next_try_at: datetime | None = None  # when RESTARTING


class HealthBoard:
    """The latest AdapterHealth of every supervised adapter, by platform."""

    def __init__(self) -> None:
        self._health: dict[str, AdapterHealth] = {}

    def set(self, platform: str, state: State, at: datetime, **changes: object) -> AdapterHealth:
        """Record a new state; fields not given keep their values (restarts, last error).

        `next_try_at` belongs to one restart: it is cleared unless given.
        """
        base = self._health.get(platform) or AdapterHealth(platform, state, at)
        changes.setdefault("next_try_at", None)
        new = replace(base, state=state, since=at, **changes)  # type: ignore[arg-type]
        self._health[platform] = new
        return new

    def get(self, platform: str) -> AdapterHealth | None:
        return self._health.get(platform)

    def all(self) -> list[AdapterHealth]:
        return sorted(self._health.values(), key=lambda h: h.platform)
