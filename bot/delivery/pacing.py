"""Pace requests to a platform by what its rate-limit answers say (no limit is configured).

Each 429 tells the sender two things: wait `retry_after` now, and requests are coming too
fast. The pacer spaces request starts by an interval that grows 10 % on every rate-limit
answer and shrinks 0.1 % on every success, so it settles just above the platform's real
spacing: few rejected requests (platforms punish many), and throughput close to the limit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

GROW = 1.10
SHRINK = 0.999
MIN_INTERVAL = 0.0005  # seconds; below this a platform is not rate limited in practice


class Pacer:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic):
        self._now = monotonic
        self.interval = 0.0  # seconds between request starts; 0 until the first 429
        self._next = 0.0

    async def wait(self) -> None:
        """Wait for this request's turn."""
        while True:
            now = self._now()
            start = max(now, self._next)
            if start - now <= 0:
                self._next = start + self.interval
                return
            # Sleep, then look again: a rate-limit answer may have pushed the turn further.
            await asyncio.sleep(start - now)

    def limited(self, retry_after: float) -> None:
        """The platform said 429: hold everyone for `retry_after` and slow down."""
        self.interval = max(MIN_INTERVAL, self.interval * GROW, min(retry_after, 1.0) * 0.5)
        self._next = max(self._next, self._now() + retry_after)

    def succeeded(self) -> None:
        if self.interval:
            self.interval *= SHRINK
