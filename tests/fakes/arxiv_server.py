"""A local stand-in for the arXiv export API (`/api/query`), served over HTTP on 127.0.0.1.

Feeds are canned Atom documents: `by_id` answers `id_list=` queries, `search_feed` answers
`search_query=` queries, and anything else gets an empty feed. Every request is recorded with
its arrival time on the monotonic clock, so tests can check the client's spacing.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from aiohttp import web

EMPTY_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="html">ArXiv Query: empty</title>
  <id>http://arxiv.org/api/empty</id>
  <updated>2026-11-30T00:00:00-05:00</updated>
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">0</opensearch:totalResults>
</feed>
"""


@dataclass
class Hit:
    """One request: its query and when it arrived (time.monotonic())."""

    query: dict[str, str]
    headers: dict[str, str]
    at: float


class FakeArxiv:
    """Serve canned Atom feeds and record requests with their arrival times."""

    def __init__(self) -> None:
        self.by_id: dict[str, str] = {}
        self.search_feed = EMPTY_FEED
        self.hits: list[Hit] = []
        # (status, body) answered first; a bytes body goes out as it is (any encoding).
        self.queued: deque[tuple[int, str | bytes]] = deque()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_get("/api/query", self._query)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _query(self, request: web.Request) -> web.Response:
        self.hits.append(Hit(dict(request.query), dict(request.headers), time.monotonic()))
        if self.queued:
            status, queued = self.queued.popleft()
            if isinstance(queued, bytes):
                return web.Response(status=status, body=queued, content_type="application/atom+xml")
            return web.Response(status=status, text=queued, content_type="application/atom+xml")
        if "id_list" in request.query:
            body = self.by_id.get(request.query["id_list"], EMPTY_FEED)
        elif "search_query" in request.query:
            body = self.search_feed
        else:
            body = EMPTY_FEED
        return web.Response(text=body, content_type="application/atom+xml", charset="utf-8")
