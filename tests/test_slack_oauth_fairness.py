"""Fair delivery across workspaces: one workspace's 429 storm or backlog never delays another.

Measured: the time from the sender's start until the calm workspace's digest is posted,
while every post to the stormy one is answered 429 with `Retry-After: 20`. Shared by the
whole platform (as in single-workspace mode), that hold would delay the calm workspace by
20 s; per workspace it is not delayed at all. Two workers only, fewer than the stormy
workspace's items, so a worker waiting out a storm would starve the other workspace.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from adapters.slack import SlackAdapter
from bot.app import App
from bot.commands import build_registry
from bot.core import Core
from bot.delivery.sender import Sender
from bot.storage.models import OutboxRow
from tests.fakes.slack_server import FakeSlack
from tests.oauth_helpers import command, install, start_multi, text_of

log = logging.getLogger(__name__)

STORMY_CHANNELS = 6
RETRY_AFTER = 20


@pytest.fixture
async def multi(sample_app: App, slack: FakeSlack) -> AsyncIterator[SlackAdapter]:
    adapter = await start_multi(Core(sample_app, build_registry()), slack)
    yield adapter
    await adapter.stop()


async def until(condition: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    """Wait for a condition (what the test waits on, not a delay)."""
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            raise TimeoutError
        await asyncio.sleep(0.01)


async def stormy_items_put_back(app: App) -> list[OutboxRow] | None:
    """The stormy workspace's items, once every one is back in the outbox for later."""
    async with app.sessions() as s:
        rows = list((await s.scalars(select(OutboxRow).where(OutboxRow.sent_at.is_(None)))).all())
    later = app.clock() + timedelta(seconds=RETRY_AFTER - 1)
    if len(rows) == STORMY_CHANNELS and all(
        r.claimed_by is None and r.next_attempt_at >= later for r in rows
    ):
        return rows
    return None


async def test_a_429_storm_in_one_workspace_does_not_delay_another(
    multi: SlackAdapter, slack: FakeSlack, sample_app: App
) -> None:
    await install(multi, slack, "T1")
    await install(multi, slack, "T2")
    for i in range(STORMY_CHANNELS):
        [ok] = await command(multi, slack, "T1", "subscribe diffusion", channel=f"C{i}")
        assert "Subscribed" in text_of(ok)
        await command(multi, slack, "T1", "digest now", channel=f"C{i}")
    await command(multi, slack, "T2", "subscribe diffusion", channel="C0")
    await command(multi, slack, "T2", "digest now", channel="C0")
    slack.fail(
        "chat.postMessage", "ratelimited", status=429, retry_after=RETRY_AFTER, team="T1",
        times=10_000,
    )  # fmt: skip
    sender = Sender(sample_app, {"slack": multi}, concurrency=2)
    stop = asyncio.Event()
    started = time.monotonic()
    task = asyncio.create_task(sender.run(stop, poll=0.05))
    try:

        async def calm_posted() -> bool:
            return any(m["team"] == "T2" for m in slack.messages)

        async def stormy_back() -> bool:
            return await stormy_items_put_back(sample_app) is not None

        await until(calm_posted)
        calm = time.monotonic() - started
        # Every stormy item is put back for after the storm's Retry-After, not waited on.
        await until(stormy_back)
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 15)
    log.warning("calm workspace's digest posted %.2f s into a 429 storm elsewhere", calm)
    assert calm < RETRY_AFTER / 4, calm
    assert [m["team"] for m in slack.messages] == ["T2"]
    # The held workspace is not hammered: at most one try per worker hit its 429.
    stormy_calls = [c for c in slack.calls_to("chat.postMessage") if slack.team_of(c) == "T1"]
    assert 1 <= len(stormy_calls) <= 2
    rows = await stormy_items_put_back(sample_app)
    assert rows is not None
    for row in rows:  # due again after the storm, never given up nor counted as a failure
        assert row.status == "pending" and row.attempts == 0
