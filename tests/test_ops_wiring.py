"""`paperbot run` wiring of the operations endpoint: its own port, or Slack HTTP mode's."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from adapters.cli.wiring import start_operations
from adapters.slack import build_slack_adapter
from bot.app import App, build_app
from bot.commands import build_registry
from bot.core import Core
from bot.scheduler import poll_result
from bot.settings import load_settings
from tests.discord_helpers import running_adapter
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.slack_server import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, FakeSlack
from tests.ops_helpers import get, scrape, serving, value


def with_settings(app: App, **env: str) -> App:
    settings = load_settings({"DATABASE_URL": app.settings.database_url, **env})
    return build_app(settings, source_name="sample", clock=app.clock)


async def test_off_unless_a_port_is_set(sample_app: App) -> None:
    assert await start_operations(sample_app, []) is None


async def test_its_own_port(sample_app: App) -> None:
    app = with_settings(sample_app, METRICS_PORT="0")
    ops = await start_operations(app, [])
    assert ops is not None and ops.port
    try:
        m = await scrape(f"http://127.0.0.1:{ops.port}")
        assert value(m, "paperbot_papers_stored") == await app.papers.count() > 0
    finally:
        await ops.stop()
        await app.close()


async def test_slack_http_mode_on_the_same_port_shares_its_server(
    sample_app: App, slack: FakeSlack, tmp_path: Path
) -> None:
    app = with_settings(sample_app, METRICS_PORT="0")
    adapter = build_slack_adapter(
        Core(app, build_registry()),
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "SLACK_HTTP_HOST": "127.0.0.1",
            "SLACK_HTTP_PORT": "0",
        },
    )
    assert adapter is not None and not adapter.connected
    ops = await start_operations(app, [adapter])
    assert ops is not None and ops.port is None  # no server of its own
    await adapter.connect()
    try:
        base = f"http://127.0.0.1:{adapter.port}"
        assert adapter.connected
        assert (await get(base + "/healthz"))[0] == 200
        status, _, body = await get(base + "/readyz")
        assert (status, body) == (200, "ready\n")
        m = await scrape(base)
        assert value(m, "paperbot_papers_stored") > 0
        # Slack's own route is still there.
        async with (
            aiohttp.ClientSession() as session,
            session.post(base + "/slack/events", data=b"{}") as resp,
        ):
            assert resp.status == 401
    finally:
        await adapter.stop()
        await ops.stop()
        await app.close()
    assert not adapter.connected


async def test_slack_socket_mode_is_connected_while_its_session_is_open(
    sample_app: App, slack: FakeSlack
) -> None:
    adapter = build_slack_adapter(
        Core(sample_app, build_registry()),
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_API_URL": slack.api_url,
        },
    )
    assert adapter is not None and adapter.config.mode == "socket"
    assert not adapter.connected
    task = asyncio.create_task(adapter.start())
    try:
        await asyncio.wait_for(slack.socket_connected.wait(), 5)
        # The adapter keeps its session only once its connect returns, after the fake's event.
        async with asyncio.timeout(5):
            while not adapter.connected:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        assert adapter.connected
    finally:
        await adapter.stop()
        await asyncio.wait_for(task, 5)
    assert not adapter.connected


async def test_discord_is_connected_while_logged_in(fake: FakeDiscord, sample_app: App) -> None:
    async with running_adapter(fake, Core(sample_app, build_registry())) as adapter:
        assert adapter.connected
        async with serving(sample_app, {"discord": adapter}) as base:
            assert (await get(base + "/readyz"))[0] == 200
    assert not adapter.connected


def test_poll_results() -> None:
    assert [poll_result(2, 0), poll_result(2, 1), poll_result(2, 2)] == ["ok", "partial", "error"]
