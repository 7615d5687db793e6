"""The Slack adapter in Socket Mode: real slack-bolt over a WebSocket to the fake Slack."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.slack import SlackAdapter, build_slack_adapter
from bot.settings import ConfigError
from tests.fakes.slack_server import APP_TOKEN, BOT_TOKEN, FakeSlack
from tests.test_slack_http import CountingCore, make_app, registry


@pytest.fixture
async def core(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[CountingCore]:
    shutil.copy(sqlite_template, tmp_path / "paperbot.sqlite3")
    app = make_app(tmp_path / "paperbot.sqlite3")
    yield CountingCore(app, registry())
    await app.close()


def env(slack: FakeSlack, **extra: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": slack.api_url,
        **extra,
    }


@pytest.fixture
async def bot(core: CountingCore, slack: FakeSlack) -> AsyncIterator[SlackAdapter]:
    adapter = build_slack_adapter(core, env(slack))
    assert adapter is not None and adapter.config.mode == "socket"
    task = asyncio.create_task(adapter.start())
    await asyncio.wait_for(slack.socket_connected.wait(), 5)
    yield adapter
    await adapter.stop()
    await asyncio.wait_for(task, 5)


async def test_slash_command_over_socket_mode(
    bot: SlackAdapter,
    slack: FakeSlack,
    core: CountingCore,
) -> None:
    ack = await slack.push("slash_commands", slack.slash_command_form("today", key="sm1"))
    assert set(ack) == {"envelope_id"}  # an empty ack, within the 3 s
    [answer] = await slack.wait_responses("sm1")
    assert answer["response_type"] == "in_channel"
    assert "Daily Papers" in answer["blocks"][0]["text"]["text"]
    assert core.calls == 1
    # Socket Mode needs no public URL: the app connected out with its app-level token.
    [opened] = slack.calls_to("apps.connections.open")
    assert opened.headers["Authorization"] == f"Bearer {APP_TOKEN}"


async def test_socket_mode_reconnects_when_slack_asks(
    bot: SlackAdapter,
    slack: FakeSlack,
) -> None:
    await slack.sockets[-1].send_json({"type": "disconnect", "reason": "refresh_requested"})
    deadline = asyncio.get_running_loop().time() + 10
    while len(slack.calls_to("apps.connections.open")) < 2:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    await asyncio.wait_for(slack.socket_connected.wait(), 5)
    ack = await slack.push("slash_commands", slack.slash_command_form("help", key="sm2"))
    assert ack["envelope_id"]
    [answer] = await slack.wait_responses("sm2")
    assert answer["response_type"] == "ephemeral"


async def test_bad_app_token_stops_with_a_config_error(
    core: CountingCore,
    slack: FakeSlack,
) -> None:
    adapter = build_slack_adapter(core, env(slack, SLACK_APP_TOKEN="xapp-wrong"))
    assert adapter is not None
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
        await asyncio.wait_for(adapter.start(), 5)
    assert slack.sockets == []


async def test_bad_bot_token_stops_with_a_config_error(
    core: CountingCore,
    slack: FakeSlack,
) -> None:
    adapter = build_slack_adapter(core, env(slack, SLACK_BOT_TOKEN="xoxb-wrong"))
    assert adapter is not None
    with pytest.raises(ConfigError, match=r"SLACK_BOT_TOKEN.*invalid_auth"):
        await asyncio.wait_for(adapter.start(), 5)
