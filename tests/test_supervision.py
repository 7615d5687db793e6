"""Adapters are isolated: one crashing is restarted with backoff and shown in status, while
the other platform and the scheduler carry on."""

from __future__ import annotations

import asyncio
import random
import signal
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.discord import DiscordAdapter, load_discord_config
from bot.app import App
from bot.commands import build_registry
from bot.core import Core
from bot.health import HealthBoard, State
from bot.messages import Reply
from bot.port import Capabilities, Destination, Part, Posted
from bot.scheduler import DeliveryScheduler
from bot.settings import ConfigError
from bot.supervision import Backoff, Supervisor
from tests.discord_helpers import env_for, say
from tests.fakes.discord_server import FakeDiscord
from tests.helpers import FakeClock


class GatedSleep:
    """An injected sleep that returns only when the test lets it: backoff without waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self._gates: list[asyncio.Event] = []
        self.called = asyncio.Condition()

    async def __call__(self, seconds: float) -> None:
        gate = asyncio.Event()
        async with self.called:
            self.delays.append(seconds)
            self._gates.append(gate)
            self.called.notify_all()
        await gate.wait()

    async def wait_for_call(self, n: int) -> None:
        """Wait until the supervisor has begun its `n`-th backoff."""
        async with self.called:
            await asyncio.wait_for(self.called.wait_for(lambda: len(self.delays) >= n), 10)

    def release(self) -> None:
        for gate in self._gates:
            gate.set()


class CrashingAdapter:
    """A chat adapter whose start() fails `crashes` times (like a socket lost for good)."""

    platform = "slack"
    capabilities = Capabilities()

    def __init__(self, crashes: int, error: Exception | None = None) -> None:
        self.crashes = crashes
        self.error = error or ConnectionError("socket mode connection lost for good")
        self.starts = 0
        self.serving = asyncio.Event()
        self._stopped = asyncio.Event()
        self.clock: FakeClock | None = None
        self.runs_for = timedelta()  # how long each failing run lasts, on the fake clock

    async def start(self) -> None:
        self.starts += 1
        if self.starts <= self.crashes:
            if self.clock is not None:
                self.clock.advance(seconds=self.runs_for.total_seconds())
            raise self.error
        self.serving.set()
        await self._stopped.wait()

    async def stop(self) -> None:
        self._stopped.set()

    def compose(self, reply: Reply) -> list[Part]:
        return [{"text": str(reply)}]

    async def post(self, destination: Destination, part: Part, *, key: str) -> Posted:
        return Posted("1")

    async def find_posted(self, destination: Destination, key: str) -> Posted | None:
        return None


def supervise(
    adapter: Any, board: HealthBoard, clock: FakeClock, sleep: GatedSleep, **backoff: float
) -> Supervisor:
    return Supervisor(
        adapter,
        board,
        clock,
        backoff=Backoff(**backoff) if backoff else None,
        sleep=sleep,
        rng=random.Random(7),
    )


async def test_a_crashing_adapter_comes_back_after_growing_backoff(clock: FakeClock) -> None:
    board, sleep = HealthBoard(), GatedSleep()
    adapter = CrashingAdapter(crashes=3)
    sup = supervise(adapter, board, clock, sleep, base=2.0, cap=5.0, jitter=0.25)
    task = asyncio.create_task(sup.run())
    for n in (1, 2, 3):
        await sleep.wait_for_call(n)
        health = board.get("slack")
        assert health is not None and health.state is State.RESTARTING
        assert health.last_error == "ConnectionError: socket mode connection lost for good"
        assert health.next_try_at == clock() + timedelta(seconds=sleep.delays[-1])
        assert health.restarts == n - 1
        sleep.release()
    await asyncio.wait_for(adapter.serving.wait(), 5)
    # 2 s, 4 s, then the 8 s that the cap holds at 5 s; jitter takes off at most a quarter.
    for delay, full in zip(sleep.delays, (2.0, 4.0, 5.0), strict=True):
        assert 0.75 * full <= delay <= full
    assert len(set(sleep.delays)) == 3  # jittered, not a fixed schedule
    health = board.get("slack")
    assert health is not None and health.state is State.RUNNING and health.restarts == 3
    await sup.stop()
    await asyncio.wait_for(task, 5)
    assert board.get("slack").state is State.STOPPED  # type: ignore[union-attr]
    assert adapter.starts == 4


async def test_a_long_healthy_run_starts_the_backoff_over(clock: FakeClock) -> None:
    board, sleep = HealthBoard(), GatedSleep()
    adapter = CrashingAdapter(crashes=3)
    adapter.clock, adapter.runs_for = clock, timedelta(minutes=5)  # each run was healthy
    sup = supervise(adapter, board, clock, sleep, base=1.0, cap=300.0, jitter=0.0)
    task = asyncio.create_task(sup.run())
    for n in (1, 2, 3):
        await sleep.wait_for_call(n)
        sleep.release()
    await asyncio.wait_for(adapter.serving.wait(), 5)
    assert sleep.delays == [1.0, 1.0, 1.0]
    await sup.stop()
    await asyncio.wait_for(task, 5)


async def test_stop_during_backoff_is_prompt(clock: FakeClock) -> None:
    board, sleep = HealthBoard(), GatedSleep()
    adapter = CrashingAdapter(crashes=1)
    sup = supervise(adapter, board, clock, sleep, base=3600.0, cap=3600.0)
    task = asyncio.create_task(sup.run())
    await sleep.wait_for_call(1)  # waiting an hour, which the gate never ends
    await sup.stop()
    await asyncio.wait_for(task, 1)
    assert adapter.starts == 1  # not started again after the stop
    assert board.get("slack").state is State.STOPPED  # type: ignore[union-attr]


async def test_a_rejected_configuration_is_fatal_only_at_start_up(clock: FakeClock) -> None:
    board, sleep = HealthBoard(), GatedSleep()
    bad = CrashingAdapter(crashes=1, error=ConfigError("SLACK_BOT_TOKEN: invalid_auth"))
    with pytest.raises(ConfigError):
        await supervise(bad, board, clock, sleep).run()
    assert board.get("slack").state is State.FAILED  # type: ignore[union-attr]

    # Rejected after a long first run: not start-up any more, so failed without a raise.
    long_run = CrashingAdapter(crashes=1, error=ConfigError("SLACK_BOT_TOKEN: token_revoked"))
    long_run.clock, long_run.runs_for = clock, timedelta(hours=5)
    await asyncio.wait_for(supervise(long_run, board, clock, sleep).run(), 5)
    assert board.get("slack").state is State.FAILED and long_run.starts == 1  # type: ignore[union-attr]

    # Revoked while running: marked failed, not restarted (no retry can fix it), no raise.
    later = CrashingAdapter(crashes=2)
    errors = iter([ConnectionError("lost"), ConfigError("SLACK_BOT_TOKEN: token_revoked")])

    async def start() -> None:
        later.starts += 1
        raise next(errors)

    later.start = start  # type: ignore[method-assign]
    sup = supervise(later, board, clock, sleep)
    task = asyncio.create_task(sup.run())
    await sleep.wait_for_call(1)
    sleep.release()
    await asyncio.wait_for(task, 5)
    health = board.get("slack")
    assert health is not None and health.state is State.FAILED
    assert health.last_error == "SLACK_BOT_TOKEN: token_revoked" and later.starts == 2


# ----- end to end: real discord.py against the fake Discord, the real scheduler -----------


@pytest.fixture
async def discord_adapter(fake: FakeDiscord, sample_app: App) -> DiscordAdapter:
    config = load_discord_config(env_for(fake))
    assert config is not None
    return DiscordAdapter(Core(sample_app, build_registry()), config, guild_ready_timeout=0.05)


@pytest.fixture
async def process(
    fake: FakeDiscord, sample_app: App, discord_adapter: DiscordAdapter
) -> AsyncIterator[dict[str, Any]]:
    """What `paperbot run` starts: both adapters supervised, and the scheduler."""
    sleep = GatedSleep()
    slack = CrashingAdapter(crashes=2)
    clock = sample_app.clock
    sups = [
        supervise(a, sample_app.health, clock, sleep)  # type: ignore[arg-type]
        for a in (discord_adapter, slack)
    ]
    scheduler = DeliveryScheduler(sample_app, {"discord": discord_adapter, "slack": slack})
    tasks = [asyncio.create_task(s.run()) for s in sups]
    await scheduler.start()
    try:
        yield {"sleep": sleep, "slack": slack, "scheduler": scheduler, "tasks": tasks}
    finally:
        await scheduler.stop()
        for s in sups:
            await s.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)


def status_text(msgs: list[dict[str, Any]]) -> str:
    return str([(f["name"], f["value"]) for m in msgs for e in m["embeds"] for f in e["fields"]])


async def test_discord_serves_and_delivers_while_slack_is_down(
    fake: FakeDiscord, discord_adapter: DiscordAdapter, process: dict[str, Any]
) -> None:
    sleep: GatedSleep = process["sleep"]
    await asyncio.wait_for(discord_adapter.ready.wait(), 10)
    await sleep.wait_for_call(1)  # Slack crashed and waits for its restart
    msgs = await say(fake, "status")
    assert "Slack down since" in status_text(msgs) and "reconnecting at" in status_text(msgs)
    assert "Discord connected" in status_text(msgs)

    # Discord keeps serving commands, and the scheduler's sender keeps posting to it.
    await say(fake, "subscribe", {"query": "diffusion"})
    [ack] = await say(fake, "digest", sub="now")
    assert ack["content"].startswith("✅ Posting a digest of")
    await fake.wait_until(lambda: fake.messages.get(fake.channel_id), within=15)
    assert process["scheduler"]._sender_task is not None
    assert not process["scheduler"]._sender_task.done()

    sleep.release()  # the first restart fails again, the second works
    await sleep.wait_for_call(2)
    sleep.release()
    await asyncio.wait_for(process["slack"].serving.wait(), 5)
    msgs = await say(fake, "status")
    assert "Slack connected (2 restarts so far), last lost" in status_text(msgs)
    assert not any(t.done() for t in process["tasks"])


async def test_a_gateway_session_that_cannot_resume_is_restarted(
    fake: FakeDiscord, discord_adapter: DiscordAdapter, process: dict[str, Any]
) -> None:
    sleep: GatedSleep = process["sleep"]
    await asyncio.wait_for(discord_adapter.ready.wait(), 10)
    await sleep.wait_for_call(1)
    sleep.release()  # let Slack's restarts go first; they are not this test's subject
    await sleep.wait_for_call(2)
    sleep.release()
    await asyncio.wait_for(process["slack"].serving.wait(), 5)

    await fake.end_sessions(4010)  # "invalid shard": discord.py gives up on this session
    await sleep.wait_for_call(3)
    board = discord_adapter.core.app.health
    health = board.get("discord")
    assert health is not None and health.state is State.RESTARTING
    assert health.last_error is not None and "4010" in health.last_error
    assert fake.connected == 0
    assert board.get("slack").state is State.RUNNING  # type: ignore[union-attr]

    identifies = len(fake.identifies)
    sleep.release()
    await fake.wait_until(lambda: fake.connected and len(fake.identifies) > identifies, 10)
    await asyncio.wait_for(discord_adapter.ready.wait(), 10)
    msgs = await say(fake, "status")
    assert "Discord connected (1 restart so far), last lost" in status_text(msgs)
    assert "4010" in status_text(msgs)


async def test_paperbot_run_restarts_discord_after_a_session_lost_for_good(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    from tests.test_discord_run import paperbot, run_env

    proc = await paperbot(run_env(fake, tmp_path), tmp_path, "run")
    try:
        await fake.wait_until(lambda: fake.connected and "global" in fake.synced, 30)
        await fake.end_sessions(4010)
        # The first restart waits 0.75-1 s (base 1 s, jitter); then a new session identifies.
        await fake.wait_until(lambda: fake.connected and len(fake.identifies) == 2, 20)
        msgs = await say(fake, "status")
        assert "Discord connected (1 restart so far), last lost" in status_text(msgs)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, stderr.decode()[-2000:]
    assert "restarting the discord adapter in" in stderr.decode()


def test_status_line_for_each_state(clock: FakeClock) -> None:
    from bot.commands.status import connections_line

    board = HealthBoard()
    assert connections_line(board, "UTC") is None  # nothing supervised (the console)
    board.set("discord", State.RUNNING, clock())
    board.set(
        "slack",
        State.RESTARTING,
        clock(),
        restarts=2,
        last_error="ConnectionError: lost",
        next_try_at=clock() + timedelta(minutes=1),
    )
    assert connections_line(board, "UTC") == (
        "Discord connected; Slack down since Tue 2024-12-24 10:00 UTC (ConnectionError: lost), "
        "reconnecting at Tue 2024-12-24 10:01 UTC (2 restarts so far); the other platforms and "
        "digests carry on"
    )
    board.set("slack", State.FAILED, clock(), last_error="SLACK_BOT_TOKEN: token_revoked")
    assert connections_line(board, "UTC") == (
        "Discord connected; Slack stopped: SLACK_BOT_TOKEN: token_revoked; fix that and "
        "restart paperbot"
    )
