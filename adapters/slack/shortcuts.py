"""The message shortcut "Find paper": the papers a message names, shown to whoever asked.

Runs the registry's `find` command (the same one as Discord's message command) on the
message's text, its links and what other apps unfurled in it; answers ephemerally in the
channel through the shortcut's response_url, or by DM when that cannot be used.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.commands import PLATFORM, SlashCommands, unescape
from adapters.slack.payloads import id_of, text_at
from adapters.slack.render import SlackMessage
from adapters.slack.workspaces import join, workspace_of
from bot.messages import Incoming, Notice, Place, Tone, User

log = logging.getLogger(__name__)

FIND_CALLBACK = "paperbot_find_paper"  # the manifest's shortcut callback_id
MAX_TEXT = 4000  # what `find` reads at most
# Where links and titles hide in a message: its text, block and attachment fields.
_TEXT_KEYS = ("text", "url", "title", "title_link", "from_url", "original_url", "fallback")

NOTHING = "That message has no text, so there is no arXiv id, link or title in it to look up."

Ack = Callable[..., Awaitable[Any]]


def message_text(message: object) -> str:
    """The text of a message payload, then every text or link in its blocks and attachments."""
    if not isinstance(message, dict):
        return ""
    lines: list[str] = []

    def walk(node: object, depth: int = 0) -> None:
        if depth > 12 or len(lines) > 500:  # hostile nesting ends here
            return
        if isinstance(node, dict):
            for key, value in node.items():
                if key in _TEXT_KEYS and isinstance(value, str):
                    lines.append(value)
                else:
                    walk(value, depth + 1)
        elif isinstance(node, list):
            for value in node:
                walk(value, depth + 1)

    text = message.get("text")
    if isinstance(text, str):
        lines.append(text)
    walk([message.get("attachments"), message.get("blocks")])
    seen: list[str] = []
    for line in lines:
        line = unescape(line).strip()
        if line and line not in seen:
            seen.append(line)
    return "\n".join(seen)[:MAX_TEXT]


class FindShortcut:
    """The `message_action` listener for "Find paper"."""

    def __init__(self, commands: SlashCommands) -> None:
        self.commands = commands

    async def __call__(
        self, ack: Ack, body: dict[str, Any], respond: Any, client: AsyncWebClient
    ) -> None:
        """Bolt listener (`client` carries the token of the workspace the click came from)."""
        await ack()  # at once: the look-up may go online
        user_id = id_of(body, "user")
        channel_id = id_of(body, "channel")
        workspace = workspace_of(body)  # ids with their workspace, as /papers gives them
        place = Place(
            platform=PLATFORM,
            id=join(workspace, channel_id),
            is_dm=channel_id.startswith("D"),
            workspace_id=workspace,
            name=text_at(body, "channel", "name"),
            raw=body,
        )
        user = User(
            platform=PLATFORM, id=join(workspace, user_id), name=text_at(body, "user", "username")
        )
        incoming = Incoming(
            command="find",
            user=user,
            place=place,
            text=message_text(body.get("message")),
            prefix=self.commands.prefix,
            raw=body,
        )
        log.info("Find paper (team=%s channel=%s user=%s)", place.workspace_id, place.id, user_id)
        if incoming.text.strip():
            replies = await self.commands.core.handle(incoming)
        else:  # an image or a file alone: `find` would ask for the text it was not typed
            replies = [Notice(NOTHING, tone=Tone.WARNING, ephemeral=True)]
        messages = self.commands.to_messages(replies, private=True)
        sent = await self._respond(respond, messages) if text_at(body, "response_url") else 0
        if sent < len(messages):
            await _by_dm(client, user_id, messages[sent:])

    async def _respond(self, respond: Any, messages: list[SlackMessage]) -> int:
        """Answer through the response_url; how many messages went out before one failed."""
        for n, message in enumerate(messages):
            try:
                sent = await respond(**message, replace_original=False, unfurl_links=False)
            except (SlackApiError, SlackClientError, OSError) as exc:
                log.warning("Find paper: respond() failed: %s", exc)
                return n
            if getattr(sent, "status_code", 200) != 200:
                log.warning("Find paper: respond() got HTTP %s", sent.status_code)
                return n
        return len(messages)


async def _by_dm(client: AsyncWebClient, user_id: str, messages: list[SlackMessage]) -> None:
    """The answer as DMs, for when the response_url cannot be used."""
    try:
        opened = await client.conversations_open(users=user_id)
        dm = opened["channel"]["id"]
        for message in messages:
            message = {k: v for k, v in message.items() if k != "response_type"}
            await client.chat_postMessage(channel=dm, unfurl_links=False, **message)
    except (SlackApiError, SlackClientError, OSError) as exc:
        log.warning("Find paper: the DM to %s failed too: %s", user_id, exc)
