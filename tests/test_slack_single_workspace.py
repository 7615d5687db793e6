"""Single-workspace mode: a command from another workspace than the bot token's is refused
(the bot could never post there), instead of being answered "Subscribed"."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.slack import SlackAdapter
from adapters.slack.commands import OTHER_WORKSPACE
from bot.app import App
from tests.fakes.slack_server import FakeSlack
from tests.oauth_helpers import command, text_of
from tests.test_slack_http import CountingCore, make_app, registry, start_http


@pytest.fixture
async def papers_app(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[App]:
    path = tmp_path / "paperbot.sqlite3"
    shutil.copy(sqlite_template, path)
    application = make_app(path)
    yield application
    await application.close()


@pytest.fixture
def core(papers_app: App) -> CountingCore:
    return CountingCore(papers_app, registry())


@pytest.fixture
async def single(core: CountingCore, slack: FakeSlack) -> AsyncIterator[SlackAdapter]:
    adapter = await start_http(core, slack)
    yield adapter
    await adapter.stop()


async def test_a_command_from_another_workspace_is_refused(
    single: SlackAdapter, slack: FakeSlack, core: CountingCore, papers_app: App
) -> None:
    slack.add_team("T9")
    [refused] = await command(single, slack, "T9", "subscribe diffusion")
    assert refused["response_type"] == "ephemeral" and OTHER_WORKSPACE in text_of(refused)
    assert core.calls == 0
    assert await papers_app.destinations.all_active() == []
    [ok] = await command(single, slack, slack.team_id, "subscribe diffusion")
    assert "Subscribed" in text_of(ok) and core.calls == 1
