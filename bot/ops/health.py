"""Liveness and readiness: what /healthz and /readyz answer."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import text

from bot.app import App
from bot.port import Adapter

DB_TIMEOUT = 5.0  # seconds the readiness probe waits for the database


@dataclass(frozen=True)
class Readiness:
    """Ready when `problems` is empty; each problem is one line for the operator."""

    problems: tuple[str, ...]

    @property
    def ready(self) -> bool:
        return not self.problems


def adapter_connected(adapter: Adapter) -> bool:
    """An adapter's own word on its connection; one that keeps none (the console) is."""
    connected = getattr(adapter, "connected", None)
    return True if connected is None else bool(connected)


def poll_max_age(app: App) -> timedelta:
    """How old the last complete poll may be: READY_POLL_MAX_AGE_MINUTES, or three intervals."""
    minutes = app.settings.ready_poll_max_age_minutes
    return timedelta(minutes=minutes or 3 * app.settings.ingest_interval_minutes)


async def readiness(app: App, adapters: Mapping[str, Adapter]) -> Readiness:
    """Check the database, every adapter's connection and the freshness of the papers."""
    problems: list[str] = []
    try:
        async with asyncio.timeout(DB_TIMEOUT), app.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        problems.append(
            f"database unreachable ({type(exc).__name__}: {reason[0] if reason else 'timeout'})"
        )
    database_ok = not problems
    for platform, adapter in sorted(adapters.items()):
        if not adapter_connected(adapter):
            problems.append(f"{platform} is not connected")
    if app.online and database_ok:  # the offline sample has no polls to be late
        problems.extend(await _poll_problems(app))
    return Readiness(tuple(problems))


async def _poll_problems(app: App) -> list[str]:
    status = await app.state.ingest_status()
    done = status.last_complete_round_at
    limit = poll_max_age(app)
    if done is None:
        return ["no complete Hugging Face poll yet"]
    age = app.clock() - done
    if age > limit:
        minutes = int(age.total_seconds() // 60)
        why = f"; last error: {status.last_error}" if status.failing and status.last_error else ""
        return [
            f"the last complete Hugging Face poll was {minutes} min ago "
            f"(more than {int(limit.total_seconds() // 60)}){why}"
        ]
    return []
