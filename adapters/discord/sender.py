"""The delivery port: post a reply to a channel or a user's DMs, idempotently, over REST."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable

import aiohttp
import discord
from discord.http import handle_message_parameters

from adapters.discord.render import Outgoing, render
from bot.messages import Reply
from bot.port import DeliveryError, Destination, SendResult

log = logging.getLogger(__name__)
NONE = discord.AllowedMentions.none()
MAX_PARTIAL = 1000  # split messages remembered as half-posted, awaiting their retry

# Discord error codes that mean "this will never work": the destination gets disabled.
PERMANENT_REASONS = {
    50001: "the bot lost access to this channel (Missing Access)",
    50013: "the bot lacks permission to post here (needs View Channel, Send Messages, Embed Links)",
    50007: "this user does not accept DMs from the bot",
    10003: "the channel no longer exists (Unknown Channel)",
    10013: "the user no longer exists (Unknown User)",
    50278: "this user does not accept DMs from the bot",
}


def nonce_for(key: str, index: int) -> str:
    """A Discord message nonce (at most 25 characters) for part `index` of outbox item `key`."""
    return hashlib.blake2b(f"{key}#{index}".encode(), digest_size=12).hexdigest()


def delivery_error(exc: BaseException) -> DeliveryError:
    """Classify a failed request: permanent ones disable the destination, others retry."""
    if isinstance(exc, discord.RateLimited):
        return DeliveryError(
            "rate limited by Discord", permanent=False, retry_after=exc.retry_after
        )
    if isinstance(exc, discord.DiscordServerError):
        return DeliveryError(f"Discord server error {exc.status}", permanent=False)
    if isinstance(exc, discord.HTTPException):
        if exc.code in PERMANENT_REASONS:
            return DeliveryError(PERMANENT_REASONS[exc.code], permanent=True)
        if exc.status == 429:
            retry = exc.response.headers.get("Retry-After")
            return DeliveryError(
                "rate limited by Discord",
                permanent=False,
                retry_after=float(retry) if retry else None,
            )
        if exc.status in (408, 500, 502, 503, 504, 524):
            return DeliveryError(f"Discord answered {exc.status}", permanent=False)
        if exc.status == 403:
            return DeliveryError(f"Discord refused the post: {exc.text}", permanent=True)
        if exc.status == 404:
            return DeliveryError(f"not found on Discord: {exc.text}", permanent=True)
        # A 400 is about this message (a rendering bug, a limit), not the destination: the
        # delivery layer retries it with backoff and gives up on it, the channel stays on.
        return DeliveryError(
            f"Discord rejected the message ({exc.status} {exc.code}: {exc.text})",
            permanent=exc.status != 400,
        )
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | OSError):
        return DeliveryError(f"could not reach Discord: {exc!r}", permanent=False)
    raise exc


class DiscordSender:
    """Posts through discord.py's HTTP client (its rate-limit handling included)."""

    def __init__(self, http: Callable[[], Awaitable[discord.http.HTTPClient]]) -> None:
        self._http = http  # waits until the client has logged in
        self._dm_channels: dict[str, str] = {}  # user id -> DM channel id, opened this run
        # Parts of a split message already posted, by outbox key and channel. Discord holds a
        # nonce for a few minutes only, and the delivery layer's retries come later: resume.
        self._posted: dict[tuple[str, str], list[str]] = {}

    async def _open_dm(self, http: discord.http.HTTPClient, user_id: str) -> str:
        if user_id not in self._dm_channels:
            data = await http.start_private_message(int(user_id))
            self._dm_channels[user_id] = str(data["id"])
        return self._dm_channels[user_id]

    async def send(self, destination: Destination, reply: Reply, *, key: str) -> SendResult:
        http = await self._http()
        messages = render(reply, interactive=False)
        try:
            if destination.kind == "user":
                channel_id = destination.address or await self._open_dm(http, destination.id)
                try:
                    ids = await self._post_all(http, channel_id, messages, key)
                except discord.NotFound:
                    if destination.address is None:
                        raise
                    # The remembered DM channel is gone; open a fresh one once.
                    self._dm_channels.pop(destination.id, None)
                    channel_id = await self._open_dm(http, destination.id)
                    ids = await self._post_all(http, channel_id, messages, key)
                return SendResult(tuple(ids), address=channel_id)
            if destination.kind != "channel":
                raise DeliveryError(
                    f"unknown destination kind {destination.kind!r}", permanent=True
                )
            return SendResult(tuple(await self._post_all(http, destination.id, messages, key)))
        except DeliveryError:
            raise
        except Exception as exc:
            err = delivery_error(exc)
            log.warning(
                "discord send to %s %s failed (%s): %s",
                destination.kind,
                destination.id,
                "permanent" if err.permanent else "transient",
                err.reason,
            )
            raise err from exc

    async def _post_all(
        self, http: discord.http.HTTPClient, channel_id: str, messages: list[Outgoing], key: str
    ) -> list[str]:
        slot = (key, channel_id)
        if slot not in self._posted and len(self._posted) >= MAX_PARTIAL:
            self._posted.pop(next(iter(self._posted)))  # an item the delivery layer gave up on
        ids = self._posted.setdefault(slot, [])
        for i, out in enumerate(messages[len(ids) :], start=len(ids)):
            params = handle_message_parameters(
                content=out.content,
                embeds=list(out.embeds),
                nonce=nonce_for(key, i),
                allowed_mentions=NONE,
            )
            with params:
                data = await http.send_message(int(channel_id), params=params)
            ids.append(str(data["id"]))
        del self._posted[slot]
        return ids
