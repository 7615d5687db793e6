"""Rate limiters as a platform counts them: a token bucket, or fixed 1-second windows."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    """`rate` tokens a second into a bucket of `capacity`; a request takes one."""

    rate: float
    capacity: float
    clock: Callable[[], float] = time.monotonic
    tokens: float = field(init=False)
    stamp: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = self.capacity
        self.stamp = self.clock()

    def take(self) -> float:
        """Take a token: 0.0, or the seconds until one is there (nothing taken)."""
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate

    def remaining(self) -> int:
        return int(self.tokens)

    def reset_after(self) -> float:
        """Seconds until the bucket is full again."""
        return (self.capacity - self.tokens) / self.rate


@dataclass
class FixedWindows:
    """At most `limit` requests in each window [k * length, (k + 1) * length)."""

    limit: int
    length: float = 1.0
    clock: Callable[[], float] = time.monotonic
    window: int = -1
    used: int = 0

    def take(self) -> float:
        now = self.clock()
        k = math.floor(now / self.length)
        if k != self.window:
            self.window, self.used = k, 0
        if self.used < self.limit:
            self.used += 1
            return 0.0
        return (k + 1) * self.length - now

    def remaining(self) -> int:
        return self.limit - self.used

    def reset_after(self) -> float:
        return (self.window + 1) * self.length - self.clock()


Limiter = TokenBucket | FixedWindows


def limiter(model: str, rate: float, burst: float) -> Limiter:
    """The global limit as `model` ("bucket" or "windows") counts it."""
    if model == "windows":
        return FixedWindows(int(rate))
    return TokenBucket(rate, max(1.0, burst))
