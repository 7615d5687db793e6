"""The bolt action that answers a paper's 👍 👎 🔖 Similar (see adapters/slack/controls.py)."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError

from adapters.slack.commands import PLATFORM, SlashCommands
from adapters.slack.controls import parse
from adapters.slack.payloads import id_of
from adapters.slack.render import render
from adapters.slack.workspaces import join, workspace_of
from bot.messages import Incoming, Notice, Place, User
from bot.services.clicks import click_command

log = logging.getLogger(__name__)
STALE = "That button is out of date. Rate or save the paper with /papers rate <id> up."
NOT_YOURS = "Only the person these papers were shown to can use these buttons."
SORRY = "Sorry, that did not work. Please try again."


def _notice(text: str) -> list[dict[str, Any]]:
    return list(render(Notice(text, ephemeral=True)))


class FeedbackActions:
    """The bolt listener for every control: ack at once, run the command, answer privately."""

    def __init__(self, commands: SlashCommands) -> None:
        self.commands = commands

    async def __call__(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()  # within Slack's 3 s, before any work
        try:
            answer = await self._answer(body)
        except Exception:
            log.exception(
                "feedback click failed (team=%s user=%s)", workspace_of(body), id_of(body, "user")
            )
            answer = _notice(SORRY)
        for message in answer:
            try:
                await respond(**message, response_type="ephemeral", replace_original=False)
            except (SlackApiError, SlackClientError, OSError, ValueError) as exc:
                # ValueError: bolt's respond() without a response_url in the payload.
                log.warning("respond() to a feedback click failed: %s", exc)
                return

    async def _answer(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        actions = body.get("actions") or [{}]
        action = actions[0] if isinstance(actions[0], dict) else {}
        selected = action.get("selected_option") or {}
        raw = selected.get("value") if isinstance(selected, dict) else None
        parsed = parse(str(raw if raw is not None else action.get("value", "")))
        user_id = id_of(body, "user") or ""
        if parsed is None or not user_id:
            return _notice(STALE)
        click, owner = parsed
        if owner and owner != user_id:
            return _notice(NOT_YOURS)
        workspace = workspace_of(body)
        if self.commands.home is not None and workspace != self.commands.home:
            return _notice(STALE)  # another workspace's button: this token cannot act there
        channel = body.get("channel") or {}
        channel_id = str(channel.get("id", "")) if isinstance(channel, dict) else ""
        name, options = click_command(click)
        incoming = Incoming(
            command=name,
            user=User(platform=PLATFORM, id=join(workspace, user_id), raw=body),
            # The channel the click came from: a rating there also counts for its taste.
            place=Place(
                platform=PLATFORM,
                id=join(workspace, channel_id),
                is_dm=channel_id.startswith("D") or not channel_id,
                workspace_id=workspace,
            ),
            options=options,
            prefix=self.commands.prefix,
            raw=body,
        )
        log.info(
            "feedback %s %s (team=%s user=%s)", click.action, click.paper_id, workspace, user_id
        )
        replies = await self.commands.core.handle(incoming)
        out: list[dict[str, Any]] = []
        for reply in replies:
            out += render(reply, owner=user_id)
        return out or _notice("Done.")
