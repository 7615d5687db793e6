"""The Messages tab: text typed to the app in its DM is answered as a command.

`message.im` events (scope `im:history`) are read like `/papers <text>`: `today`,
`paper 2412.17747`, `subscribe "diffusion models"`, `help`, with the same registry and the
same shortcuts. Bot messages (ours included), edits and deletions are ignored; an unknown
command gets a one-line hint rather than the whole help.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.commands import PLATFORM, SlashCommands, command_line, unescape
from adapters.slack.files import send_files
from adapters.slack.payloads import text_at
from adapters.slack.workspaces import join, workspace_of
from bot.messages import Notice, Place, Reply, Tone, User

log = logging.getLogger(__name__)

MAX_TYPED = 4000  # longer text is not a command anyway

AfterCommand = Callable[[str, str, AsyncWebClient], Awaitable[None]]  # user id, line, client


def unknown_hint(word: str, prefix: str) -> Notice:
    """The short answer to something that is not a command."""
    shown = word if len(word) <= 40 else word[:39] + "…"
    return Notice(
        f"I don't know the command {shown!r}. Type `help` for the list, or try `today`, "
        f"`paper 2412.17747` or `subscribe diffusion models` (the same as {prefix.strip()} …).",
        tone=Tone.ERROR,
    )


class MessagesTab:
    """The `message` event listener for the app's DM."""

    def __init__(self, commands: SlashCommands) -> None:
        self.commands = commands
        self.after: AfterCommand | None = None  # e.g. refresh the App Home

    async def first_time(self, event: dict[str, Any], workspace: str | None) -> bool:
        """Whether no process has taken this message (workspace, channel, ts) on before.

        Slack re-sends an event it thinks was lost (a retry after 3 s, Socket Mode after a
        reconnect), and behind a load balancer the copy may reach another process: the
        claim is in the shared database, so "subscribe …" is never run twice.
        """
        channel, ts = str(event.get("channel", "")), str(event.get("ts", ""))
        app = self.commands.core.app
        return await app.event_claims.claim(f"slack:im:{workspace}:{channel}:{ts}", app.clock())

    def wanted(self, event: dict[str, Any], bot_user_id: str | None) -> bool:
        """A person's new message in the app's DM (not an edit, a bot's, or our own)."""
        return (
            event.get("channel_type") == "im"
            and not event.get("subtype")
            and not event.get("bot_id")
            and isinstance(event.get("text"), str)
            and isinstance(event.get("user"), str)
            and bool(event["user"])
            and event["user"] != bot_user_id
            and not event.get("thread_ts")  # a reply in a thread of one of our alerts
        )

    async def __call__(
        self, event: dict[str, Any], context: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """Bolt listener (`client` carries the token of the event's workspace)."""
        if not self.wanted(event, context.get("bot_user_id")):
            return
        # Ids with their workspace, as /papers gives them (adapters/slack/workspaces.py).
        workspace = workspace_of(context) or text_at(event, "team") or None
        if not await self.first_time(event, workspace):
            return
        core, prefix = self.commands.core, self.commands.prefix
        text = unescape(event["text"])[:MAX_TYPED].strip()
        name = self.commands.config.command
        if text.lower().startswith(name + " ") or text.lower() == name:
            text = text[len(name) :]  # "/papers today" typed as a message
        line, error = command_line(text, core)
        channel = str(event.get("channel", ""))
        user_id = str(event["user"])
        place = Place(
            platform=PLATFORM,
            id=join(workspace, channel),
            is_dm=True,
            workspace_id=workspace,
            raw=event,
        )
        user = User(
            platform=PLATFORM, id=join(workspace, user_id), can_manage_channel=True, raw=event
        )
        replies: list[Reply]
        if error is not None and line == "help" and text:
            replies = [unknown_hint(text.split()[0], prefix)]
        else:
            replies = [error] if error else []
            replies += await core.handle_text(line, user, place, prefix=prefix, raw=event)
            replies = await send_files(replies, user_id, client)
        log.info("messages tab %r (team=%s user=%s)", line, place.workspace_id, user_id)
        for message in self.commands.to_messages(replies):
            message = {k: v for k, v in message.items() if k != "response_type"}
            try:
                await client.chat_postMessage(
                    channel=channel, unfurl_links=False, unfurl_media=False, **message
                )
            except (SlackApiError, SlackClientError, OSError) as exc:
                log.warning("messages tab: reply to %s failed: %s", user_id, exc)
                return
        if self.after is not None:
            await self.after(join(workspace, user_id), line, client)
