"""Point discord.py at another REST base and Gateway (a rate-limit proxy, or a local server).

discord.py has no option for either URL: `Route.BASE` and `DiscordWebSocket.DEFAULT_GATEWAY` are
class attributes read on every request and connection. We set them while the adapter runs and
put the previous values back when it stops; a second adapter wanting different URLs in the same
process is refused rather than silently redirected.
"""

from __future__ import annotations

import logging

import discord
import yarl

from adapters.discord.config import DEFAULT_API_BASE, DEFAULT_GATEWAY_URL

log = logging.getLogger(__name__)


class EndpointOverride:
    def __init__(self, api_base: str, gateway_url: str) -> None:
        self.api_base = api_base
        self.gateway = yarl.URL(gateway_url)
        self._saved: tuple[str, yarl.URL] | None = None

    @property
    def needed(self) -> bool:
        return self.api_base != DEFAULT_API_BASE or self.gateway != yarl.URL(DEFAULT_GATEWAY_URL)

    def apply(self) -> None:
        """Install this override; raise RuntimeError if another one is active."""
        if not self.needed or self._saved is not None:
            return
        route, ws = discord.http.Route, discord.gateway.DiscordWebSocket
        current = (route.BASE, ws.DEFAULT_GATEWAY)
        untouched = (DEFAULT_API_BASE, yarl.URL(DEFAULT_GATEWAY_URL))
        if current not in (untouched, (self.api_base, self.gateway)):
            raise RuntimeError(
                f"another Discord client in this process already uses {current[0]}; "
                "run one Discord adapter per process"
            )
        self._saved = current
        route.BASE = self.api_base
        ws.DEFAULT_GATEWAY = self.gateway
        log.info("discord endpoints: REST %s, gateway %s", self.api_base, self.gateway)

    def restore(self) -> None:
        if self._saved is None:
            return
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = self._saved
        self._saved = None
