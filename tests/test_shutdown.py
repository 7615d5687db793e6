"""Stopping mid-query: the scheduler's stop and the loop's teardown end, on every backend.

A job cancelled while inside a database call has SQLAlchemy terminate its connection in a
shielded task; a loop teardown then cancels every task left, in no fixed order. With
aiosqlite that once hung the teardown forever (bot/storage/db.py, `_closes_once_class`).
Each of those tests runs its loop on a thread of its own, so a hang fails within a bound
instead of hanging the suite. The last test is `paperbot run` as a process: SIGTERM while a
poll and a post are in flight, then a restart that must post the digest exactly once.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from bot.app import App
from tests.delivery_helpers import FakeSource, Harness, RecordingAdapter, make_app, paper, utc
from tests.fakes.discord_server import FakeDiscord
from tests.helpers import FakeClock

NOW = utc(2025, 2, 3, 9, 0)
BOUND = 15  # seconds a stopped loop gets to end; well under one when all is well
HOLD_KEY = 424242  # the advisory lock a held PostgreSQL statement waits for
CHANNEL_POSTS = r"/channels/\d+/messages"
EXIT_BOUND = 15  # seconds from SIGTERM to exit: the sender's stop grace (10 s) and margin


def tear_down(
    loop: asyncio.AbstractEventLoop,
    release: Callable[[], Awaitable[None]],
    close: Callable[[], Awaitable[None]],
) -> None:
    """What asyncio.run does after its main coroutine: cancel every task left, wait for all.

    In the order that once hung: the tasks that own connections first, SQLAlchemy's close
    tasks last (asyncio.run takes them as a set yields them). The held statement is let go
    only after every task was cancelled, as when the database answers a moment later.
    """
    left = sorted(asyncio.all_tasks(loop), key=lambda t: "_terminate" in repr(t.get_coro()))
    for task in left:
        task.cancel()
    released = loop.create_task(release())
    loop.run_until_complete(asyncio.gather(*left, released, return_exceptions=True))
    loop.run_until_complete(close())  # what `paperbot run` does last: the engine goes
    loop.run_until_complete(loop.shutdown_asyncgens())


def run_on_own_loop(
    main: Callable[[], Coroutine[Any, Any, None]],
    release: Callable[[], Awaitable[None]],
    close: Callable[[], Awaitable[None]],
) -> None:
    """Run `main`, then tear its loop down; fail if both do not end within BOUND seconds."""
    failure: list[BaseException] = []
    loops: list[asyncio.AbstractEventLoop] = []

    def thread() -> None:
        loop = asyncio.new_event_loop()
        loops.append(loop)
        try:
            loop.run_until_complete(main())
            tear_down(loop, release, close)
        except BaseException as e:  # handed to the test's thread
            failure.append(e)
        finally:
            loop.close()

    # A daemon thread: if the loop hangs, the test fails and the process can still exit.
    runner = threading.Thread(target=thread, daemon=True, name="loop-under-test")
    runner.start()
    runner.join(BOUND)
    if runner.is_alive():
        pytest.fail(f"the loop hung after a stop mid-query; its tasks: {stacks(loops[0])}")
    if failure:
        raise failure[0]


def stacks(loop: asyncio.AbstractEventLoop) -> str:
    """The stack of every task of a (hung) loop running on another thread."""
    told = threading.Event()
    lines: list[str] = []

    def dump() -> None:
        for task in asyncio.all_tasks(loop):
            frames = task.get_stack()
            where = [f"{f.f_code.co_filename}:{f.f_lineno} {f.f_code.co_name}" for f in frames]
            lines.append(f"{task.get_name()}: {' <- '.join(reversed(where))}")
        told.set()

    loop.call_soon_threadsafe(dump)
    told.wait(5)
    return "\n".join(lines)


async def closing() -> None:
    """Return once SQLAlchemy is closing a connection whose statement a cancel cut short."""
    for _ in range(10_000):  # loop turns, not time: each lets the cancelled job step on
        if any("_terminate_graceful_close" in repr(t.get_coro()) for t in asyncio.all_tasks()):
            return
        await asyncio.sleep(0)
    raise AssertionError("no connection was being closed after the stop cancelled the job")


class Hold:
    """Stop the first statement a job runs that starts with `prefix`, inside the database
    driver, until released.

    SQLite: the connection's worker thread is blocked before the statement, so the await
    SQLAlchemy makes is on the driver. PostgreSQL: the server blocks the connection on an
    advisory lock another connection holds.
    """

    def __init__(self, app: App, prefix: str) -> None:
        self.app = app
        self.prefix = prefix
        self.armed = False
        self.entered = asyncio.Event()
        self.gate = threading.Event()
        self.locker: Any = None
        event.listen(app.engine.sync_engine, "before_cursor_execute", self._before)

    def _before(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        task = asyncio.current_task()
        # The outbox sender is not cancelled by a stop but waited for: not a hold point.
        if not self.armed or task is None or task.get_name() == "outbox-sender":
            return
        if self.entered.is_set() or not statement.startswith(self.prefix):
            return
        self.entered.set()
        if conn.dialect.name == "sqlite":
            conn.connection.driver_connection._tx.put_nowait((None, self.gate.wait))
        else:
            cursor.execute(f"SELECT pg_advisory_xact_lock({HOLD_KEY})")

    async def lock(self) -> None:
        if self.app.engine.dialect.name != "sqlite":
            self.locker = await self.app.engine.connect()
            await self.locker.execute(text(f"SELECT pg_advisory_lock({HOLD_KEY})"))

    async def release(self) -> None:
        self.gate.set()
        if self.locker is not None:
            await self.locker.execute(text(f"SELECT pg_advisory_unlock({HOLD_KEY})"))
            await self.locker.close()


def harness(db_url: str) -> Harness:
    source = FakeSource()
    source.feature(NOW.date(), paper(1, "Diffusion models"), paper(2, "Diffusion again"))
    return Harness(make_app(db_url, FakeClock(NOW), source), source, RecordingAdapter())


# Statements of the start-up ingest, from its first read to the sweep it ends with.
HOLD_POINTS = [
    "SELECT state",  # the days to poll
    "INSERT INTO papers",  # the poll's writes
    "INSERT INTO paper_features",
    "DELETE FROM outbox",  # the daily prune
    "SELECT destinations.next_due_at",  # the sweep after the poll
]


@pytest.mark.parametrize("prefix", HOLD_POINTS)
def test_a_stop_mid_query_and_the_teardown_after_it_end(db_url: str, prefix: str) -> None:
    hold: list[Hold] = []
    h = harness(db_url)

    async def main() -> None:
        await h.bot.say("subscribe diffusion")
        hold.append(Hold(h.app, prefix))
        await hold[0].lock()
        await h.scheduler.start()
        # Counting starts with the jobs: start() ran its own statements, and the jobs run
        # only once this coroutine next awaits.
        hold[0].armed = True
        await asyncio.wait_for(hold[0].entered.wait(), BOUND)
        # SIGTERM mid-query: the stop cancels the job inside the database call; a second
        # signal (or the stop's grace running out) ends main, and the teardown cancels the
        # rest while the statement is still in the driver.
        stopping = asyncio.create_task(h.scheduler.stop())
        await closing()
        assert not stopping.done()

    async def release() -> None:
        await hold[0].release()

    run_on_own_loop(main, release, h.app.close)


async def _wait_for(check: Callable[[], bool], within: float) -> None:
    """Wait until `check()`: the state is in another process (its database, its requests)."""
    async with asyncio.timeout(within):
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


def _outbox_statuses(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [row[0] for row in conn.execute("SELECT status FROM outbox")]
    finally:
        conn.close()


async def test_paperbot_run_exits_at_once_on_sigterm_mid_poll_and_a_restart_posts_once(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    from tests.discord_helpers import say
    from tests.fakes.hf_server import FakeHF
    from tests.helpers import daily_item
    from tests.test_discord_run import paperbot, run_env

    today = datetime.now(UTC).date()  # the process polls by the real clock
    titles = [f"Diffusion at scale {n}" for n in range(3)]
    async with FakeHF() as hf:
        for day in (today - timedelta(days=1), today):
            hf.days[day.isoformat()] = [
                daily_item(f"2412.{n}{day.day:02d}00", f"{t} ({day})", day=day.isoformat())
                for n, t in enumerate(titles)
            ]
        env = run_env(fake, tmp_path, PAPERS_SOURCE="huggingface", HF_API_URL=hf.url)
        db = tmp_path / "bot.sqlite3"
        polling = hf.hold_day(today.isoformat())
        first = await paperbot(env, tmp_path, "run")
        try:
            await fake.wait_until(lambda: fake.connected, 30)
            await asyncio.wait_for(polling.reached.wait(), 30)  # the poll is mid-flight
            await say(fake, "subscribe", {"query": "diffusion"})
            fake.hanging[fake.channel_id] = asyncio.Event()  # the digest's post in flight too
            await say(fake, "digest", sub="now")
            await _wait_for(lambda: len(fake.requests_to("POST", CHANNEL_POSTS)) >= 1, 30)
        finally:
            first.send_signal(signal.SIGTERM)
            # Promptly: the poll is cancelled, the post in flight has the stop's grace.
            _, err1 = await asyncio.wait_for(first.communicate(), EXIT_BOUND)
        assert first.returncode == 0, err1.decode()
        assert b"Traceback" not in err1, err1.decode()
        # Discord gets the post after all (the client went, the request had arrived).
        fake.hanging.pop(fake.channel_id).set()
        hf.heal_day(today.isoformat())
        second = await paperbot(env, tmp_path, "run")
        try:
            await _wait_for(lambda: (s := _outbox_statuses(db)) and set(s) == {"sent"}, 60)
        finally:
            second.send_signal(signal.SIGTERM)
            _, err2 = await asyncio.wait_for(second.communicate(), EXIT_BOUND)
        assert second.returncode == 0, err2.decode()
        assert b"Traceback" not in err2, err2.decode()
    messages = fake.messages.get(fake.channel_id, [])
    # The post in flight at the stop was made again after the restart; Discord kept one
    # (its nonce is the outbox key).
    assert len(fake.requests_to("POST", CHANNEL_POSTS)) == len(messages) + 1
    # The embeds only: each message's select menu of 👍 👎 🔖 Similar names its papers again.
    posted = json.dumps([m["embeds"] for m in messages])
    for t in titles:  # yesterday's papers, stored before the stop: in the digest once each
        assert posted.count(f"{t} ({today - timedelta(days=1)})") == 1, posted
