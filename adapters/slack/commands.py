"""The /papers slash command: Slack payload in, core call, Block Kit answers out.

Mapping (the subcommands come from the registry, never from a list here):
- `/papers <command> <args>` runs that registry command: `/papers paper 2412.17747`,
  `/papers subscribe "diffusion models" -audio`, `/papers digest time 09:00 Europe/Berlin`.
- `/papers` alone shows the help.
- Shortcuts for the day list: `/papers today`, `/papers yesterday`, `/papers 2024-05-01`,
  `/papers 20` (today's top 20) mean `/papers papers …`.
- `/papers 2412.17747` (an arXiv id or link) means `/papers paper 2412.17747`.
- A group alone (`/papers digest`) shows that group's help; a wrong subcommand of a group
  (`/papers alerts hourly`) a one-line error and that help.
- An unknown subcommand answers with a one-line error followed by the help.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.config import SlackConfig
from adapters.slack.files import send_files
from adapters.slack.render import SlackMessage, render
from adapters.slack.workspaces import join, workspace_of
from bot.commands.registry import Command
from bot.core import Core
from bot.messages import Notice, Place, Reply, Tone, User
from bot.papers import normalize_arxiv_id

log = logging.getLogger(__name__)

PLATFORM = "slack"
MAX_RESPONSES = 5  # Slack accepts five respond() calls per response_url
ADMIN_CACHE_SECONDS = 300.0
_DAY_SHORTCUT = re.compile(r"^(today|yesterday|\d{4}-\d{2}-\d{2}|\d{1,3})(\s|$)", re.IGNORECASE)

SORRY = "Sorry, something went wrong on our side. Please try again later."
RENDER_SORRY = (
    "Sorry, Slack did not accept that answer. It has been logged; please try again later."
)

OTHER_WORKSPACE = (
    "paperbot is not installed in this Slack workspace, so it could never post here. "
    "Ask the people who run it to add it to this workspace."
)

Respond = Callable[..., Awaitable[Any]]


def unescape(text: str) -> str:
    """Undo Slack's escaping of what the user typed (`upvotes&gt;=10` is `upvotes>=10`)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def command_line(text: str, core: Core) -> tuple[str, Notice | None]:
    """Turn the slash command's text into a registry line, and an error to show before it."""
    text = " ".join(text.split()).lstrip("/").strip()  # "/papers /paper 1234" works too
    if not text:
        return "help", None
    if core.resolve(text) is not None:
        return text, None
    if _DAY_SHORTCUT.match(text) and core.registry.get("papers") is not None:
        return f"papers {text}", None
    words = text.split()
    if normalize_arxiv_id(words[0]) and core.registry.get("paper") is not None:
        return f"paper {text}", None  # "/papers 2412.17747" or an arXiv link
    first = words[0].lower()
    group = core.registry.groups().get(first)
    if group is not None:  # "/papers digest" or "/papers alerts hourly": that group's help
        if len(words) == 1:
            return f"help {first}", None
        names = ", ".join(c.words[-1] for c in group)
        return f"help {first}", Notice(
            f"{words[1]!r} is not one of the {first} commands. Use one of: {names}.",
            tone=Tone.ERROR,
        )
    return "help", Notice(f"Unknown subcommand {words[0]!r}.", tone=Tone.ERROR)


def is_dm(payload: dict[str, Any]) -> bool:
    """Slash commands in a DM come from a D… channel (or `directmessage` in older payloads)."""
    return (
        str(payload.get("channel_id", "")).startswith("D")
        or payload.get("channel_name") == "directmessage"
    )


def is_personal(reply: Reply) -> bool:
    """Errors and replies marked ephemeral are shown only to the caller."""
    return reply.ephemeral or (isinstance(reply, Notice) and reply.tone == Tone.ERROR)


class SlashCommands:
    """Answers /papers: acknowledge at once, run the core, reply through response_url."""

    def __init__(self, core: Core, config: SlackConfig, client: AsyncWebClient) -> None:
        self.core = core
        self.config = config
        self.client = client
        self.prefix = f"{config.command} "
        # Single-workspace mode: the workspace SLACK_BOT_TOKEN belongs to (set on connect).
        # A command from any other (a shared channel, an app also installed elsewhere)
        # is refused: the bot could never post there with this token.
        self.home: str | None = None
        self._admin_cache: dict[str, tuple[bool, float]] = {}
        self._answering = 0
        self._idle = asyncio.Event()
        self._idle.set()
        # Run after each command was answered (the App Home refreshes itself there).
        # Called with the command's body and bolt's client (its workspace's token).
        self.after: Callable[[dict[str, Any], AsyncWebClient], Awaitable[None]] | None = None

    async def settle(self, within: float) -> None:
        """Wait (at most `within` seconds) until no command is being answered."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), within)

    async def __call__(
        self,
        ack: Callable[..., Awaitable[Any]],
        body: dict[str, Any],
        respond: Respond,
        client: AsyncWebClient | None = None,
    ) -> None:
        """Bolt listener for the slash command (bolt injects ack/body/respond/client by name).

        bolt's `client` carries the token of the workspace the command came from (in
        multi-workspace mode, from its installation).
        """
        # Ack first, with no body: Slack wants an answer within 3 s and the core may be slow.
        await ack()
        self._answering += 1
        self._idle.clear()
        try:
            await self._answer(body, respond, client or self.client)
            if self.after is not None:
                await self.after(body, client or self.client)
        finally:
            self._answering -= 1
            if not self._answering:
                self._idle.set()

    async def _answer(self, body: dict[str, Any], respond: Respond, client: AsyncWebClient) -> None:
        try:
            messages = await self.answer(body, client)
        except Exception:
            log.exception(
                "slash command failed (team=%s channel=%s user=%s)",
                body.get("team_id"),
                body.get("channel_id"),
                body.get("user_id"),
            )
            messages = self.to_messages([Notice(SORRY, tone=Tone.ERROR)])
        for message in messages[:MAX_RESPONSES]:
            try:
                sent = await respond(
                    **message, replace_original=False, unfurl_links=False, unfurl_media=False
                )
            except (SlackApiError, SlackClientError, OSError) as exc:
                log.warning("respond() failed (channel=%s): %s", body.get("channel_id"), exc)
                return
            if getattr(sent, "status_code", 200) != 200:
                # The response_url expired (30 min) or Slack refused the blocks.
                log.warning(
                    "respond() got HTTP %s (channel=%s): %s",
                    sent.status_code,
                    body.get("channel_id"),
                    getattr(sent, "body", ""),
                )
                await self._apologise(respond, body)
                return

    async def _apologise(self, respond: Respond, body: dict[str, Any]) -> None:
        """Tell the user in plain text that an answer could not be shown, rather than nothing."""
        try:
            await respond(text=RENDER_SORRY, response_type="ephemeral", replace_original=False)
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("respond() failed (channel=%s): %s", body.get("channel_id"), exc)

    async def answer(
        self, body: dict[str, Any], client: AsyncWebClient | None = None
    ) -> list[SlackMessage]:
        """Run the command in `body` and return the messages to respond with."""
        client = client or self.client
        line, error = command_line(unescape(str(body.get("text", ""))), self.core)
        # Ids are the workspace's own (see adapters/slack/workspaces.py): T123:C456.
        workspace = workspace_of(body)
        if self.home is not None and workspace != self.home:
            log.warning("/%s from workspace %s refused: the bot token is %s's",
                        self.config.command.lstrip("/"), workspace, self.home)  # fmt: skip
            return self.to_messages([Notice(OTHER_WORKSPACE, tone=Tone.ERROR)])
        channel_id = str(body.get("channel_id", ""))
        place = Place(
            platform=PLATFORM,
            id=join(workspace, channel_id),
            is_dm=is_dm(body),
            workspace_id=workspace,
            name=str(body.get("channel_name", "")),
            raw=body,
        )
        found = self.core.resolve(line)
        if found and found[0].posts_here and not place.is_dm:
            problem = await self.membership_problem(channel_id, client)
            place = replace(place, cannot_post=problem)
        command = found[0] if found else None
        user = User(
            platform=PLATFORM,
            id=join(workspace, str(body.get("user_id", ""))),
            name=str(body.get("user_name", "")),
            can_manage_channel=await self.can_manage(body, place, command, client),
            raw=body,
        )
        log.info(
            "/%s %r (team=%s channel=%s user=%s)",
            self.config.command.lstrip("/"),
            line,
            place.workspace_id,
            place.id,
            user.id,
        )
        replies: list[Reply] = [error] if error else []
        replies += await self.core.handle_text(line, user, place, prefix=self.prefix, raw=body)
        replies = await send_files(replies, str(body.get("user_id", "")), client)
        # A command that answers only its caller does so whatever its replies say.
        return self.to_messages(replies, private=bool(found and found[0].ephemeral))

    def to_messages(self, replies: list[Reply], *, private: bool = False) -> list[SlackMessage]:
        """Render replies; keep within Slack's five responses per slash command."""
        out: list[SlackMessage] = []
        for reply in replies:
            kind = "ephemeral" if private or is_personal(reply) else "in_channel"
            out += [{**m, "response_type": kind} for m in render(reply)]
        if len(out) > MAX_RESPONSES:
            log.warning("answer of %d messages cut to %d", len(out), MAX_RESPONSES)
            note = render(
                Notice(
                    "That answer is too long for one slash command; showing the first part.",
                    tone=Tone.WARNING,
                )
            )[0]
            out = [*out[: MAX_RESPONSES - 1], {**note, "response_type": "ephemeral"}]
        return out

    async def membership_problem(
        self, channel_id: str, client: AsyncWebClient | None = None
    ) -> str | None:
        """Why the bot cannot post in this channel (it is not a member), or None.

        Checked before a command that sets up posting answers "done", so the user learns
        it now rather than from a digest that silently fails later.
        """
        try:
            response = await (client or self.client).conversations_info(channel=channel_id)
            member = bool(response["channel"].get("is_member", True))
        except SlackApiError as exc:
            error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
            if error != "channel_not_found":  # a private channel the bot is not in says that
                log.warning("conversations.info %s failed: %s", channel_id, error or exc)
                return None  # do not refuse a command over a check that could not run
            member = False
        except (SlackClientError, OSError) as exc:
            log.warning("conversations.info %s failed: %s", channel_id, exc)
            return None
        if member:
            return None
        return (
            "I am not a member of this channel, so I cannot post here. Type /invite @paperbot "
            "in this channel, then run the command again."
        )

    async def can_manage(
        self,
        body: dict[str, Any],
        place: Place,
        command: Command | None,
        client: AsyncWebClient | None = None,
    ) -> bool:
        """Whether this user may change the channel's subscriptions and digest settings."""
        user_id = str(body.get("user_id", ""))
        if place.is_dm or not self.config.restricted or user_id in self.config.channel_admins:
            return True
        if not self.config.workspace_admins_manage:
            return False
        if command is None or not command.manages_channel:
            return False  # not needed: spare the users.info call
        return await self._is_workspace_admin(user_id, place.workspace_id, client or self.client)

    async def _is_workspace_admin(
        self, user_id: str, workspace: str | None, client: AsyncWebClient
    ) -> bool:
        cache_key = join(workspace, user_id)
        cached = self._admin_cache.get(cache_key)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        try:
            info = await client.users_info(user=user_id)
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("users.info %s failed, treating as not an admin: %s", user_id, exc)
            return False
        user = info.get("user") or {}
        admin = bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
        self._admin_cache[cache_key] = (admin, time.monotonic() + ADMIN_CACHE_SECONDS)
        return admin
