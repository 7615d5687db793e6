"""The one narrow interface between the core and a chat platform, in both directions.

Delivery goes in two steps, so that what is sent is decided once. `compose` turns a reply
into the platform's message parts (plain JSON data); the sender stores them in the outbox
before the first is posted, and every retry, after a failure or a crash, posts exactly those
parts again, from the first one not yet recorded as posted. Paper data that changes between
attempts (Hugging Face adds summaries and upvotes all day) cannot move the split points.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from bot.messages import Reply

Part = Mapping[str, Any]  # one platform message, as JSON data only the adapter reads


@dataclass(frozen=True)
class Destination:
    """Where the bot posts on its own: a channel, or a user's DMs."""

    platform: str
    kind: str  # "channel" or "user"
    id: str  # channel id, or user id for kind == "user"
    address: str | None = None  # a remembered DM channel id, if the adapter opened one
    # The thread this outbox item's parts go into once a part opened it (a Discord thread
    # channel id, a Slack thread_ts), as stored with the item; None before that.
    thread: str | None = None
    # The id of the item's part posted just before this one (a thread is opened from it).
    previous: str | None = None
    # This part may be out already: an earlier try may have posted it and ended before
    # recording it. An adapter that can look for it (a Discord forum post, which has no
    # nonce) does so before posting.
    maybe_posted: bool = False
    # The workspace it is in, as the adapter named it (Place.workspace_id): where a
    # platform's rate limits are per workspace, the sender paces each one on its own.
    workspace: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Capabilities:
    """What a platform can do that changes how the core delivers to it."""

    # A repeated post with the same key is dropped by the platform (Discord's message nonce
    # with enforce_nonce): after a crash, re-posting the part in flight is harmless, so
    # sends may run in parallel. Without it (and without `finds_posts`), sends go one at a
    # time, so a crash repeats at most one message.
    dedupes_sends: bool = False
    # The adapter can tell whether a part with a given key was posted (`find_posted`: Slack's
    # message metadata, read back from the channel's history). A part that may have been in
    # flight when an earlier try ended is looked up instead of posted again, so sends may run
    # in parallel here too.
    finds_posts: bool = False
    # Requests per second the platform allows the bot as a whole, where it documents one
    # (Discord's global 50/s): the sender spaces request starts to stay under it. None: the
    # client library's own rate-limit handling is all there is.
    rate: float | None = None
    # `rate` holds per workspace (Slack: per team and method), not for the bot as a whole:
    # each workspace gets its own pacer, and one workspace's rate-limit answers or backlog
    # never hold the sends to another.
    rate_per_workspace: bool = False


@dataclass(frozen=True)
class Posted:
    """A part the platform accepted."""

    message_id: str
    address: str | None = None  # a DM channel id the adapter opened, for the core to remember
    # A thread this part opened (or found opened): the item's later parts go there. The
    # sender stores it with the item, so a retry after a crash posts into the same thread.
    thread: str | None = None


class Failure(StrEnum):
    """What a failed post means for the message, the destination and the platform."""

    TRANSIENT = "transient"  # 5xx, timeouts, rate limits: retry with backoff until it works
    DESTINATION_GONE = "destination_gone"  # deleted, no access, DMs closed: disable it
    REJECTED = "rejected"  # the platform refused this message: give it up after a few tries
    BOT_UNAUTHORIZED = "bot_unauthorized"  # the token no longer works: stop the platform


class DeliveryError(Exception):
    """A post failed; `failure` says what that means, `reason` says it to the people there."""

    def __init__(
        self,
        reason: str,
        failure: Failure = Failure.TRANSIENT,
        *,
        retry_after: float | None = None,
    ):
        super().__init__(reason)
        self.reason = reason
        self.failure = failure
        self.retry_after = retry_after


class Adapter(Protocol):
    platform: str
    capabilities: Capabilities

    async def start(self) -> None:
        """Connect and serve commands until `stop()`."""

    async def stop(self) -> None:
        """Disconnect."""

    def compose(self, reply: Reply) -> list[Part]:
        """Render `reply` as the parts (messages) to post, in order, as JSON data.

        An adapter whose parts depend on the destination (a Discord forum channel takes one
        post per paper) also has `async compose_at(reply, destination)`, which the sender
        calls instead (see bot.delivery.prefetch.compose_for).
        """

    async def post(self, destination: Destination, part: Part, *, key: str) -> Posted:
        """Post one part at `destination`, or raise `DeliveryError`.

        `key` is stable for this part of this outbox item: a platform that can de-duplicate
        (Discord's message nonce) must use it, so that a retry after a crash between the
        post and its record does not post twice. The sender bounds every call with its
        per-post timeout (a hung request is a transient failure); an adapter may set a
        shorter one in its own client.
        """

    async def find_posted(self, destination: Destination, key: str) -> Posted | None:
        """The part posted earlier with `key` at `destination`, if the platform shows one.

        Called only where `capabilities.finds_posts`, before re-posting a part that an
        earlier try may have posted without recording it. None when no such part is found,
        or when the platform cannot tell (then the part is posted again); a failure to ask
        raises `DeliveryError` like `post`.
        """
