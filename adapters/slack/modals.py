"""`/papers subscribe` with no query opens a modal to write one.

The modal (`views.open` with the command's trigger_id) explains the query language with
the registry's own examples; its submission (`view_submission`) is checked at once, and a
query that does not parse is shown as an error under the field (`response_action:
errors`). A good one closes the modal and runs `subscribe <query>` as typed, so the answer
is the command's own: in the channel (or only to the person, for a personal
subscription), with how many papers of the last 7 days it would have matched.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack.commands import SlashCommands, unescape
from adapters.slack.payloads import id_of, text_at
from adapters.slack.render import SlackMessage, esc
from bot.errors import UsageError
from bot.services.lookup import MAX_QUERY
from bot.services.queries import parse_or_usage, refuse_stop_words

log = logging.getLogger(__name__)

CALLBACK = "paperbot_subscribe"
BLOCK = "query"
ACTION = "query"
MAX_ERROR = 300  # an inline error is a line or two under the field
# `/papers subscribe`, `/papers subscribe --dm`: nothing to subscribe to yet.
_BARE = re.compile(r"^\s*/?subscribe(\s+--dm)?\s*$", re.IGNORECASE)

Ack = Callable[..., Awaitable[Any]]


def wants_modal(body: dict[str, Any]) -> bool:
    """Bolt matcher: a subscribe command without a query."""
    return bool(_BARE.match(unescape(str(body.get("text", "")))))


def query_problem(query: str) -> str | None:
    """What is wrong with a query written in the modal, or None."""
    if not query.strip():
        return "Write a query, for example: diffusion -audio"
    if len(query) > MAX_QUERY:
        return f"That query is {len(query)} characters long; use at most {MAX_QUERY}."
    try:
        refuse_stop_words(parse_or_usage(query, "subscribe", ("--dm",), typed=False))
    except UsageError as exc:
        text = str(exc)
        return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"
    return None


class SubscribeModal:
    """Opens the modal for a bare `/papers subscribe` and handles its submission."""

    def __init__(self, commands: SlashCommands) -> None:
        self.commands = commands

    def examples(self) -> list[str]:
        command = self.commands.core.registry.get("subscribe")
        found = (
            [e.removeprefix("subscribe ").removesuffix(" --dm") for e in command.examples]
            if (command)
            else []
        )
        return found or ["diffusion -audio"]

    def view(self, body: dict[str, Any]) -> dict[str, Any]:
        """The modal, with what the submission needs to answer like the command."""
        personal = "--dm" in str(body.get("text", "")).lower() or str(
            body.get("channel_id", "")
        ).startswith("D")
        name = str(body.get("channel_name", ""))
        whom = "you (by direct message)" if personal else (f"#{name}" if name else "this channel")
        meta = {
            "channel_id": str(body.get("channel_id", "")),
            "channel_name": name,
            "team_id": str(body.get("team_id", "")),
            # An org-wide install keys its destinations by the org (adapters/slack/workspaces).
            "enterprise_id": str(body.get("enterprise_id", "")),
            "is_enterprise_install": str(body.get("is_enterprise_install", "false")),
            "dm": "--dm" in str(body.get("text", "")).lower(),
            "response_url": str(body.get("response_url", "")),
        }
        examples = "\n".join(f"• `{esc(e, 200)}`" for e in self.examples())
        return {
            "type": "modal",
            "callback_id": CALLBACK,
            "title": {"type": "plain_text", "text": "Subscribe"},
            "submit": {"type": "plain_text", "text": "Subscribe"},
            "close": {"type": "plain_text", "text": "Cancel"},
            "private_metadata": json.dumps(meta),
            "blocks": [
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "text": f"New papers matching your query are sent to {esc(whom, 100)}.",
                        "verbatim": True,
                    },
                },
                {
                    "type": "input",
                    "block_id": BLOCK,
                    "label": {"type": "plain_text", "text": "Query"},
                    "element": {
                        "type": "plain_text_input",
                        "action_id": ACTION,
                        "max_length": MAX_QUERY,
                        "placeholder": {"type": "plain_text", "text": "diffusion -audio"},
                    },
                    "hint": {
                        "type": "plain_text",
                        "text": 'Words, "phrases", OR, -not, title:/author:/keyword: fields, '
                        "upvotes>=10.",
                    },
                },
                {
                    "type": "context",
                    "elements": [
                        {"type": "mrkdwn", "text": f"Examples:\n{examples}", "verbatim": True}
                    ],
                },
            ],
        }

    async def open(
        self, ack: Ack, body: dict[str, Any], respond: Any, client: AsyncWebClient
    ) -> None:
        """Bolt listener for a bare subscribe: open the modal (trigger_id lives 3 s)."""
        await ack()
        try:
            await client.views_open(trigger_id=body.get("trigger_id"), view=self.view(body))
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("views.open failed (channel=%s): %s", body.get("channel_id"), exc)
            usage = f"{self.commands.prefix}subscribe <query> [--dm]"
            await respond(
                text=f"Write the query after the command: {usage}", response_type="ephemeral"
            )

    async def submitted(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """Bolt listener for the modal's submission."""
        query = text_at(view, "state", "values", BLOCK, ACTION, "value")
        meta = _metadata(view.get("private_metadata"))
        problem = query_problem(query)
        if problem is None and not meta.get("channel_id"):
            # Not a modal of ours as we opened it: where to subscribe is unknown.
            problem = "This form is out of date: close it and run the command again."
        if problem is not None:
            await ack(response_action="errors", errors={BLOCK: problem})
            return
        await ack()  # closes the modal; the answer comes like the command's
        typed = " ".join(query.split()) + (" --dm" if meta.get("dm") else "")
        command = {
            # As Slack sends a slash command's text: escaped (answer() unescapes it).
            "text": "subscribe "
            + typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"),
            "channel_id": meta.get("channel_id", ""),
            "channel_name": meta.get("channel_name", ""),
            "team_id": meta.get("team_id") or id_of(body, "team"),
            "enterprise_id": meta.get("enterprise_id") or None,
            "is_enterprise_install": meta.get("is_enterprise_install", "false"),
            "user_id": id_of(body, "user"),
            "user_name": text_at(body, "user", "username"),
        }
        messages = await self.commands.answer(command, client)
        if not await self._respond(meta.get("response_url", ""), messages):
            await _by_dm(client, command["user_id"], messages)
        if self.commands.after is not None:
            await self.commands.after(command, client)

    async def _respond(self, url: str, messages: list[SlackMessage]) -> bool:
        if not url.startswith(("https://", "http://")):
            return False
        webhook = AsyncWebhookClient(url, timeout=10)
        for message in messages:
            try:
                sent = await webhook.send_dict({**message, "replace_original": False})
            except (SlackClientError, OSError) as exc:
                log.warning("subscribe modal: the response_url failed: %s", exc)
                return False
            if sent.status_code != 200:  # expired (30 min) or used up
                log.warning("subscribe modal: the response_url answered %s", sent.status_code)
                return False
        return True


async def _by_dm(client: AsyncWebClient, user_id: str, messages: list[SlackMessage]) -> None:
    try:
        opened = await client.conversations_open(users=user_id)
        for message in messages:
            message = {k: v for k, v in message.items() if k != "response_type"}
            await client.chat_postMessage(channel=opened["channel"]["id"], **message)
    except (SlackApiError, SlackClientError, OSError) as exc:
        log.warning("subscribe modal: the DM to %s failed: %s", user_id, exc)


def _metadata(raw: object) -> dict[str, Any]:
    """The modal's private_metadata, as we wrote it (or nothing, if it is not)."""
    try:
        meta = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        meta = None
    if not isinstance(meta, dict):
        return {}
    return {k: v for k, v in meta.items() if isinstance(v, str | bool)}
