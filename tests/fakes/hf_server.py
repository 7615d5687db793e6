"""A local stand-in for the Hugging Face papers API, served over real HTTP on 127.0.0.1.

It answers `/api/daily_papers` (slicing each day's items by `limit` and `p` like the real
endpoint), `/api/papers/{id}`, `/api/papers/search` and `/api/arxiv/{id}/repos` (the repos
citing a paper, from `repos`; `{"models": [], "datasets": [], "spaces": []}` for one it
does not hold), records every request, and can be
scripted to fail: queue answers with `script()` (status, headers, delay) or fail forever with
`fail_always()`; fail one date's list only with `fail_day()`, or hold its answer (a request in
flight) with `hold_day()` until the test releases it.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import web


@dataclass
class Recorded:
    """One request as the server saw it."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class Scripted:
    """An answer to give instead of the normal one (status 0 = answer normally after `delay`)."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0


@dataclass
class Hold:
    """A date whose answer waits: `reached` is set when a request for it arrives."""

    reached: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)


class FakeHF:
    """Serve canned HF answers and record what the client asked."""

    def __init__(self) -> None:
        self.days: dict[str, list[dict[str, Any]]] = {}
        self.papers: dict[str, dict[str, Any]] = {}
        self.search_results: list[dict[str, Any]] = []
        # arXiv id -> the /api/arxiv/{id}/repos answer; a test may change it between fetches.
        self.repos: dict[str, dict[str, Any]] = {}
        self.requests: list[Recorded] = []
        self._script: deque[Scripted] = deque()
        self._always: Scripted | None = None
        self._day_faults: dict[str, int] = {}
        self._holds: dict[str, Hold] = {}
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.token: str | None = None  # the token whoami-v2 accepts

    def script(self, *answers: Scripted) -> None:
        """Queue answers for the next requests, one each, before normal service resumes."""
        self._script.extend(answers)

    def fail_always(self, status: int = 500) -> None:
        """Answer every request with `status` from now on."""
        self._always = Scripted(status=status, body={"error": "Internal Error"})

    def fail_day(self, day: str, status: int = 500) -> None:
        """Answer `date=day` with `status` until `heal_day`; other dates work."""
        self._day_faults[day] = status

    def heal_day(self, day: str) -> None:
        self._day_faults.pop(day, None)
        if (hold := self._holds.pop(day, None)) is not None:
            hold.release.set()

    def hold_day(self, day: str) -> Hold:
        """Keep requests for `date=day` waiting until `release` is set (or the client gives up)."""
        hold = self._holds[day] = Hold()
        return hold

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_get("/api/daily_papers", self._daily)
        app.router.add_get("/api/papers/search", self._search)
        app.router.add_get("/api/papers/{id}", self._paper)
        app.router.add_get("/api/whoami-v2", self._whoami)
        app.router.add_get("/api/arxiv/{id}/repos", self._repos)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for hold in self._holds.values():
            hold.release.set()  # answer what still waits, so shutdown does not
        if self._runner is not None:
            await self._runner.cleanup()

    async def _scripted(self, request: web.Request) -> web.Response | None:
        self.requests.append(Recorded(request.path, dict(request.query), dict(request.headers)))
        answer = self._always or (self._script.popleft() if self._script else None)
        if answer is None:
            return None
        if answer.delay:
            await asyncio.sleep(answer.delay)
        if not answer.status:
            return None
        return web.json_response(answer.body, status=answer.status, headers=answer.headers)

    async def _daily(self, request: web.Request) -> web.Response:
        if (scripted := await self._scripted(request)) is not None:
            return scripted
        day = request.query.get("date", "")
        if (hold := self._holds.get(day)) is not None:
            hold.reached.set()
            await hold.release.wait()
        if (status := self._day_faults.get(day)) is not None:
            return web.json_response({"error": "Internal Error"}, status=status)
        try:
            limit = int(request.query.get("limit", "50"))
            page = int(request.query.get("p", "0"))
        except ValueError:
            return web.json_response({"error": "bad limit or p"}, status=400)
        if limit > 100:
            return web.json_response({"error": "Too big: expected number to be <=100"}, status=400)
        items = self.days.get(request.query.get("date", ""), [])
        return _json(items[page * limit : (page + 1) * limit])

    async def _paper(self, request: web.Request) -> web.Response:
        if (scripted := await self._scripted(request)) is not None:
            return scripted
        paper = self.papers.get(request.match_info["id"])
        if paper is None:
            return web.json_response({"error": "Entry not found"}, status=404)
        return _json(paper)

    async def _search(self, request: web.Request) -> web.Response:
        if (scripted := await self._scripted(request)) is not None:
            return scripted
        return _json(self.search_results)

    async def _repos(self, request: web.Request) -> web.Response:
        if (scripted := await self._scripted(request)) is not None:
            return scripted
        empty: dict[str, Any] = {"models": [], "datasets": [], "spaces": []}
        return _json(self.repos.get(request.match_info["id"], empty))

    async def _whoami(self, request: web.Request) -> web.Response:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if self.token is None or given != self.token:
            return web.json_response(
                {"error": "Invalid credentials in Authorization header"}, status=401
            )
        return _json({"type": "user", "name": "paperbot-operator"})


def _json(data: Any) -> web.Response:
    # Mimic HF's compact JSON; ensure_ascii=False keeps non-ASCII names as real UTF-8. A lone
    # surrogate has no UTF-8 form: HF (JavaScript's JSON.stringify) sends it as "\ud800".
    text = json.dumps(data, ensure_ascii=False)
    try:
        body = text.encode("utf-8")
    except UnicodeEncodeError:
        body = json.dumps(data).encode("ascii")
    return web.Response(body=body, content_type="application/json")
