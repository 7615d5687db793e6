"""A chat platform in-process, behind the port itself: no HTTP, no client library.

This is what `bench/delivery.py` measured before it drove the real adapters; it stays as a
second row, to show what the client libraries and HTTP cost. A token bucket limits it
(429 + retry_after), each post takes `latency`, and it honours the idempotency key like
Discord's nonce.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from bench.limits import TokenBucket
from bot.messages import PaperList, Reply
from bot.port import Capabilities, DeliveryError, Destination, Part, Posted


class RateLimitedPlatform:
    platform = "bench"

    def __init__(self, rate: float, latency: float, burst: float):
        self.capabilities = Capabilities(dedupes_sends=True, rate=rate)
        self.bucket = TokenBucket(rate, max(1.0, burst))
        self.latency = latency
        self.posted: Counter[str] = Counter()  # destination id -> messages posted
        self.by_key: dict[str, Posted] = {}
        self.accepted: list[float] = []
        self.requests = self.rejected = 0

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def compose(self, reply: Reply) -> list[Part]:
        return [{"papers": len(reply.items) if isinstance(reply, PaperList) else 0}]

    async def post(self, destination: Destination, part: Part, *, key: str) -> Posted:
        self.requests += 1
        await asyncio.sleep(self.latency)
        if wait := self.bucket.take():
            self.rejected += 1
            raise DeliveryError("429 Too Many Requests", retry_after=wait)
        if key and key in self.by_key:
            return self.by_key[key]
        self.posted[destination.id] += 1
        self.accepted.append(time.monotonic())
        result = Posted(f"m{self.requests}")
        if key:
            self.by_key[key] = result
        return result
