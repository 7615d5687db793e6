"""`paperbot doctor` against the local fakes: real HTTP to fake Discord, Slack and HF."""

from __future__ import annotations

import io
import json
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.cli.doctor import report
from adapters.discord.commands import CommandBuilder
from adapters.slack.checks import SCOPES
from bot.app import build_app
from bot.commands import build_registry
from bot.core import Core
from bot.messages import Place, User
from bot.settings import load_settings
from tests.discord_helpers import env_for, running_adapter
from tests.fakes.discord_server import (
    EMBED_LINKS,
    EVERYONE_PERMISSIONS,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    FakeDiscord,
)
from tests.fakes.hf_server import FakeHF
from tests.fakes.slack_server import APP_TOKEN, BOT_TOKEN, FakeSlack

HF_TOKEN = "hf_DoctorTokenAbCdEfGhIjKl"
ADMIN = {"can_manage_channel": True, "name": "ada"}


@pytest.fixture
async def hf() -> AsyncIterator[FakeHF]:
    async with FakeHF() as server:
        server.token = HF_TOKEN
        yield server


@pytest.fixture
def db(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "paperbot.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


def environment(
    db: str, fake: FakeDiscord, slack: FakeSlack, hf: FakeHF, **extra: str
) -> dict[str, str]:
    return {
        "DATABASE_URL": db,
        "HF_API_URL": hf.url,
        "HF_TOKEN": HF_TOKEN,
        **env_for(fake),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": slack.api_url,
        **extra,
    }


async def subscribe(db: str, platform: str, channel: str, name: str) -> None:
    """A channel subscribed through the real core, as a chat user would."""
    app = build_app(load_settings({"DATABASE_URL": db}), source_name="sample")
    try:
        user = User(platform=platform, id="U1", **ADMIN)
        place = Place(platform=platform, id=channel, name=name, workspace_id="W1")
        await Core(app, build_registry()).handle_text("subscribe diffusion", user, place)
    finally:
        await app.close()


def sync_like_the_bot(fake: FakeDiscord) -> None:
    """What `paperbot run` leaves on Discord: the registry's commands, synced globally."""
    names = [c.name for c in CommandBuilder(Core(None, build_registry())).build(build_registry())]  # type: ignore[arg-type]
    fake.synced["global"] = [{"name": n, "type": 1} for n in names]


async def run(env: dict[str, str]) -> tuple[int, str, dict[str, dict[str, Any]]]:
    """The exit status, the table, and the JSON rows by check name."""
    table, raw = io.StringIO(), io.StringIO()
    status = await report(env, out=table)
    assert await report(env, as_json=True, out=raw) == status
    rows = {r["check"]: r for r in json.loads(raw.getvalue())}
    return status, table.getvalue(), rows


@pytest.fixture
async def ready(db: str, fake: FakeDiscord, slack: FakeSlack, hf: FakeHF) -> dict[str, str]:
    """Everything in order: a Discord and two Slack channels subscribed, commands synced."""
    await subscribe(db, "discord", fake.channel_id, "general")
    await subscribe(db, "slack", "C200", "papers")
    await subscribe(db, "slack", "C300", "ml")
    sync_like_the_bot(fake)
    return environment(db, fake, slack, hf)


async def test_all_pass_after_the_bot_has_run(
    db: str, fake: FakeDiscord, slack: FakeSlack, hf: FakeHF
) -> None:
    await subscribe(db, "discord", fake.channel_id, "general")
    await subscribe(db, "slack", "C200", "papers")
    app = build_app(load_settings({"DATABASE_URL": db}), source_name="sample")
    try:  # the real adapter logs in and syncs its commands
        async with running_adapter(fake, Core(app, build_registry())):
            pass
    finally:
        await app.close()
    status, table, rows = await run(environment(db, fake, slack, hf))
    assert status == 0, table
    assert "✗" not in table and table.rstrip().endswith("all checks passed")
    assert set(rows) >= {
        "settings",
        "database",
        "hugging face",
        "hf token",
        "discord token",
        "discord intents",
        "discord commands",
        f"discord #general ({fake.channel_id})",
        "slack auth.test",
        "slack scopes",
        "slack app token",
        "slack #papers (C200)",
        "disabled destinations",
    }
    assert all(r["mark"] == "pass" for r in rows.values())
    assert rows["database"]["detail"].endswith(")") and "head" in rows["database"]["detail"]
    assert rows["hf token"]["detail"] == "valid (for paperbot-operator)"
    perms = rows[f"discord #general ({fake.channel_id})"]["detail"]
    assert perms == "View Channel, Send Messages, Embed Links"
    assert HF_TOKEN not in table and fake.token not in table and BOT_TOKEN not in table


def failed(rows: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in rows.items() if r["mark"] == "fail"}


async def test_a_missing_permission_fails_with_its_fix(
    fake: FakeDiscord, ready: dict[str, str]
) -> None:
    # (All permissions but one would include Administrator, which grants every one.)
    fake.bot_permissions = VIEW_CHANNEL | SEND_MESSAGES
    assert not EVERYONE_PERMISSIONS & EMBED_LINKS
    status, table, rows = await run(ready)
    assert status == 1
    [(name, row)] = failed(rows).items()
    assert name == f"discord #general ({fake.channel_id})"
    assert row["detail"] == "missing Embed Links"
    assert "grant paperbot's role Embed Links in that channel" in row["fix"]
    assert re.search(r"^✗ fail  discord #general .* missing Embed Links$", table, re.M)
    assert "fix: grant paperbot's role Embed Links" in table
    assert table.rstrip().endswith("1 failed")


async def test_a_channel_overwrite_is_applied(fake: FakeDiscord, ready: dict[str, str]) -> None:
    fake.bot_permissions = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS  # not Administrator
    deny = {"id": fake.bot_role_id, "type": 0, "allow": "0", "deny": str(VIEW_CHANNEL)}
    fake.channels[fake.channel_id]["permission_overwrites"] = [deny]
    status, _, rows = await run(ready)
    assert status == 1
    assert failed(rows)[f"discord #general ({fake.channel_id})"]["detail"] == "missing View Channel"
    # The bot's own overwrite, applied last, gives it back.
    allow = {"id": fake.bot_user["id"], "type": 1, "allow": str(VIEW_CHANNEL), "deny": "0"}
    fake.channels[fake.channel_id]["permission_overwrites"] = [deny, allow]
    assert (await run(ready))[0] == 0


async def test_a_channel_the_bot_cannot_see(fake: FakeDiscord, ready: dict[str, str]) -> None:
    fake.hidden_channels.add(fake.channel_id)
    _, _, rows = await run(ready)
    row = failed(rows)[f"discord #general ({fake.channel_id})"]
    assert "Missing Access" in row["detail"] and "View Channel" in row["fix"]


async def test_commands_not_synced(fake: FakeDiscord, ready: dict[str, str]) -> None:
    fake.synced.clear()
    _, _, rows = await run(ready)
    row = failed(rows)["discord commands"]
    assert row["detail"].startswith("not synced (global): /")
    assert "/subscribe" in row["detail"] and "paperbot run" in row["fix"]


async def test_a_bad_discord_token(
    db: str, fake: FakeDiscord, slack: FakeSlack, hf: FakeHF
) -> None:
    env = environment(db, fake, slack, hf, DISCORD_TOKEN="not-the-token")
    status, table, rows = await run(env)
    assert (
        status == 1
        and failed(rows)["discord token"]["detail"] == "Discord rejected DISCORD_TOKEN (401)"
    )
    assert "not-the-token" not in table


async def test_a_missing_scope_fails_with_its_fix(slack: FakeSlack, ready: dict[str, str]) -> None:
    slack.scopes.remove("groups:read")
    status, _, rows = await run(ready)
    assert status == 1
    [(name, row)] = failed(rows).items()
    assert name == "slack scopes" and row["detail"] == "missing groups:read"
    assert "reinstall the app" in row["fix"]


async def test_a_channel_without_the_bot(slack: FakeSlack, ready: dict[str, str]) -> None:
    slack.not_member.add("C300")
    status, _, rows = await run(ready)
    assert status == 1
    [(name, row)] = failed(rows).items()
    assert name == "slack #ml (C300)" and row["detail"] == "the bot is not a member"
    assert row["fix"] == "type `/invite @paperbot` in #ml"
    assert rows["slack #papers (C200)"]["mark"] == "pass"


async def test_a_rejected_slack_token(slack: FakeSlack, ready: dict[str, str]) -> None:
    slack.fail("auth.test", "invalid_auth", times=2)  # the table, then the JSON
    _, _, rows = await run(ready)
    assert (
        failed(rows)["slack auth.test"]["detail"] == "Slack rejected SLACK_BOT_TOKEN (invalid_auth)"
    )


async def test_a_rejected_hf_token(hf: FakeHF, ready: dict[str, str]) -> None:
    hf.token = "hf_SomeoneElsesTokenXyzXyzXyz"
    _, table, rows = await run(ready)
    row = failed(rows)["hf token"]
    assert row["detail"] == "Hugging Face rejected HF_TOKEN (401)" and HF_TOKEN not in table


async def test_hugging_face_down(hf: FakeHF, ready: dict[str, str]) -> None:
    hf.fail_always(503)
    _, _, rows = await run(ready)
    assert failed(rows)["hugging face"]["detail"].endswith("/api/daily_papers answered 503")


async def test_a_bad_setting_is_the_one_line(ready: dict[str, str]) -> None:
    status, _, rows = await run({**ready, "INGEST_INTERVAL_MINUTES": "0"})
    assert status == 1 and list(rows) == ["settings"]
    assert (
        rows["settings"]["detail"]
        == "INGEST_INTERVAL_MINUTES must be a whole number of minutes from 1 to 1440"
    )
    assert "see .env.example" in rows["settings"]["fix"]


async def test_a_database_without_the_schema(tmp_path: Path, ready: dict[str, str]) -> None:
    env = {**ready, "DATABASE_URL": f"sqlite:///{tmp_path}/empty.sqlite3"}
    status, _, rows = await run(env)
    assert status == 1
    assert failed(rows)["database"]["fix"] == "run `paperbot db upgrade`"
    assert "disabled destinations" not in rows  # not read from a database that is not there


async def test_a_database_one_migration_behind(db: str, ready: dict[str, str]) -> None:
    from sqlalchemy import text

    from bot.storage.db import make_engine

    engine = make_engine(load_settings({"DATABASE_URL": db}).database_url)
    async with engine.begin() as conn:
        head = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
        await conn.execute(text("UPDATE alembic_version SET version_num = '0006'"))
    await engine.dispose()
    _, _, rows = await run(ready)
    row = failed(rows)["database"]
    assert "at revision 0006; this paperbot expects " + head in row["detail"]
    assert row["fix"].startswith("run `paperbot db upgrade`")
    async with engine.begin() as conn:  # migrated by a newer paperbot
        await conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    await engine.dispose()
    _, _, rows = await run(ready)
    assert failed(rows)["database"]["detail"].endswith("newer than this paperbot knows")


async def test_an_unreachable_database(ready: dict[str, str]) -> None:
    env = {**ready, "DATABASE_URL": "postgresql://paperbot:sekrit-pw@127.0.0.1:1/none"}
    _, table, rows = await run(env)
    row = failed(rows)["database"]
    assert row["detail"].startswith(
        "cannot connect to postgresql+asyncpg://paperbot:***@127.0.0.1:1/none"
    )
    assert "sekrit-pw" not in table


async def test_disabled_destinations_are_listed_with_why(db: str, ready: dict[str, str]) -> None:
    from sqlalchemy import update

    from bot.storage.models import DestinationRow

    app = build_app(load_settings({"DATABASE_URL": db}), source_name="sample")
    try:
        async with app.sessions.begin() as s:
            await s.execute(
                update(DestinationRow)
                .where(DestinationRow.external_id == "C300")
                .values(disabled_reason="the Slack channel is archived", disabled_at=app.clock())
            )
    finally:
        await app.close()
    status, table, rows = await run(ready)
    assert status == 0  # a warning: nothing in the configuration to fix
    row = rows["disabled: slack"]
    assert row["mark"] == "warn" and row["detail"].startswith("#ml since ")
    assert row["detail"].endswith(": the Slack channel is archived")
    assert "slack #ml (C300)" not in rows  # not subscribed-and-enabled any more
    assert "1 warnings" in table.splitlines()[-1]


def test_the_scopes_checked_are_the_manifests() -> None:
    manifest = (Path(__file__).parent.parent / "adapters/slack/manifest.yml").read_text()
    bot = manifest.split("    bot:\n", 1)[1].split("settings:", 1)[0]
    assert tuple(re.findall(r"^\s+- ([a-z:.]+)", bot, re.M)) == SCOPES


async def test_the_command_line(tmp_path: Path, db: str, hf: FakeHF) -> None:
    """`paperbot doctor` as a process: the table on stdout, the exit status, no migration."""
    from tests.test_cli import paperbot

    env = {"DATABASE_URL": db, "PAPERS_SOURCE": "huggingface", "HF_API_URL": hf.url}
    status, out, err = await paperbot("doctor", cwd=tmp_path, env=env)
    assert (status, err) == (0, ""), out
    assert re.search(r"^✓ pass  settings +parsed; configured: no chat platform", out, re.M)
    assert out.rstrip().endswith("all checks passed")
    bad = {**env, "LOG_FORMAT": "yaml"}
    status, out, _ = await paperbot("doctor", "--json", cwd=tmp_path, env=bad)
    assert status == 1
    assert json.loads(out) == [
        {
            "check": "settings",
            "mark": "fail",
            "detail": "LOG_FORMAT must be one of text, json",
            "fix": "set that variable in the environment or .env (see .env.example)",
        }
    ]
    empty = {**env, "DATABASE_URL": f"sqlite:///{tmp_path}/new.sqlite3"}
    status, out, _ = await paperbot("doctor", cwd=tmp_path, env=empty)
    assert status == 1 and "fix: run `paperbot db upgrade`" in out
    status, _, _ = await paperbot("doctor", cwd=tmp_path, env=empty)
    assert status == 1  # doctor changed nothing: still no schema


async def test_a_thread_needs_send_messages_in_threads_from_its_parent(
    db: str, fake: FakeDiscord, ready: dict[str, str]
) -> None:
    thread = "1200000000000000009"
    fake.channels[thread] = {
        "id": thread,
        "type": 11,  # a public thread
        "guild_id": fake.guild_id,
        "name": "weekly-papers",
        "parent_id": fake.channel_id,
    }
    await subscribe(db, "discord", thread, "weekly-papers")
    in_threads = 1 << 38
    fake.bot_permissions = VIEW_CHANNEL | EMBED_LINKS | SEND_MESSAGES  # not in threads
    _, _, rows = await run(ready)
    row = failed(rows)[f"discord #weekly-papers ({thread})"]
    assert row["detail"] == "missing Send Messages in Threads"
    # Allowed on the parent channel, for the bot's role: the thread inherits it.
    allow = {"id": fake.bot_role_id, "type": 0, "allow": str(in_threads), "deny": "0"}
    fake.channels[fake.channel_id]["permission_overwrites"] = [allow]
    status, table, rows = await run(ready)
    assert status == 0, table
    assert rows[f"discord #weekly-papers ({thread})"]["detail"] == (
        "View Channel, Embed Links, Send Messages in Threads"
    )


async def test_threads_on_needs_create_public_threads_and_send_messages_in_threads(
    db: str, fake: FakeDiscord, ready: dict[str, str]
) -> None:
    app = build_app(load_settings({"DATABASE_URL": db}), source_name="sample")
    try:
        user = User(platform="discord", id="U1", **ADMIN)
        place = Place(platform="discord", id=fake.channel_id, name="general", workspace_id="W1")
        await Core(app, build_registry()).handle_text("digest threads on", user, place)
    finally:
        await app.close()
    fake.bot_permissions = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS
    _, _, rows = await run(ready)
    row = failed(rows)[f"discord #general ({fake.channel_id})"]
    assert row["detail"] == "missing Create Public Threads, Send Messages in Threads"
    fake.bot_permissions |= (1 << 35) | (1 << 38)
    status, table, rows = await run(ready)
    assert status == 0, table
    assert rows[f"discord #general ({fake.channel_id})"]["detail"] == (
        "View Channel, Send Messages, Embed Links, Create Public Threads, Send Messages in Threads"
    )
