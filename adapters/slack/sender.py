"""The delivery port on Slack: post replies with chat.postMessage, open DMs, map errors."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.render import SlackMessage, render
from bot.messages import Reply
from bot.port import DeliveryError, Destination, SendResult

log = logging.getLogger(__name__)

MAX_PARTIAL = 1000  # split messages remembered as half-posted, awaiting their retry

# Errors after which retrying cannot help: the destination is disabled with this reason,
# which `status` shows to the people there.
PERMANENT_ERRORS: dict[str, str] = {
    "channel_not_found": (
        "the Slack channel no longer exists, or it is private and the bot is not in it "
        "(type `/invite @paperbot` there)"
    ),
    "not_in_channel": "the bot is not a member of this channel; type `/invite @paperbot` there",
    "is_archived": "the Slack channel is archived",
    "account_inactive": "the bot's Slack account is deactivated",
    "invalid_auth": "the Slack bot token is invalid (check SLACK_BOT_TOKEN)",
    "token_revoked": "the Slack bot token was revoked (reinstall the app)",
    "not_authed": "no Slack bot token was sent (check SLACK_BOT_TOKEN)",
    "missing_scope": "the Slack app lacks a permission scope (reinstall it from the manifest)",
    "restricted_action": "a workspace admin does not allow the bot to post here",
    "user_not_found": "the Slack user no longer exists",
    "user_disabled": "the Slack user's account is deactivated",
    "cannot_dm_bot": "Slack does not allow DMs to this user",
    "team_access_not_granted": "the Slack app is not installed in that workspace",
}


class CappedRateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """Wait out short 429s in the client; hand longer ones back to the delivery layer."""

    def __init__(self, max_retry_count: int = 2, max_wait: float = 10.0) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        return _retry_after(response.headers) <= self.max_wait


def rate_limit_handlers() -> list[AsyncRetryHandler]:
    """The retry handlers added to the bot's AsyncWebClient."""
    return [CappedRateLimitRetryHandler()]


class SlackSender:
    """Implements `Adapter.send` on top of an AsyncWebClient."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._dm_channels: dict[str, str] = {}  # user id -> DM channel id
        # Parts of a split message already posted, by outbox key: a retry after a transient
        # failure mid-way resumes instead of reposting the first parts.
        self._posted: dict[str, list[str]] = {}

    async def send(self, destination: Destination, reply: Reply, *, key: str) -> SendResult:
        """Post `reply`; raise DeliveryError (permanent or transient) on failure.

        Slack has no idempotency key for chat.postMessage (unlike Discord's nonce), so a
        crash between this call and the outbox being marked sent can repost once; the
        delivery layer allows at most that one duplicate here.
        """
        channel = await self._channel_for(destination)
        if key not in self._posted and len(self._posted) >= MAX_PARTIAL:
            self._posted.pop(next(iter(self._posted)))  # an item the delivery layer gave up on
        done = self._posted.setdefault(key, [])
        for message in render(reply)[len(done) :]:
            done.append(await self._post(channel, message, destination))
        del self._posted[key]
        address = channel if destination.kind == "user" else None
        return SendResult(message_ids=tuple(done), address=address)

    async def _channel_for(self, destination: Destination) -> str:
        if destination.kind == "channel":
            return destination.id
        if destination.kind != "user":
            raise DeliveryError(f"unknown destination kind {destination.kind!r}", permanent=True)
        if destination.address:
            return destination.address
        cached = self._dm_channels.get(destination.id)
        if cached:
            return cached
        response = await self._call(
            self._client.conversations_open, destination, users=destination.id
        )
        channel_id = str(response["channel"]["id"])
        self._dm_channels[destination.id] = channel_id
        return channel_id

    async def _post(self, channel: str, message: SlackMessage, destination: Destination) -> str:
        response = await self._call(
            self._client.chat_postMessage,
            destination,
            channel=channel,
            text=message["text"],
            blocks=message["blocks"],
            unfurl_links=False,
            unfurl_media=False,
        )
        return str(response["ts"])

    async def _call(self, method: Any, destination: Destination, **kwargs: Any) -> Any:
        try:
            return await method(**kwargs)
        except SlackApiError as exc:
            raise _api_error(exc, destination) from exc
        except (TimeoutError, aiohttp.ClientError, SlackClientError) as exc:
            log.warning("slack %s %s: %s", destination.kind, destination.id, exc)
            raise DeliveryError(
                f"Slack could not be reached ({type(exc).__name__})",
                permanent=False,
                retry_after=None,
            ) from exc


def _api_error(exc: SlackApiError, destination: Destination) -> DeliveryError:
    response = exc.response
    data = response.data if isinstance(response.data, dict) else {}
    error = str(data.get("error") or f"HTTP {response.status_code}")
    log.warning("slack %s %s failed: %s", destination.kind, destination.id, error)
    if response.status_code == 429 or error == "ratelimited":
        return DeliveryError(
            "Slack rate limit", permanent=False, retry_after=_retry_after(response.headers)
        )
    if error in PERMANENT_ERRORS:
        return DeliveryError(f"{PERMANENT_ERRORS[error]} ({error})", permanent=True)
    # 5xx, `internal_error`, `fatal_error`, `service_unavailable`, and anything unknown: retry
    # later rather than disable someone's destination over a problem that may pass.
    return DeliveryError(f"Slack error: {error}", permanent=False)


def _retry_after(headers: Any) -> float:
    """Read Retry-After from aiohttp headers or slack_sdk's dict of lists (default 1 s)."""
    value: Any = None
    for name, v in (headers or {}).items():
        if name.lower() == "retry-after":
            value = v[0] if isinstance(v, list) else v
            break
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return 1.0
