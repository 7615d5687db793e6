"""The operations endpoint of `paperbot run`: /healthz, /readyz and /metrics over aiohttp.

Served on METRICS_HOST:METRICS_PORT, or added to Slack HTTP mode's own server when both
use one port (`add_routes`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import cast

from aiohttp import web
from prometheus_client.exposition import choose_encoder

from bot.app import App
from bot.ops.gauges import DatabaseGauges
from bot.ops.health import readiness
from bot.port import Adapter

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"


class OpsServer:
    """Answers the probes and the Prometheus scrapes of one process."""

    def __init__(self, app: App, adapters: Mapping[str, Adapter]) -> None:
        self.app = app
        self.adapters = dict(adapters)
        self.gauges = DatabaseGauges(app.sessions, app.metrics, app.clock)
        self.port: int | None = None  # the bound port, once started
        self._runner: web.AppRunner | None = None
        self._registered = False

    def add_routes(self, web_app: web.Application) -> None:
        """Serve the three paths from `web_app` (a server of its own, or Slack's)."""
        self._register()
        web_app.router.add_get(HEALTH_PATH, self.health)
        web_app.router.add_get(READY_PATH, self.ready)
        web_app.router.add_get(METRICS_PATH, self.metrics)

    async def start(self, host: str, port: int) -> None:
        """Listen on host:port (port 0: any free port, see `self.port`)."""
        web_app = web.Application()
        self.add_routes(web_app)
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        # aiohttp types the server as AbstractServer; a TCPSite's is an asyncio.Server.
        server = cast("asyncio.Server | None", site._server)
        sockets = server.sockets if server else ()
        self.port = sockets[0].getsockname()[1] if sockets else port
        log.info("operations endpoint on http://%s:%s (/healthz /readyz /metrics)", host, self.port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        if self._registered:
            self.app.metrics.registry.unregister(self.gauges)
            self._registered = False

    def _register(self) -> None:
        if not self._registered:
            self.app.metrics.registry.register(self.gauges)
            self._registered = True

    async def health(self, request: web.Request) -> web.Response:
        """The process is alive and its event loop answers."""
        return web.Response(text="ok\n")

    async def ready(self, request: web.Request) -> web.Response:
        """200 when the database, every adapter and the papers are in order; else 503, why."""
        state = await readiness(self.app, self.adapters)
        if state.ready:
            return web.Response(text="ready\n")
        return web.Response(
            status=503, text="not ready:\n" + "".join(f"- {p}\n" for p in state.problems)
        )

    async def metrics(self, request: web.Request) -> web.Response:
        """The Prometheus text format: the counters, and the gauges read from the database."""
        await self.gauges.refresh()
        # The format the scraper asks for (Prometheus 2 and 3 differ, so does OpenMetrics).
        encode, content_type = choose_encoder(request.headers.get("Accept", ""))
        body = encode(self.app.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": content_type})
