"""The App Home tab: a person's subscriptions, alert settings, mute and last deliveries.

Published with `views.publish` when the tab is opened (`app_home_opened`), after a click
on one of its buttons, and after a command that changed what it shows (typed as /papers or
in the Messages tab). The buttons run registry commands (`unsubscribe <id> --dm`,
`mute 1d`, `alerts daily`…), so they answer exactly as the commands do; the answer is
shown at the top of the refreshed tab.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.commands import PLATFORM, SlashCommands, command_line, unescape
from adapters.slack.payloads import id_of, text_at
from adapters.slack.render import Block, context, esc, esc_lines, link, section
from adapters.slack.workspaces import join, split, workspace_of
from bot.messages import Notice, Place, User
from bot.plural import plural
from bot.services.home import CHANGES_HOME, HomeSummary, home_summary

log = logging.getLogger(__name__)

ACTIONS = re.compile(r"^paperbot_home_")
UNSUBSCRIBE = "paperbot_home_unsubscribe"
MUTE = "paperbot_home_mute"
ALERTS = "paperbot_home_alerts"
MAX_SHOWN = 40  # subscriptions listed; a Home tab holds 100 blocks
MAX_NOTICE = 1900
_ID = re.compile(r"\d{1,18}")

Ack = Callable[..., Awaitable[Any]]


def _button(action_id: str, label: str, value: str, **extra: Any) -> Block:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label, "emoji": False},
        "value": value,
        **extra,
    }


def home_view(summary: HomeSummary, prefix: str, notice: str | None = None) -> dict[str, Any]:
    """The Home tab's view for one person."""
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Your papers"}}
    ]
    if notice:
        blocks.append(context(esc_lines(notice, MAX_NOTICE)))
    if summary.instant:
        alerts = "*Alerts:* instant, a DM soon after new papers match"
    else:
        alerts = f"*Alerts:* daily, one DM at {esc(summary.schedule, 200)}"
    lines = [alerts]
    lines.append(
        f"*Muted until* {esc(summary.muted_until, 200)}" if summary.muted_until else "*Mute:* off"
    )
    if summary.disabled_reason:
        lines.append(f":warning: DMs stopped: {esc(summary.disabled_reason, 500)}")
    blocks.append(section("\n".join(lines)))
    mute = (
        _button(MUTE, "Unmute", "off") if summary.muted_until else _button(MUTE, "Mute 1 day", "1d")
    )
    daily = _button(ALERTS, "Alerts daily", "daily")
    instant = _button(ALERTS + "_instant", "Alerts instant", "instant")
    (instant if summary.instant else daily)["style"] = "primary"
    blocks.append({"type": "actions", "block_id": "settings", "elements": [daily, instant, mute]})
    blocks.append({"type": "divider"})
    subs = summary.subscriptions
    blocks.append(section(f"*Your subscriptions ({len(subs)})*"))
    for sub in subs[:MAX_SHOWN]:
        count = (
            "the query no longer reads as one"
            if sub.recent is None
            else f"{plural(sub.recent, 'paper')} in the last 7 days"
        )
        block = section(f"`#{sub.id}` “{esc(sub.query, 1000)}” — {count}")
        block["block_id"] = f"sub_{sub.id}"
        block["accessory"] = _button(
            UNSUBSCRIBE,
            "Unsubscribe",
            str(sub.id),
            confirm={
                "title": {"type": "plain_text", "text": "Unsubscribe?"},
                "text": {"type": "plain_text", "text": f"Remove subscription #{sub.id}?"},
                "confirm": {"type": "plain_text", "text": "Unsubscribe"},
                "deny": {"type": "plain_text", "text": "Keep it"},
            },
        )
        blocks.append(block)
    if len(subs) > MAX_SHOWN:
        blocks.append(
            context(f"and {len(subs) - MAX_SHOWN} more: `{esc(prefix, 50)}subscriptions`")
        )
    if not subs:
        blocks.append(
            section(
                f"Subscribe with `{esc(prefix, 50)}subscribe <query> --dm`, or type "
                "`subscribe <query>` in the Messages tab."
            )
        )
    blocks.append({"type": "divider"})
    blocks.append(section("*Last deliveries*"))
    if summary.delivered:
        items = [
            f"• {link(p.url, p.title.strip() or p.id, 250)} · {at.date().isoformat()}"
            for p, at in summary.delivered
        ]
        blocks.append(section("\n".join(items)))
    else:
        blocks.append(context("Nothing delivered to you yet."))
    blocks.append(
        context(f"All commands: `{esc(prefix, 50)}help`; you can also type them in Messages.")
    )
    return {"type": "home", "blocks": blocks}


class AppHome:
    """Publishes the Home tab and answers its buttons."""

    def __init__(self, commands: SlashCommands) -> None:
        self.commands = commands

    def _who(self, user_id: str, team_id: str | None) -> tuple[User, Place]:
        # The personal scope only: the place is no channel (commands run with --dm).
        place = Place(platform=PLATFORM, id="", is_dm=False, workspace_id=team_id)
        # The same id /papers gives this user: T123:U456 (see adapters/slack/workspaces.py).
        return User(platform=PLATFORM, id=join(team_id, user_id)), place

    async def publish(
        self,
        client: AsyncWebClient,
        user_id: str,
        team_id: str | None,
        notice: str | None = None,
    ) -> None:
        """Publish `user_id`'s Home tab (failures are logged: the tab is refreshed next time).

        `client` is bolt's, with the token of the person's workspace.
        """
        user, place = self._who(user_id, team_id)
        try:
            summary = await home_summary(self.commands.core.app, user, place)
            view = home_view(summary, self.commands.prefix, notice)
            await client.views_publish(user_id=user_id, view=view)
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("views.publish for %s failed: %s", user_id, exc)
        except Exception:
            log.exception("App Home of %s failed", user_id)

    async def opened(
        self, event: dict[str, Any], context: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """`app_home_opened`: the Home tab (not the Messages tab) was opened."""
        user_id = id_of(event, "user")
        if event.get("tab", "home") != "home" or not user_id:
            return
        await self.publish(client, user_id, workspace_of(context))

    async def clicked(self, ack: Ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        """A Home button: run its command, then show the tab again with the answer."""
        await ack()
        user_id = id_of(body, "user")
        team_id = workspace_of(body)
        line = button_line(
            text_at(body, "actions", 0, "action_id"), text_at(body, "actions", 0, "value")
        )
        if not user_id:
            return
        if line is None:
            await self.publish(
                client, user_id, team_id, "That button is out of date; here is the tab now."
            )
            return
        user, place = self._who(user_id, team_id)
        replies = await self.commands.core.handle_text(
            line, user, place, prefix=self.commands.prefix, raw=body
        )
        notice = " ".join(r.text for r in replies if isinstance(r, Notice)) or None
        log.info("App Home %r (team=%s user=%s)", line, team_id, user_id)
        await self.publish(client, user_id, team_id, notice)

    async def after_line(self, user_ref: str, line: str, client: AsyncWebClient) -> None:
        """Refresh the tab after a command that changed what it shows.

        `user_ref` is the user's id with its workspace (`T123:U456`), or a bare Slack id.
        """
        found = self.commands.core.resolve(line)
        if found is not None and found[0].name in CHANGES_HOME:
            workspace, user_id = split(user_ref)
            await self.publish(client, user_id, workspace)

    async def after_slash(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        """The same, after a /papers command (with bolt's client: its workspace's token)."""
        line, _ = command_line(unescape(str(body.get("text", ""))), self.commands.core)
        user_ref = join(workspace_of(body), str(body.get("user_id", "")))
        await self.after_line(user_ref, line, client)


def button_line(action_id: str, value: str) -> str | None:
    """The command a Home button runs, or None for a value no button of ours sends."""
    if action_id == UNSUBSCRIBE and _ID.fullmatch(value):
        return f"unsubscribe {value} --dm"
    if action_id == MUTE and value in ("1d", "off"):
        return f"mute {value}"
    if action_id in (ALERTS, ALERTS + "_instant") and value in ("daily", "instant"):
        return f"alerts {value}"
    return None
