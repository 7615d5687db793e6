"""The delivery port on Slack: post replies with chat.postMessage, open DMs, map errors."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.render import MAX_FALLBACK, context, esc, list_item, render, section
from adapters.slack.workspaces import INSTALL_REASON, NotInstalled, OneWorkspace, Workspaces, split
from bot.messages import PaperList, Reply
from bot.port import DeliveryError, Destination, Failure, Part, Posted

log = logging.getLogger(__name__)

# chat.postMessage allows about 1 message/s per channel with short bursts, "while also
# maintaining a workspace-wide limit" whose size Slack does not publish. Every 429 costs the
# whole workspace a second or more (Retry-After is whole seconds, and the pacer holds every
# post for it), so the sender stays under an assumed 10 messages/s (600 a minute) rather
# than probing for the limit.
WORKSPACE_RATE = 10.0

# Every part carries its outbox key in the message's metadata, so that after a crash (or a
# post that timed out) the sender can look in the channel's history for a part that went out
# unrecorded instead of posting it again: chat.postMessage has no idempotency key.
METADATA_TYPE = "paperbot_part"
# How far back a look goes: the part looked for was posted at most a lease or a restart ago.
HISTORY_LIMIT = 200
# Errors that mean "cannot read the history here" (an install from before the history
# scopes, or a channel type the token cannot read): the part is posted again, as before.
UNREADABLE_HISTORY = {"missing_scope", "not_allowed_token_type", "not_in_channel"}

# Errors after which retrying cannot help this destination: it is disabled with this
# reason, which `status` shows to the people there.
GONE_ERRORS: dict[str, str] = {
    "channel_not_found": (
        "the Slack channel no longer exists, or it is private and the bot is not in it "
        "(type `/invite @paperbot` there)"
    ),
    "not_in_channel": "the bot is not a member of this channel; type `/invite @paperbot` there",
    "is_archived": "the Slack channel is archived",
    "restricted_action": "a workspace admin does not allow the bot to post here",
    "user_not_found": "the Slack user no longer exists",
    "user_disabled": "the Slack user's account is deactivated",
    "cannot_dm_bot": "Slack does not allow DMs to this user",
    "team_access_not_granted": "the Slack app is not installed in that workspace",
}
# Errors about the bot itself: every destination would fail alike, so the platform stops
# (see bot.delivery.halts) instead of disabling destinations one by one.
BOT_ERRORS: dict[str, str] = {
    "invalid_auth": "the Slack bot token is invalid (check SLACK_BOT_TOKEN)",
    "token_revoked": "the Slack bot token was revoked (reinstall the app)",
    "token_expired": "the Slack bot token expired (reinstall the app)",
    "not_authed": "no Slack bot token was sent (check SLACK_BOT_TOKEN)",
    "account_inactive": "the bot's Slack account is deactivated",
    "missing_scope": "the Slack app lacks a permission scope (reinstall it from the manifest)",
    "ekm_access_denied": "a Slack admin suspended the app's access",
}
# Errors about this message: it is tried a few times and given up; the destination stays.
REJECTED_ERRORS = {
    "invalid_blocks",
    "invalid_blocks_format",
    "invalid_arguments",
    "invalid_attachments",
    "msg_too_long",
    "msg_blocks_too_long",
    "no_text",
    "too_many_attachments",
    "invalid_metadata_format",
    "invalid_metadata_schema",
    "metadata_too_large",
}


class CappedRateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """Wait out short 429s in the client; hand longer ones back to the delivery layer."""

    def __init__(self, max_retry_count: int = 2, max_wait: float = 10.0) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait
        # Told of each 429 waited out here, which the delivery layer never sees (metrics).
        self.on_wait: Callable[[], None] | None = None

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if self.on_wait is not None:
            self.on_wait()
        await super().prepare_for_next_attempt_async(
            state=state, request=request, response=response, error=error
        )

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


def threaded(plist: PaperList) -> list[Part]:
    """A digest as a header message and one reply per paper in the header's thread."""
    head = [section(f"*{esc(plist.title, 500)}*")]
    if plist.footer:
        head.append(context(esc(plist.footer, 1000)))
    parts: list[Part] = [{"text": esc(plist.title, MAX_FALLBACK), "blocks": head, "thread": True}]
    for i, item in enumerate(plist.items, 1):
        text = esc(f"{i}. {item.paper.title}", MAX_FALLBACK)
        parts.append({"text": text, "blocks": [list_item(i, item)], "in_thread": True})
    return parts


class SlackSender:
    """Implements the port's `compose` and `post` on top of an AsyncWebClient.

    Each call uses the token of the destination's workspace (`workspaces`; by default the
    one client's, as in single-workspace mode).
    """

    def __init__(self, client: AsyncWebClient, workspaces: Workspaces | None = None) -> None:
        self._client = client
        self._workspaces = workspaces or OneWorkspace(client)

    async def _client_for(self, destination: Destination) -> AsyncWebClient:
        workspace = destination.workspace or split(destination.id)[0]
        try:
            return await self._workspaces.client(workspace)
        except NotInstalled:
            raise DeliveryError(
                f"{INSTALL_REASON} is gone (not installed); reinstall the app to resume",
                Failure.DESTINATION_GONE,
            ) from None

    @staticmethod
    def compose(reply: Reply) -> list[Part]:
        if isinstance(reply, PaperList) and reply.thread and reply.items:
            return threaded(reply)
        return [dict(m) for m in render(reply)]

    async def post(self, destination: Destination, part: Part, *, key: str) -> Posted:
        """Post one message; raise DeliveryError, classified, on failure.

        Slack has no idempotency key for chat.postMessage (unlike Discord's nonce): `key`
        goes into the message's metadata, where `find_posted` looks for it after a crash.
        """
        client = await self._client_for(destination)
        channel, opened = await self._channel_for(destination, client)
        payload: dict[str, Any] = {"key": key}
        extra: dict[str, Any] = {}
        if part.get("thread"):
            # Its replies' thread is its own ts; the mark lets `find_posted` say so too.
            payload["thread"] = True
        elif part.get("in_thread") and destination.thread:
            extra["thread_ts"] = destination.thread
        response = await self._call(
            client.chat_postMessage,
            destination,
            channel=channel,
            text=part["text"],
            blocks=part["blocks"],
            metadata={"event_type": METADATA_TYPE, "event_payload": payload},
            unfurl_links=False,
            unfurl_media=False,
            **extra,
        )
        ts = str(response["ts"])
        return Posted(
            ts, address=channel if opened else None, thread=ts if part.get("thread") else None
        )

    async def find_posted(self, destination: Destination, key: str) -> Posted | None:
        """The bot's message carrying `key` among the channel's latest, if there is one."""
        client = await self._client_for(destination)
        channel, opened = await self._channel_for(destination, client)
        try:
            if destination.thread:
                # Replies are not in the channel's history, only in their thread's.
                response = await client.conversations_replies(
                    channel=channel,
                    ts=destination.thread,
                    limit=HISTORY_LIMIT,
                    include_all_metadata=True,
                )
            else:
                response = await client.conversations_history(
                    channel=channel, limit=HISTORY_LIMIT, include_all_metadata=True
                )
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            if data.get("error") in UNREADABLE_HISTORY:
                log.warning(
                    "slack %s %s: cannot read the history to find part %s (%s); posting it "
                    "again (reinstall the app from the manifest for the history scopes)",
                    destination.kind,
                    destination.id,
                    key,
                    data.get("error"),
                )
                return None
            raise _api_error(exc, destination, self._workspaces.multi) from exc
        except (TimeoutError, aiohttp.ClientError, SlackClientError) as exc:
            raise DeliveryError(f"Slack could not be reached ({type(exc).__name__})") from exc
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == METADATA_TYPE and payload.get("key") == key:
                ts = str(message["ts"])
                thread = ts if payload.get("thread") else None
                return Posted(ts, address=channel if opened else None, thread=thread)
        return None

    async def _channel_for(
        self, destination: Destination, client: AsyncWebClient
    ) -> tuple[str, bool]:
        """The channel to post in, and whether a DM was opened for it just now."""
        if destination.kind == "channel":
            return split(destination.id)[1], False
        if destination.kind != "user":
            raise DeliveryError(
                f"unknown destination kind {destination.kind!r}", Failure.DESTINATION_GONE
            )
        if destination.address:
            return split(destination.address)[1], False
        response = await self._call(
            client.conversations_open, destination, users=split(destination.id)[1]
        )
        return str(response["channel"]["id"]), True

    async def _call(self, method: Any, destination: Destination, **kwargs: Any) -> Any:
        try:
            return await method(**kwargs)
        except SlackApiError as exc:
            raise _api_error(exc, destination, self._workspaces.multi) from exc
        except (TimeoutError, aiohttp.ClientError, SlackClientError) as exc:
            log.warning("slack %s %s: %s", destination.kind, destination.id, exc)
            raise DeliveryError(f"Slack could not be reached ({type(exc).__name__})") from exc


def _api_error(exc: SlackApiError, destination: Destination, multi: bool = False) -> DeliveryError:
    response = exc.response
    data = response.data if isinstance(response.data, dict) else {}
    error = str(data.get("error") or f"HTTP {response.status_code}")
    log.warning("slack %s %s failed: %s", destination.kind, destination.id, error)
    if response.status_code == 429 or error == "ratelimited":
        return DeliveryError("Slack rate limit", retry_after=_retry_after(response.headers))
    if error in GONE_ERRORS:
        return DeliveryError(f"{GONE_ERRORS[error]} ({error})", Failure.DESTINATION_GONE)
    if error in BOT_ERRORS and multi:
        # One workspace's token: the others' are fine, so stop only here (a reinstall
        # re-enables every destination disabled so), never the whole platform.
        return DeliveryError(
            f"{INSTALL_REASON} no longer works ({error}); reinstall the app to resume",
            Failure.DESTINATION_GONE,
        )
    if error in BOT_ERRORS:
        return DeliveryError(f"{BOT_ERRORS[error]} ({error})", Failure.BOT_UNAUTHORIZED)
    if error in REJECTED_ERRORS:
        return DeliveryError(f"Slack rejected the message ({error})", Failure.REJECTED)
    # 5xx, `internal_error`, `fatal_error`, `service_unavailable`, and anything unknown: retry
    # later rather than disable someone's destination over a problem that may pass.
    return DeliveryError(f"Slack error: {error}")


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
