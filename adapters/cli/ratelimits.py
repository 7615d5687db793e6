"""Count the 429s the chat libraries wait out themselves, which the delivery layer never sees.

discord.py sleeps out a rate limit inside its HTTP client and says so only in a log line;
slack_sdk retries one in its retry handler. Longer ones come back to the delivery layer as
errors and are counted there (bot/delivery/sender.py), so no 429 is counted twice.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable

from bot.port import Adapter

# discord.http's warning for a 429 it waits out; the one it hands back to us instead says
# "Timeout of ... was too long, erroring instead".
DISCORD_WAITED = "We are being rate limited. %s %s responded with 429. Retrying in"


class _DiscordWaits(logging.Handler):
    def __init__(self, on_limit: Callable[[str], None]) -> None:
        super().__init__(logging.WARNING)
        self.on_limit = on_limit

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, str) and record.msg.startswith(DISCORD_WAITED):
            self.on_limit("discord")


def count_library_rate_limits(
    adapters: Iterable[Adapter], on_limit: Callable[[str], None]
) -> Callable[[], None]:
    """Have `on_limit(platform)` called for each 429 a library waits out; return an undo."""
    undo: list[Callable[[], None]] = []
    platforms = {a.platform: a for a in adapters}
    if "discord" in platforms:
        # discord.py's HTTP log is one per process, as is the App these counts go to.
        logger = logging.getLogger("discord.http")
        handler = _DiscordWaits(on_limit)
        logger.addHandler(handler)
        undo.append(lambda: logger.removeHandler(handler))
    if "slack" in platforms:
        from adapters.slack.sender import CappedRateLimitRetryHandler

        client = getattr(platforms["slack"], "client", None)
        for h in getattr(client, "retry_handlers", None) or []:
            if isinstance(h, CappedRateLimitRetryHandler):
                h.on_wait = lambda: on_limit("slack")
                undo.append(functools.partial(setattr, h, "on_wait", None))

    def undo_all() -> None:
        for u in undo:
            u()

    return undo_all
