"""The App Home tab: published on app_home_opened, its buttons, refreshed after changes."""

from __future__ import annotations

import json
from typing import Any

from adapters.slack import SlackAdapter
from adapters.slack.home import ALERTS, MUTE, UNSUBSCRIBE, home_view
from bot.app import App
from bot.services.home import HomeSubscription, HomeSummary
from tests.fakes.slack_server import FakeSlack, _check_view
from tests.slack_feature_helpers import block_texts, bot, send_event, send_interactive
from tests.test_slack_commands import papers

__all__ = ["bot"]  # the fixture


async def open_home(bot: SlackAdapter, slack: FakeSlack, n: int, user: str = "U100") -> str:
    event = {"type": "app_home_opened", "user": user, "channel": "D100", "tab": "home"}
    await send_event(bot, slack, event)
    return await published(slack, n, user)


async def published(slack: FakeSlack, n: int, user: str = "U100") -> str:
    """The text of `user`'s Home tab once views.publish was called `n` times in all."""
    await slack.wait_calls("views.publish", n)
    view = slack.home_views[user]
    assert _check_view(view, "home") is None
    return block_texts(view["blocks"])


async def click(
    bot: SlackAdapter, slack: FakeSlack, action_id: str, value: str, user: str = "U100"
) -> None:
    payload = slack.interactive(
        "block_actions",
        user_id=user,
        container={"type": "view", "view_id": "V1"},
        view={"id": "V1", "type": "home"},
        actions=[
            {
                "action_id": action_id,
                "block_id": "b",
                "type": "button",
                "value": value,
                "action_ts": "1",
            }
        ],
    )
    status, _ = await send_interactive(bot, slack, payload)
    assert status == 200


def button(slack: FakeSlack, action_id: str, user: str = "U100") -> dict[str, Any]:
    view = slack.home_views[user]
    for block in view["blocks"]:
        for element in [*(block.get("elements") or []), block.get("accessory") or {}]:
            if element.get("action_id") == action_id:
                return element
    raise AssertionError(f"no {action_id} button")


async def test_the_home_tab_shows_state_and_its_buttons_change_it(
    bot: SlackAdapter, slack: FakeSlack, sample_app: App
) -> None:
    text = await open_home(bot, slack, 1)
    assert "Your subscriptions (0)" in text and "*Mute:* off" in text
    assert "daily, one DM at 09:00 UTC, every day" in text
    assert "Nothing delivered to you yet." in text

    # A slash command that changes it refreshes it.
    await papers(bot, slack, "subscribe agents --dm")
    text = await published(slack, 2)
    assert "`#1` “agents”" in text and "in the last 7 days" in text
    assert button(slack, UNSUBSCRIBE)["value"] == "1"
    assert button(slack, UNSUBSCRIBE)["confirm"]["title"]["text"] == "Unsubscribe?"
    # One that does not (help) publishes nothing.
    await papers(bot, slack, "help", n=1)

    await click(bot, slack, MUTE, "1d")
    text = await published(slack, 3)
    assert "Muted until" in text and button(slack, MUTE)["value"] == "off"
    await click(bot, slack, ALERTS + "_instant", "instant")
    text = await published(slack, 4)
    assert "*Alerts:* instant" in text and "You get a DM whenever" in text
    await click(bot, slack, MUTE, "off")
    text = await published(slack, 5)
    assert "*Mute:* off" in text and "Unmuted" in text
    await click(bot, slack, ALERTS, "daily")
    assert "*Alerts:* daily" in await published(slack, 6)
    await click(bot, slack, UNSUBSCRIBE, "1")
    text = await published(slack, 7)
    assert "Your subscriptions (0)" in text and "Removed your subscription #1" in text
    assert len(slack.calls_to("views.publish")) == 7


async def test_forged_button_values_change_nothing(bot: SlackAdapter, slack: FakeSlack) -> None:
    await papers(bot, slack, "subscribe agents --dm")
    await published(slack, 1)
    for action_id, value in (
        (UNSUBSCRIBE, "1 --all"),
        (UNSUBSCRIBE, "-1"),
        (MUTE, "9999w"),
        (ALERTS, "hourly"),
        ("paperbot_home_nope", "1"),
    ):
        await click(bot, slack, action_id, value)
    text = await published(slack, 6)
    assert "That button is out of date" in text and "`#1` “agents”" in text


async def test_someone_elses_subscription_cannot_be_removed_from_a_home(
    bot: SlackAdapter, slack: FakeSlack
) -> None:
    await papers(bot, slack, "subscribe agents --dm", user="U200")
    await published(slack, 1, "U200")
    await click(bot, slack, UNSUBSCRIBE, "1", user="U100")
    text = await published(slack, 2, "U100")
    assert "Removed" not in text
    [listed] = await papers(bot, slack, "subscriptions", user="U200")
    assert "agents" in json.dumps(listed)


async def test_the_messages_tab_opening_publishes_nothing(
    bot: SlackAdapter, slack: FakeSlack
) -> None:
    await send_event(bot, slack, {"type": "app_home_opened", "user": "U100", "tab": "messages"})
    await open_home(bot, slack, 1, user="U300")
    assert list(slack.home_views) == ["U300"]


def test_the_view_stays_within_slacks_limits_with_hostile_queries() -> None:
    hostile = "<!channel> *bold* `x` &amp; \u202e" * 40
    summary = HomeSummary(
        subscriptions=tuple(HomeSubscription(i, hostile, i) for i in range(1, 60)),
        instant=False,
        schedule="09:00 UTC, every day",
        muted_until=None,
        disabled_reason=hostile,
        delivered=(),
    )
    view = home_view(summary, "/papers ", notice=hostile * 10)
    assert _check_view(view, "home") is None
    dumped = json.dumps(view)
    assert "<!channel>" not in dumped and "\\u202e" not in dumped
    assert "and 19 more" in block_texts(view["blocks"])


async def test_a_refused_publish_is_retried_at_the_next_opening(
    bot: SlackAdapter, slack: FakeSlack
) -> None:
    slack.fail("views.publish", "invalid_arguments")
    event = {"type": "app_home_opened", "user": "U100", "channel": "D100", "tab": "home"}
    await send_event(bot, slack, event)
    await slack.wait_calls("views.publish", 1)
    assert slack.home_views == {}
    assert "Your subscriptions (0)" in await open_home(bot, slack, 2)
