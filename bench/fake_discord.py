"""The tests' fake Discord with Discord's rate limits, latency and failures, for the bench.

What it adds to `tests.fakes.discord_server.FakeDiscord`, on message posts:
- the global limit (`rate` requests/s for the bot), counted as a token bucket or as fixed
  1-second windows (Discord documents the size, not the counting); over it, a 429 with
  `"global": true`, `X-RateLimit-Global`/`-Scope: global` and `Via`, as discord.py expects;
- a per-route bucket per channel (5 messages per 5 s), announced on every answer with
  `X-RateLimit-Limit/-Remaining/-Reset/-Reset-After` (fractional) and `-Bucket`, and a 429
  with `X-RateLimit-Scope: user` when a client ignores it;
- a latency per request, some slow answers and some 502s (half of them after the message
  was posted: only the nonce keeps the retry from doubling it), and a nonce window of
  minutes;
- a "429 storm": from the `storm_at`-th accepted message on, `storm_seconds` of global 429s
  for every request.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from bench.limits import FixedWindows, Limiter
from tests.fakes.discord_objects import json_response
from tests.fakes.discord_server import FakeDiscord

ROUTE_LIMIT = 5
ROUTE_WINDOW = 5.0
BUCKET = "8f3c1e0b2a7d4c69"  # the message route's bucket hash (one per route, like Discord)


class LimitedDiscord(FakeDiscord):
    def __init__(
        self,
        limit: Limiter,
        *,
        latency: float = 0.04,
        slow: float = 0.005,
        errors: float = 0.002,
        seed: int = 12,
    ) -> None:
        super().__init__()
        self.limit = limit
        self.latency = latency
        self.slow, self.errors = slow, errors
        self.rng = random.Random(seed)
        self.nonce_window = 180.0  # Discord keeps nonces for "a few minutes"
        self.routes: dict[str, FixedWindows] = {}
        self.storm_at: int | None = None
        self.storm_seconds = 0.0
        self.storm: tuple[float, float] | None = None  # (start, end), monotonic
        self.accepted: list[float] = []  # when each new message was posted
        self.status: Counter[str] = Counter()  # answers by kind: ok, 429 global, 429 route, 502
        self.posts = 0  # POST .../messages requests

    def add_channels(self, ids: list[str]) -> None:
        for cid in ids:
            self.channels[cid] = {"id": cid, "type": 0, "name": f"c{cid[-4:]}", "position": 0}

    def _too_many(self, retry_after: float, *, scope: str, count: bool = True) -> web.Response:
        glob = scope == "global"
        if count:
            self.status[f"429 {scope}"] += 1
        headers = {
            "Via": "1.1 google",
            "Retry-After": str(max(1, math.ceil(retry_after))),
            "X-RateLimit-Scope": scope,
            "X-RateLimit-Global": str(glob).lower(),
        }
        body = {
            "message": "You are being rate limited.",
            "retry_after": round(retry_after, 3),
            "global": glob,
            "code": 0,
        }
        return json_response(body, 429, headers)

    def _route(self, cid: str) -> FixedWindows:
        return self.routes.setdefault(cid, FixedWindows(ROUTE_LIMIT, ROUTE_WINDOW))

    def _storming(self, now: float) -> float:
        """Seconds left of the 429 storm, starting it when its time has come."""
        if self.storm is None and self.storm_at is not None and len(self.accepted) >= self.storm_at:
            self.storm = (now, now + self.storm_seconds)
        if self.storm is not None and self.storm[0] <= now < self.storm[1]:
            return self.storm[1] - now
        return 0.0

    async def _post_message(self, request: web.Request) -> web.Response:
        self.posts += 1
        delay = self.latency * self.rng.uniform(0.8, 1.25)
        if self.rng.random() < self.slow:
            delay += self.rng.uniform(0.5, 2.0)
        await asyncio.sleep(delay)
        now = time.monotonic()
        if left := self._storming(now):
            self.status["429 in the storm"] += 1
            return self._too_many(left, scope="global", count=False)
        if wait := self.limit.take():
            return self._too_many(wait, scope="global")
        cid = request.match_info["cid"]
        route = self._route(cid)
        if wait := route.take():
            return self._too_many(wait, scope="user")
        failure = self.rng.random() < self.errors
        if failure and self.rng.random() < 0.5:
            self.status["502"] += 1
            return json_response({"message": "Bad Gateway", "code": 0}, 502)
        before = len(self.messages.get(cid, []))
        response = await super()._post_message(request)
        if len(self.messages.get(cid, [])) > before:
            self.accepted.append(now)
        if failure:  # posted, but the answer was lost on the way back
            self.status["502 after posting"] += 1
            return json_response({"message": "Bad Gateway", "code": 0}, 502)
        self.status[str(response.status)] += 1
        reset_after = route.reset_after()
        response.headers.update(
            {
                "X-RateLimit-Limit": str(ROUTE_LIMIT),
                "X-RateLimit-Remaining": str(route.remaining()),
                "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
                "X-RateLimit-Reset-After": f"{reset_after:.3f}",
                "X-RateLimit-Bucket": BUCKET,
            }
        )
        return response

    def doubled(self, channels: Iterable[str]) -> int:
        """Messages posted more than once (the same nonce twice in one channel)."""
        seen: Counter[tuple[str, Any]] = Counter(
            (cid, m.get("nonce")) for cid in channels for m in self.messages.get(cid, [])
        )
        return sum(n - 1 for n in seen.values() if n > 1)
