"""The tests' fake Slack with chat.postMessage's rate limits and latency, for the bench.

What it adds to `tests.fakes.slack_server.FakeSlack`, on chat.postMessage:
- about 1 message per second per channel, with short bursts (a bucket of 3);
- a workspace-wide limit (`workspace_rate` messages/s, bucket of `burst`) over every
  channel: Slack documents that one exists but not its size;
- over either, HTTP 429 with an integer `Retry-After` and `{"ok": false, "error":
  "ratelimited"}`, as Slack answers;
- a latency per request and some slow answers.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter
from typing import Any

from aiohttp import web

from bench.limits import TokenBucket
from tests.fakes.slack_server import FakeSlack, _error

CHANNEL_RATE = 1.0
CHANNEL_BURST = 3.0


class LimitedSlack(FakeSlack):
    def __init__(
        self,
        workspace_rate: float,
        burst: float,
        *,
        latency: float = 0.04,
        slow: float = 0.005,
        seed: int = 13,
    ) -> None:
        super().__init__()
        self.workspace = TokenBucket(workspace_rate, max(1.0, burst))
        self.channel_buckets: dict[str, TokenBucket] = {}
        self.latency, self.slow = latency, slow
        self.rng = random.Random(seed)
        self.accepted: list[float] = []
        self.status: Counter[str] = Counter()

    def _too_many(self, wait: float, scope: str) -> web.Response:
        self.status[f"429 {scope}"] += 1
        return _error("ratelimited", status=429, headers={"Retry-After": str(math.ceil(wait))})

    async def _m_chat_postMessage(self, args: dict[str, Any]) -> web.Response:
        delay = self.latency * self.rng.uniform(0.8, 1.25)
        if self.rng.random() < self.slow:
            delay += self.rng.uniform(0.5, 2.0)
        await asyncio.sleep(delay)
        channel = str(args.get("channel"))
        bucket = self.channel_buckets.setdefault(channel, TokenBucket(CHANNEL_RATE, CHANNEL_BURST))
        if wait := self.workspace.take():
            return self._too_many(wait, "workspace")
        if wait := bucket.take():
            return self._too_many(wait, "channel")
        response = await super()._m_chat_postMessage(args)
        self.status[str(response.status)] += 1
        self.accepted.append(time.monotonic())
        return response

    def per_channel(self) -> Counter[str]:
        return Counter(m["channel"] for m in self.messages)
