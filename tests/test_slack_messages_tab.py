"""The Messages tab: text typed to the app in its DM is answered as a command."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import pytest

from adapters.slack import SlackAdapter
from adapters.slack.messages_tab import MessagesTab
from bot.app import App
from bot.commands import build_registry
from bot.core import Core
from tests.fakes.slack_server import BOT_USER_ID, FakeSlack
from tests.slack_feature_helpers import TITLES, block_texts, bot, finished, send_event
from tests.test_slack_http import start_http
from tests.test_slack_socket import env

__all__ = ["bot"]  # the fixture


_ts = itertools.count(100)


def typed(text: str, **extra: Any) -> dict[str, Any]:
    """A new message.im event: `text` escaped as Slack sends it."""
    ts = f"1735000000.{next(_ts):06d}"
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return {
        "type": "message",
        "channel": "D100",
        "channel_type": "im",
        "user": "U100",
        "text": escaped,
        "ts": ts,
        "event_ts": ts,
        **extra,
    }


async def say(
    bot: SlackAdapter, slack: FakeSlack, text: str, n: int = 1, **extra: Any
) -> list[dict[str, Any]]:
    """Type `text` in the Messages tab; return the bot's `n`th and earlier replies there."""
    await send_event(bot, slack, typed(text, **extra))
    await slack.wait_calls("chat.postMessage", n)
    return [m for m in slack.messages if m["channel"] == "D100"]


async def test_commands_typed_in_the_messages_tab_are_answered(
    bot: SlackAdapter, slack: FakeSlack
) -> None:
    [card] = await say(bot, slack, "paper 2501.00003")
    assert TITLES["2501.00003"] in block_texts(card["blocks"])
    # The same shortcuts as /papers: an id alone, "/papers …" typed as text.
    replies = await say(bot, slack, "2501.00002", n=2)
    assert TITLES["2501.00002"] in block_texts(replies[-1]["blocks"])
    replies = await say(bot, slack, "/papers paper 2501.00001", n=3)
    assert TITLES["2501.00001"] in block_texts(replies[-1]["blocks"])
    post = slack.calls_to("chat.postMessage")[-1]
    assert post.args["unfurl_links"] in (False, "0", "false")


async def test_a_subscription_made_here_is_personal_and_refreshes_the_home(
    bot: SlackAdapter, slack: FakeSlack
) -> None:
    [answer] = await say(bot, slack, 'subscribe "latent reasoning" upvotes>=1')
    text = block_texts(answer["blocks"])
    assert 'Subscribed you personally to “"latent reasoning" upvotes&gt;=1”' in text
    await slack.wait_calls("views.publish")
    assert "latent reasoning" in json.dumps(slack.home_views["U100"])


async def test_an_unknown_command_gets_a_short_hint(bot: SlackAdapter, slack: FakeSlack) -> None:
    [answer] = await say(bot, slack, "hello there <!channel>")
    assert len(answer["blocks"]) == 1
    text = block_texts(answer["blocks"])
    assert text.startswith(":x: I don't know the command 'hello'.") and "`help`" in text
    [*_, help_] = await say(bot, slack, "help", n=2)
    assert "subscribe" in json.dumps(help_)


async def test_bots_edits_own_messages_and_threads_are_ignored(
    bot: SlackAdapter, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    done = finished(monkeypatch, MessagesTab)
    ignored = [
        typed("help", bot_id="B123"),
        typed("help", subtype="message_changed"),
        typed("help", subtype="message_deleted"),
        typed("help", user=BOT_USER_ID),
        typed("help", channel_type="channel", channel="C100"),
        typed("help", thread_ts="1734000000.000100"),
        {**typed("help"), "text": None},
    ]
    for event in ignored:
        await send_event(bot, slack, event)
    # bolt drops our own message (user = the bot) before any listener; the rest reach ours.
    for _ in range(len(ignored) - 1):
        await asyncio.wait_for(done.get(), 5)
    assert slack.calls_to("chat.postMessage") == []


async def test_a_message_sent_again_by_slack_is_answered_once(
    bot: SlackAdapter, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    done = finished(monkeypatch, MessagesTab)
    event = typed("subscribe agents")
    for _ in range(2):  # Slack's retry of an event it thinks was lost
        await send_event(bot, slack, event)
        await asyncio.wait_for(done.get(), 5)
    [answer] = slack.messages
    assert "Subscribed you personally" in block_texts(answer["blocks"])
    await send_event(bot, slack, typed("subscribe agents"))  # typed again: answered
    await slack.wait_calls("chat.postMessage", 2)
    assert "already subscribed" in block_texts(slack.messages[1]["blocks"])


async def test_hostile_text_is_answered_without_pings(bot: SlackAdapter, slack: FakeSlack) -> None:
    [answer] = await say(bot, slack, "paper <!channel> \u202e<@U999>")
    dumped = json.dumps(answer)
    assert "<!channel>" not in dumped and "<@U999>" not in dumped and "\\u202e" not in dumped


async def test_the_messages_tab_over_socket_mode(sample_app: Any, slack: FakeSlack) -> None:
    from adapters.slack.app import build_slack_adapter
    from bot.commands import build_registry
    from bot.core import Core

    adapter = build_slack_adapter(Core(sample_app, build_registry()), env(slack))
    assert adapter is not None
    await adapter.connect()
    try:
        await slack.push("events_api", slack.event_callback(typed("help")))
        await slack.wait_calls("chat.postMessage")
        assert slack.messages[0]["channel"] == "D100"
    finally:
        await adapter.stop()


async def test_a_message_sent_again_to_another_process_is_answered_once(
    bot: SlackAdapter, sample_app: App, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Behind a load balancer Slack's retry may reach a second process on the same database."""
    other = await start_http(Core(sample_app, build_registry()), slack)
    # bolt reads a listener's signature when it is registered: wrap after both are started.
    done = finished(monkeypatch, MessagesTab)
    try:
        event = typed("subscribe agents")
        for process in (bot, other):
            await send_event(process, slack, event)
            await asyncio.wait_for(done.get(), 5)
    finally:
        await other.stop()
    [answer] = slack.messages
    assert "Subscribed you personally" in block_texts(answer["blocks"])
    assert len(slack.calls_to("chat.postMessage")) == 1
