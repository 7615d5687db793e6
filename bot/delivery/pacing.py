"""Pace request starts to a platform's documented rate, and hold them after a rate limit.

A platform that documents a limit for the bot as a whole (Discord: 50 requests/s) gets its
requests spaced evenly at a little under it, so that neither a token bucket nor fixed
1-second windows see more than the limit, whatever the platform's counting. Per-route
buckets are the client library's business (discord.py waits on them itself), so nothing
here paces per channel.

A rate-limit answer that reaches the sender (the library gave up waiting it out) holds
every request until its `retry_after` has passed; the rate itself is not lowered, so the
platform is back at full speed the moment the hold ends, instead of crawling for thousands
of sends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

# The share of the documented rate the sender uses: room for the clock skew and network
# jitter between here and the platform's counter, so that jittered arrivals stay inside it.
HEADROOM = 0.95
# Requests that may start back to back after the sender fell behind (a stall, a slow
# claim): enough to catch up a little, too few to overflow a small bucket or a window.
CATCH_UP = 2


class Pacer:
    def __init__(
        self,
        rate: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ):
        self._now = monotonic
        self._sleep = sleep
        # Seconds between request starts; 0 for a platform with no documented limit.
        self.interval = 1.0 / (rate * HEADROOM) if rate else 0.0
        self._next = 0.0  # the earliest start of the next request
        self._hold = 0.0  # no request starts before this (a rate-limit answer's wait)
        # Waiters queue here in order, so one timer runs per turn instead of every waiter
        # waking at each turn to find it taken (on a loaded machine that made turns late).
        self._line = asyncio.Lock()
        self._waiting = 0  # requests in line

    def backlog(self) -> float:
        """Seconds a request asking now would wait for its turn (0: it would start at once)."""
        start = max(self._next, self._hold) + self._waiting * self.interval
        return max(0.0, start - self._now())

    async def wait(self) -> None:
        """Wait for this request's turn."""
        self._waiting += 1
        try:
            await self._wait()
        finally:
            self._waiting -= 1

    async def _wait(self) -> None:
        async with self._line:
            while True:
                now = self._now()
                start = max(self._next, self._hold)
                if start <= now:
                    # A late request does not push the schedule back, but only CATCH_UP of
                    # the missed turns may be used at once.
                    self._next = max(self._next, now - CATCH_UP * self.interval) + self.interval
                    return
                # Sleep, then look again: a rate-limit answer may have pushed the turn on.
                await self._sleep(start - now)

    def limited(self, retry_after: float) -> None:
        """The platform said 429 and the library did not wait it out: hold everyone."""
        self._hold = max(self._hold, self._now() + retry_after)

    def held_for(self) -> float:
        """Seconds until requests may start again after a rate-limit answer (0 if none)."""
        return max(0.0, self._hold - self._now())
