"""The HTTP plumbing the paper sources share: retries, backoff, rate-limit waits, throttling."""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    import aiohttp

log = logging.getLogger(__name__)

DEFAULT_USER_AGENT = "paperbot/0.1 (+https://github.com/paperbot)"

Sleep = Callable[[float], Awaitable[None]]

_RATELIMIT_T_RE = re.compile(r"(?:^|;)\s*t\s*=\s*(\d+(?:\.\d+)?)")


class SourceError(Exception):
    """A paper source cannot answer right now (down, rate-limited, or refusing the request).

    The message is one whole sentence that names the service once ("Hugging Face at
    https://huggingface.co did not answer after 4 tries (HTTP 503)."): callers show it as it
    is, with their own context before it, never wrapped in another "did not answer".
    `slow` says the source was there but too slow (every try timed out), so a reply can say
    that what it shows instead came from elsewhere.
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, slow: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        self.slow = slow

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Response:
    """A finished HTTP answer: status, headers and the whole body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def retry_after_seconds(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Read how long a 429 asks us to wait: `RateLimit: ...;t=N`, else `Retry-After`."""
    ratelimit = headers.get("RateLimit")
    if ratelimit:
        match = _RATELIMIT_T_RE.search(ratelimit)
        if match:
            return float(match.group(1))
    value = (headers.get("Retry-After") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class Throttle:
    """Keep calls one at a time and at least `min_interval` seconds apart (monotonic clock)."""

    def __init__(self, min_interval: float, sleep: Sleep = asyncio.sleep) -> None:
        self.min_interval = min_interval
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._last_end: float | None = None

    async def __aenter__(self) -> None:
        await self._lock.acquire()
        try:
            if self._last_end is not None:
                wait = self._last_end + self.min_interval - time.monotonic()
                if wait > 0:
                    await self._sleep(wait)
        except BaseException:
            self._lock.release()  # a cancelled waiter must not keep the lock
            raise

    async def __aexit__(self, *exc: object) -> None:
        # Count from the end of a call: arXiv asks for a delay *between* calls.
        self._last_end = time.monotonic()
        self._lock.release()


class RequestWindow:
    """Count the requests of the last `seconds` (a sliding window, monotonic clock).

    Hugging Face limits an anonymous client to 500 requests per 5 minutes. Every attempt
    (retries too) is one request to them, so the client records each; work that can wait
    (the artifact look-ups) asks `used()` before spending, and the poll and commands keep
    what it leaves.
    """

    def __init__(self, seconds: float = 300.0, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self._clock = clock
        self._times: deque[float] = deque()

    def record(self) -> None:
        self._times.append(self._clock())

    def used(self) -> int:
        """Requests made within the window that ends now."""
        start = self._clock() - self.seconds
        while self._times and self._times[0] <= start:
            self._times.popleft()
        return len(self._times)


class Closing:
    """`async with` for clients: leaving the block closes them."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        raise NotImplementedError


class HttpClient(Closing):
    """GET with timeouts, retries on timeouts/5xx/connection errors, and honoured 429 waits.

    Owns its aiohttp session unless one is passed in. 2xx and 404 come back as a `Response`;
    everything else ends as a `SourceError` with a short message naming the service.
    """

    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        headers: Mapping[str, str],
        timeout: float,
        max_retries: int,
        backoff_base: float,
        max_retry_wait: float,
        session: aiohttp.ClientSession | None = None,
        sleep: Sleep = asyncio.sleep,
        throttle: Throttle | None = None,
        retry_empty_body: bool = False,
        window: RequestWindow | None = None,
    ) -> None:
        self.name = name
        self.window = window
        self.base_url = base_url.rstrip("/")
        self._headers = dict(headers)
        self._timeout_s = timeout
        self._timeout: aiohttp.ClientTimeout | None = None  # made with the session
        self._max_retries = max(0, max_retries)
        self._backoff_base = backoff_base
        self._max_retry_wait = max_retry_wait
        self._session = session
        self._owns_session = session is None
        self._sleep = sleep
        self._throttle = throttle
        self._retry_empty_body = retry_empty_body

    async def close(self) -> None:
        """Close the session if this client created it."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _get_session(self) -> aiohttp.ClientSession:
        # aiohttp is loaded on the first request: a command that only reads the database
        # (`paperbot lookup` of a stored paper) never pays its ~0.4 s import.
        import aiohttp

        if self._timeout is None:
            self._timeout = aiohttp.ClientTimeout(total=self._timeout_s)
        if self._session is None or self._session.closed:
            # Created lazily: an aiohttp session must be born inside the running loop.
            self._session = aiohttp.ClientSession(timeout=self._timeout)
            self._owns_session = True
        return self._session

    def _backoff(self, attempt: int) -> float:
        delay = self._backoff_base * (2**attempt)
        return delay * (1 + random.random() * 0.5)  # jitter keeps restarted bots from syncing

    async def get(
        self,
        path: str,
        params: Mapping[str, str | int] | None = None,
        *,
        throttle: Throttle | None = None,
    ) -> Response:
        """GET `path`; return the 2xx/404 answer or raise `SourceError` once retries run out.

        `throttle` spaces this call's attempts instead of the client's own (background work
        that must not burst)."""
        import aiohttp  # see _get_session

        url = f"{self.base_url}{path}"
        attempts = self._max_retries + 1
        problem = "no answer"
        retry_after: float | None = None
        for attempt in range(attempts):
            try:
                response = await self._once(url, params, throttle)
            except (TimeoutError, aiohttp.ClientError) as exc:
                timed_out = isinstance(exc, TimeoutError)
                problem = (
                    f"timed out after {self._timeout_s:g} s" if timed_out else ("connection failed")
                )
                delay = self._backoff(attempt)
                # DEBUG: a retry is routine. The caller that gives up logs one WARNING with
                # its context (which day, which look-up), so an outage is not a flood.
                log.debug("%s %s %s (try %s/%s)", self.name, path, problem, attempt + 1, attempts)
            else:
                status = response.status
                if 200 <= status < 300 and (response.body.strip() or not self._retry_empty_body):
                    return response
                if status == 404:
                    return response
                if status == 429:
                    wait = retry_after_seconds(response.headers)
                    problem = "rate limit reached"
                    if wait is not None and wait > self._max_retry_wait:
                        raise SourceError(
                            f"{self.where} asks us to wait: rate limit reached; try again in "
                            f"{round(wait)} s.",
                            retry_after=wait,
                        )
                    delay = wait if wait is not None else self._backoff(attempt)
                    retry_after = delay
                elif status >= 500 or 200 <= status < 300:
                    problem = f"last: HTTP {status}" if status >= 500 else "empty answers"
                    delay = self._backoff(attempt)
                else:
                    raise SourceError(f"{self.where} refused the request (HTTP {status}).")
                log.debug(
                    "%s %s answered %s (try %s/%s)", self.name, path, status, attempt + 1, attempts
                )
            if attempt + 1 < attempts:
                await self._sleep(delay)
        tries = "1 try" if attempts == 1 else f"{attempts} tries"
        raise SourceError(
            f"{self.where} did not answer after {tries} ({problem}).",
            retry_after=retry_after if problem == "rate limit reached" else None,
            slow=problem.startswith("timed out"),
        )

    @property
    def where(self) -> str:
        """The service and its address, as an error names it: "Hugging Face at https://…"."""
        return f"{self.name} at {self.base_url}"

    async def _once(
        self,
        url: str,
        params: Mapping[str, str | int] | None,
        throttle: Throttle | None = None,
    ) -> Response:
        session = self._get_session()
        throttle = throttle or self._throttle
        if throttle is None:
            return await self._counted(session, url, params)
        async with throttle:
            return await self._counted(session, url, params)

    async def _counted(
        self, session: aiohttp.ClientSession, url: str, params: Mapping[str, str | int] | None
    ) -> Response:
        if self.window is not None:
            self.window.record()
        return await self._fetch(session, url, params)

    async def _fetch(
        self, session: aiohttp.ClientSession, url: str, params: Mapping[str, str | int] | None
    ) -> Response:
        async with session.get(
            url, params=params, headers=self._headers, timeout=self._timeout
        ) as resp:
            body = await resp.read()
            return Response(resp.status, resp.headers.copy(), body)
