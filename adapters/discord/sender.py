"""The delivery port: post a reply to a channel or a user's DMs, idempotently, over REST."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import aiohttp
import discord
from discord.http import handle_message_parameters
from discord.utils import MISSING

from adapters.discord.feedback import controls_view
from adapters.discord.forum import post_in_forum
from adapters.discord.render import MAX_CONTENT, clip, control, list_parts, plain, render
from bot.messages import PaperList, Reply
from bot.port import DeliveryError, Destination, Failure, Part, Posted

log = logging.getLogger(__name__)
NONE = discord.AllowedMentions.none()

# Discord error codes that mean "this destination is gone for the bot": it gets disabled.
GONE_REASONS = {
    50001: "the bot lost access to this channel (Missing Access)",
    50013: (
        "the bot lacks permission to post here (needs View Channel, Send Messages, Embed "
        "Links, and Send Messages in Threads for a thread)"
    ),
    50007: "this user does not accept DMs from the bot",
    10003: "the channel no longer exists (Unknown Channel)",
    10013: "the user no longer exists (Unknown User)",
    50278: "this user does not accept DMs from the bot",
    50083: "the thread is archived; unarchive it or pick another channel",
    160005: "the thread is locked; unlock it or pick another channel",
}
NO_EMBEDS = (
    "the bot lacks the Embed Links permission here: Discord posted the digest without its "
    "papers. Grant Embed Links to paperbot in this channel"
)


# How often discord.py may sweep its idle rate-limit buckets (it drops those idle 5 min).
BUCKET_SWEEP_EVERY = 60.0


def amortise_bucket_sweeps(http: discord.http.HTTPClient) -> None:
    """Let discord.py sweep its idle per-route buckets once a minute, not at every new one.

    Past 256 buckets, discord.py scans all of them each time it creates one, and every
    channel is a bucket: a digest to 2,500 channels cost about three million checks (seconds
    of CPU, which on a busy machine is the difference between 90 % and 60 % of the rate).
    Nothing it could drop is younger than five minutes, so a sweep a minute drops the same.
    """
    sweep = getattr(http, "_try_clear_expired_ratelimits", None)
    if sweep is None:  # another discord.py version: leave it as it is
        return
    last = -BUCKET_SWEEP_EVERY

    def sweep_now_and_then() -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= BUCKET_SWEEP_EVERY:
            last = now
            sweep()

    # An instance attribute shadows the method for this client only.
    setattr(http, "_try_clear_expired_ratelimits", sweep_now_and_then)  # noqa: B010


async def _after_a_global_limit(http: discord.http.HTTPClient) -> None:
    """If discord.py holds every request for a global 429, wait, then give the turn back.

    discord.py releases all the requests it held at the same moment, a burst over the limit
    that earns the next 429s. Handed back as a zero wait, each post takes a fresh turn from
    the sender's pacer instead.
    """
    free = getattr(http, "_global_over", None)  # discord.py's "no global limit now" flag
    if isinstance(free, asyncio.Event) and not free.is_set():
        await free.wait()
        raise DeliveryError("Discord's global rate limit held this post", retry_after=0.0)


def nonce_for(key: str) -> str:
    """A Discord message nonce (at most 25 characters) for the part with this key."""
    return hashlib.blake2b(key.encode(), digest_size=12).hexdigest()


def delivery_error(exc: BaseException) -> DeliveryError:
    """Classify a failed request by what it means for the message and the destination."""
    if isinstance(exc, discord.RateLimited):
        return DeliveryError("rate limited by Discord", retry_after=exc.retry_after)
    if isinstance(exc, discord.DiscordServerError):
        return DeliveryError(f"Discord server error {exc.status}")
    if isinstance(exc, discord.HTTPException):
        if exc.code in GONE_REASONS:
            return DeliveryError(GONE_REASONS[exc.code], Failure.DESTINATION_GONE)
        if exc.status == 401:
            return DeliveryError(
                "Discord rejected the bot token (401); set a valid DISCORD_TOKEN",
                Failure.BOT_UNAUTHORIZED,
            )
        if exc.status == 429:
            return DeliveryError("rate limited by Discord", retry_after=_reset_after(exc))
        if exc.status in (408, 500, 502, 503, 504, 524):
            return DeliveryError(f"Discord answered {exc.status}")
        if exc.status == 403:
            return DeliveryError(f"Discord refused the post: {exc.text}", Failure.DESTINATION_GONE)
        if exc.status == 404:
            return DeliveryError(f"not found on Discord: {exc.text}", Failure.DESTINATION_GONE)
        # A 400 is about this message (a rendering bug, a limit), not the destination: the
        # delivery layer tries it a few times and gives it up; the channel stays on.
        return DeliveryError(
            f"Discord rejected the message ({exc.status} {exc.code}: {exc.text})",
            Failure.REJECTED,
        )
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | OSError):
        return DeliveryError(f"could not reach Discord: {exc!r}")
    raise exc


def _reset_after(exc: discord.HTTPException) -> float | None:
    """How long a 429 asks to wait, to the millisecond.

    `Retry-After` is whole seconds (rounded up): holding every post for it after a 0.2 s
    limit would idle the platform. The fractional `X-RateLimit-Reset-After` says it exactly.
    """
    headers = exc.response.headers
    for name in ("X-RateLimit-Reset-After", "Retry-After"):
        try:
            return max(0.0, float(headers[name]))
        except (KeyError, TypeError, ValueError):
            continue
    return None


MAX_THREAD_NAME = 100  # Discord's limit on a thread's (and a forum post's) name
THREAD_ARCHIVE_MINUTES: Literal[1440] = 1440  # a digest's thread stays in the list for a day
THREAD_EXISTS = 160004  # "A thread has already been created for this message"
NO_THREADS = (
    "the bot lacks permission to open threads here; grant paperbot Create Public Threads "
    "and Send Messages in Threads in this channel, or turn threads off with "
    "/digest threads off"
)


def threaded(reply: PaperList) -> list[Part]:
    """A digest as a header, a thread opened from it, and one message per paper in it.

    Opening the thread is a part of its own, recorded apart from the header: a retry after
    a crash between the two opens the thread from the recorded header instead of posting
    a second header (whose nonce Discord may have forgotten by then).
    """
    head, embeds, tail = list_parts(reply)
    content = clip("\n".join(x for x in (head, tail) if x), MAX_CONTENT)
    name = plain(reply.title, MAX_THREAD_NAME) or "Daily Papers"
    return [
        {"content": content, "embeds": []},
        {"open_thread": {"name": name}},
        *(
            {
                "content": None,
                "embeds": [e.to_dict()],
                "in_thread": True,
                "papers": [list(control(item.paper, rank))],
            }
            for rank, (item, e) in enumerate(zip(reply.items, embeds, strict=True), 1)
        ),
    ]


def compose(reply: Reply) -> list[Part]:
    """The messages of a post on the bot's own, as JSON data to store and re-post exactly."""
    if isinstance(reply, PaperList) and reply.thread and reply.items:
        return threaded(reply)
    parts: list[Part] = []
    for out in render(reply, interactive=False):
        part: dict[str, Any] = {
            "content": out.content,
            "embeds": [e.to_dict() for e in out.embeds],
        }
        if out.papers:
            # Stored with the part: a retry re-posts the same controls.
            part["papers"] = [list(p) for p in out.papers]
        parts.append(part)
    return parts


class DiscordSender:
    """Posts through discord.py's HTTP client (its rate-limit handling included)."""

    def __init__(
        self,
        http: Callable[[], Awaitable[discord.http.HTTPClient]],
        bot_id: Callable[[], int | None] = lambda: None,
    ) -> None:
        self._http = http  # waits until the client has logged in
        self._bot_id = bot_id  # the bot's user id once logged in: its forum posts are its own

    async def post(self, destination: Destination, part: Part, *, key: str) -> Posted:
        http = await self._http()
        await _after_a_global_limit(http)
        try:
            if destination.kind == "user":
                return await self._post_dm(http, destination, part, key)
            if destination.kind != "channel":
                raise DeliveryError(
                    f"unknown destination kind {destination.kind!r}", Failure.DESTINATION_GONE
                )
            if "forum" in part:
                return await post_in_forum(http, destination, part, self._bot_id())
            if "open_thread" in part:
                return await self._open_thread(http, destination, part["open_thread"])
            channel = destination.id
            if part.get("in_thread") and destination.thread:
                channel = destination.thread
            return Posted(await self._post(http, channel, part, key))
        except DeliveryError:
            raise
        except Exception as exc:
            err = delivery_error(exc)
            log.warning(
                "discord post to %s %s failed (%s): %s",
                destination.kind,
                destination.id,
                err.failure,
                err.reason,
            )
            raise err from exc

    async def _open_thread(
        self, http: discord.http.HTTPClient, destination: Destination, spec: Part
    ) -> Posted:
        """Open the digest's thread from its header (the part posted before this one)."""
        header = destination.previous
        if header is None:
            raise DeliveryError("no header to open the digest's thread from", Failure.REJECTED)
        try:
            data = await http.start_thread_with_message(
                int(destination.id),
                int(header),
                name=str(spec["name"]),
                auto_archive_duration=THREAD_ARCHIVE_MINUTES,
            )
            thread = str(data["id"])
        except discord.HTTPException as exc:
            if exc.code == THREAD_EXISTS:
                # An earlier try opened it and ended before recording it. A thread started
                # from a message has that message's id, so this is the same thread.
                thread = header
            elif exc.code == 10008:
                # Someone deleted the header before its thread was opened: the papers go
                # in the channel instead of being lost.
                log.warning(
                    "discord channel %s: the digest header %s is gone; posting its papers "
                    "in the channel",
                    destination.id,
                    header,
                )
                return Posted(header)
            elif exc.code == 50013:
                raise DeliveryError(NO_THREADS, Failure.DESTINATION_GONE) from exc
            else:
                raise
        return Posted(thread, thread=thread)

    async def _post_dm(
        self, http: discord.http.HTTPClient, destination: Destination, part: Part, key: str
    ) -> Posted:
        channel_id = destination.address
        if channel_id is not None:
            try:
                return Posted(await self._post(http, channel_id, part, key))
            except discord.NotFound:
                pass  # the remembered DM channel is gone: open a fresh one, once
        data = await http.start_private_message(int(destination.id))
        channel_id = str(data["id"])
        return Posted(await self._post(http, channel_id, part, key), address=channel_id)

    async def _post(
        self, http: discord.http.HTTPClient, channel_id: str, part: Part, key: str
    ) -> str:
        embeds = [discord.Embed.from_dict(e) for e in part.get("embeds", ())]
        papers = [(str(p[0]), str(p[1])) for p in part.get("papers", ())]
        # Posts on the bot's own are for anyone who reads them: owner 0, each click counts
        # for the clicker (a DM has only its reader).
        params = handle_message_parameters(
            content=part.get("content"),
            embeds=embeds,
            nonce=nonce_for(key),
            allowed_mentions=NONE,
            view=controls_view(papers, 0) if papers else MISSING,
        )
        with params:
            data = await http.send_message(int(channel_id), params=params)
        if embeds and not data.get("embeds"):
            # Without Embed Links Discord accepts the message and drops its embeds: the
            # papers never showed. Take the bare header back and say why.
            with contextlib.suppress(discord.HTTPException):
                await http.delete_message(int(channel_id), int(data["id"]))
            raise DeliveryError(NO_EMBEDS, Failure.DESTINATION_GONE)
        return str(data["id"])
