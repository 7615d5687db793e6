"""Keep each chat adapter running on its own: restart a crashed one with backoff.

One platform failing (a crash, a Gateway session that cannot be resumed, a Slack socket lost
for good) must never stop the other platform or the scheduler: each adapter's `start()` runs
under a `Supervisor`, which logs why it stopped, records it on the `HealthBoard` that
`status` shows, waits (exponential backoff with a cap and jitter) and starts it again.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.health import HealthBoard, State
from bot.port import Adapter
from bot.settings import ConfigError

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Backoff:
    """Delays between restarts: base * 2^n up to `cap`, each with up to `jitter` taken off.

    Jitter spreads the reconnects of many bots (or shards) after a platform outage; taking
    it off (rather than adding) keeps the cap a real upper bound.
    """

    base: float = 1.0
    cap: float = 300.0
    jitter: float = 0.25  # fraction of the delay that is random
    # A run at least this long counts as healthy: the next failure starts from `base` again.
    healthy_after: float = 120.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """The wait before restart number `attempt` (1 = the first restart)."""
        full = min(self.cap, self.base * 2 ** max(0, attempt - 1))
        return full * (1 - self.jitter * rng.random())


def first_line(exc: BaseException) -> str:
    """An exception as one short line: its type and the first line of its message."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


class Supervisor:
    """Run one adapter's `start()` until `stop()`, restarting it whenever it ends early."""

    def __init__(
        self,
        adapter: Adapter,
        board: HealthBoard,
        clock: Clock,
        *,
        backoff: Backoff | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.adapter = adapter
        self.board = board
        self.clock = clock
        self.backoff = backoff or Backoff()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._stop = asyncio.Event()
        self.restarts = 0

    @property
    def platform(self) -> str:
        return self.adapter.platform

    async def run(self) -> None:
        """Serve until stopped. Raises only a ConfigError of the very first start.

        A configuration the platform rejects at start-up (a wrong token: the first start
        fails with it within `healthy_after`) is the operator's to fix before anything runs,
        so `paperbot run` exits with it as before; the same error later (a token revoked
        while running) marks the adapter failed without restarting it, since no retry can
        fix it, and the rest of the process keeps going.
        """
        attempt = 0  # consecutive failed runs, for the backoff
        ever_ran = False
        while not self._stop.is_set():
            # Running as soon as start() is under way: the port has no common "connected"
            # signal, and a start() that fails fast shows at once anyway.
            started = self.clock()
            self.board.set(self.platform, State.RUNNING, started, restarts=self.restarts)
            try:
                await self.adapter.start()
                error = "stopped without an error"
            except asyncio.CancelledError:
                raise
            except ConfigError as exc:
                ran = (self.clock() - started).total_seconds()
                if not ever_ran and ran < self.backoff.healthy_after:  # at start-up
                    self.board.set(self.platform, State.FAILED, self.clock(), last_error=str(exc))
                    raise
                self._failed(exc)
                return
            except Exception as exc:
                if self._stop.is_set():
                    break  # stopping may make start() raise; that is no crash
                log.warning("%s adapter stopped: %s", self.platform, first_line(exc), exc_info=exc)
                error = first_line(exc)
            else:
                if self._stop.is_set():
                    break
                log.warning("%s adapter stopped unexpectedly without an error", self.platform)
            ever_ran = True
            ran = (self.clock() - started).total_seconds()
            attempt = 1 if ran >= self.backoff.healthy_after else attempt + 1
            wait = self.backoff.delay(attempt, self._rng)
            now = self.clock()
            self.board.set(
                self.platform,
                State.RESTARTING,
                now,
                last_error=error,
                last_error_at=now,
                next_try_at=now + timedelta(seconds=wait),
            )
            log.info("restarting the %s adapter in %.1f s (try %d)", self.platform, wait, attempt)
            if not await self._wait(wait):
                break
            self.restarts += 1
        self.board.set(self.platform, State.STOPPED, self.clock())

    def _failed(self, exc: ConfigError) -> None:
        log.error("%s adapter stopped for good: %s", self.platform, exc)
        now = self.clock()
        self.board.set(self.platform, State.FAILED, now, last_error=str(exc), last_error_at=now)

    async def _wait(self, seconds: float) -> bool:
        """Sleep `seconds`; False at once when stopped meanwhile."""
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (sleeper, stopper):
                t.cancel()
            await asyncio.gather(sleeper, stopper, return_exceptions=True)
        return not self._stop.is_set()

    async def stop(self) -> None:
        """Stop restarting, and stop the adapter."""
        self._stop.set()
        await self.adapter.stop()
