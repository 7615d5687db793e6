"""The one narrow interface between the core and a chat platform."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.messages import Reply


@dataclass(frozen=True)
class Destination:
    """Where the bot posts on its own: a channel, or a user's DMs."""

    platform: str
    kind: str  # "channel" or "user"
    id: str  # channel id, or user id for kind == "user"
    address: str | None = None  # a remembered DM channel id, if the adapter opened one


@dataclass(frozen=True)
class SendResult:
    message_ids: tuple[str, ...]
    address: str | None = None  # a DM channel id the adapter opened, for the core to remember


class DeliveryError(Exception):
    """A send failed. `permanent` failures disable the destination; others are retried."""

    def __init__(self, reason: str, *, permanent: bool, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after


class Adapter(Protocol):
    platform: str

    async def start(self) -> None:
        """Connect and serve commands until `stop()`."""

    async def stop(self) -> None:
        """Disconnect."""

    async def send(self, destination: Destination, reply: Reply, *, key: str) -> SendResult:
        """Post `reply` at `destination`.

        `key` is a stable idempotency key for this outbox item: a platform that can
        de-duplicate (Discord's message nonce) must use it, so that a retry after a crash
        between send and mark does not post twice.
        """
