"""`paperbot doctor` in multi-workspace mode: each installation's token, scopes and channels."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from slack_sdk.oauth.installation_store import Installation

from adapters.slack.installations import SqlInstallationStore, TokenCipher
from bot.app import build_app
from bot.settings import load_settings
from tests.fakes.hf_server import FakeHF
from tests.fakes.slack_server import FakeSlack
from tests.oauth_helpers import TOKEN_KEY, multi_env
from tests.test_doctor import HF_TOKEN, run, subscribe


@pytest.fixture
async def hf() -> AsyncIterator[FakeHF]:
    async with FakeHF() as server:
        server.token = HF_TOKEN
        yield server


async def installed(db: str, slack: FakeSlack, *teams: str) -> None:
    app = build_app(load_settings({"DATABASE_URL": db}), source_name="sample")
    store = SqlInstallationStore(app, TokenCipher([TOKEN_KEY]))
    try:
        for team in teams:
            slack.add_team(team)
            token = f"xoxb-{team}"
            slack.tokens[token] = team
            await store.async_save(
                Installation(
                    team_id=team, bot_token=token, bot_id="B", bot_user_id="U0BOT", user_id="U1"
                )
            )
    finally:
        await app.close()


@pytest.fixture
def db(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "paperbot.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


async def test_doctor_checks_every_installation(db: str, slack: FakeSlack, hf: FakeHF) -> None:
    await installed(db, slack, "T1", "T2")
    await subscribe(db, "slack", "T1:C200", "papers")
    slack.not_member.add("C200")
    slack.uninstall("T2")
    env = {"DATABASE_URL": db, "HF_API_URL": hf.url, "HF_TOKEN": HF_TOKEN, **multi_env(slack)}

    status, table, rows = await run(env)

    assert status == 1
    assert rows["slack installations"]["detail"] == "2 workspaces"
    assert rows["slack T1 auth.test"]["mark"] == "pass"
    assert rows["slack T1 scopes"]["mark"] == "pass"
    # The channel is checked with T1's token, by its Slack id.
    member = rows["slack #papers (T1:C200)"]
    assert member["mark"] == "fail" and member["detail"] == "the bot is not a member"
    infos = slack.calls_to("conversations.info")  # once per report: the table and the JSON
    assert infos and all(c.args["channel"] == "C200" and slack.team_of(c) == "T1" for c in infos)
    bad = rows["slack T2 auth.test"]
    assert bad["mark"] == "fail" and "token_revoked" in bad["detail"]
    assert "/slack/install" in bad["fix"]
    assert "xoxb-" not in table
