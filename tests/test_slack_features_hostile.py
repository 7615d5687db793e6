"""Signed payloads of odd shapes for the new Slack listeners: never a crash, never a wrong act.

Slack is trusted to sign, not to be tidy (and Socket Mode payloads skip inbound.py's
checks): fields of the wrong type read as missing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.slack import SlackAdapter
from adapters.slack.modals import BLOCK
from adapters.slack.payloads import dig, id_of, text_at
from adapters.slack.shortcuts import FindShortcut
from bot.app import App
from bot.commands import build_registry
from bot.core import Core
from tests.fakes.slack_server import FakeSlack
from tests.slack_feature_helpers import finished, store_titles
from tests.test_slack_socket import env


@pytest.fixture
async def bot(sample_app: App, slack: FakeSlack) -> AsyncIterator[SlackAdapter]:
    """Over Socket Mode: its payloads reach bolt unchecked (HTTP ones pass inbound.py)."""
    from adapters.slack.app import build_slack_adapter

    await store_titles(sample_app)
    adapter = build_slack_adapter(Core(sample_app, build_registry()), env(slack))
    assert adapter is not None
    await adapter.connect()
    yield adapter
    await adapter.stop()


async def send(slack: FakeSlack, payload: dict[str, Any]) -> dict[str, Any]:
    """Push an interactive payload; return the ack's payload (bolt's answer), if any."""
    ack = await slack.push("interactive", payload)
    return dict(ack.get("payload") or {})


def test_dig_reads_only_what_has_the_right_shape() -> None:
    data: Any = {"a": [{"b": "x"}], "user": "U1", "team": {"id": 5}}
    assert dig(data, "a", 0, "b") == "x"
    assert dig(data, "a", 3, "b") is None and dig(data, "a", "b") is None
    assert dig("text", "a") is None and dig(data, "a", 0, "b", "c") is None
    assert text_at(data, "a") == "" and id_of(data, "user") == "U1" and id_of(data, "team") == ""


async def test_home_clicks_of_odd_shapes_do_nothing(bot: SlackAdapter, slack: FakeSlack) -> None:
    # (bolt's own matchers need `actions` to be a list of objects with an action_id.)
    for action in (
        {"action_id": "paperbot_home_unsubscribe", "value": {"id": 1}},
        {"action_id": "paperbot_home_unsubscribe"},
        {"action_id": "paperbot_home_mute", "value": 5},
        {"action_id": "paperbot_home_alerts", "value": ["daily"]},
    ):
        fields = {"actions": [action]}
        await send(slack, slack.interactive("block_actions", **fields))
    await slack.wait_calls("views.publish", 4)  # each says the button is out of date
    assert "out of date" in json.dumps(slack.home_views["U100"])


async def test_a_submission_of_odd_shape_is_answered_inline(
    bot: SlackAdapter, slack: FakeSlack
) -> None:
    for state in ("x", {"values": []}, {"values": {BLOCK: "x"}}, {"values": {BLOCK: {"query": 5}}}):
        payload = slack.interactive(
            "view_submission",
            view={"id": "V1", "type": "modal", "callback_id": "paperbot_subscribe", "state": state},
        )
        answer = await send(slack, payload)
        assert answer["response_action"] == "errors", state


async def test_a_shortcut_without_channel_or_message_still_answers(
    bot: SlackAdapter, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    done = finished(monkeypatch, FindShortcut)
    payload = slack.interactive(
        "message_action",
        callback_id="paperbot_find_paper",
        response_url=slack.response_url("odd"),
        message={"text": ["not", "text"], "attachments": "x"},
    )
    await send(slack, payload)
    await asyncio.wait_for(done.get(), 5)
    [answer] = slack.responses["odd"]
    assert "That message has no text" in json.dumps(answer)
