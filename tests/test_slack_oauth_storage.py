"""The async installation and state stores, and migration 0008, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import select, text

from adapters.slack.installations import SqlInstallationStore, SqlStateStore, TokenCipher
from bot.app import App, build_app
from bot.settings import load_settings
from bot.storage.db import alembic_config, make_engine
from bot.storage.models import InstallationRow
from tests.helpers import FakeClock
from tests.oauth_helpers import TOKEN_KEY

T0 = datetime(2024, 12, 24, 10, 0, tzinfo=UTC)


def installation(team: str, token: str, **kw: object) -> Installation:
    return Installation(
        app_id="A1",
        team_id=team,
        team_name=f"Team {team}",
        bot_token=token,
        bot_id="B1",
        bot_user_id="U0BOT",
        bot_scopes="chat:write,commands",
        user_id="U1",
        **kw,  # type: ignore[arg-type]
    )


def services(db_url: str) -> App:
    return build_app(load_settings({"DATABASE_URL": db_url}), source_name="sample")


async def test_installations_upsert_find_and_delete(db_url: str) -> None:
    app = services(db_url)
    engine = app.engine
    store = SqlInstallationStore(app, TokenCipher([TOKEN_KEY]))
    try:
        await store.async_save(installation("T1", "xoxb-one"))
        await store.async_save(installation("T2", "xoxb-two"))
        await store.async_save(installation("T1", "xoxb-one-again"))  # a reinstall
        bot = await store.async_find_bot(enterprise_id=None, team_id="T1")
        assert bot is not None and bot.bot_token == "xoxb-one-again"
        assert bot.bot_scopes == ["chat:write", "commands"]
        found = await store.async_find_installation(enterprise_id=None, team_id="T2")
        assert found is not None and found.bot_token == "xoxb-two"
        assert [b.team_id for b in await store.all()] == ["T1", "T2"]
        async with engine.connect() as conn:
            raw = str((await conn.execute(select(InstallationRow.data))).all())
        assert "xoxb-" not in raw  # only ciphertext at rest
        await store.async_delete_installation(enterprise_id=None, team_id="T1")
        assert await store.async_find_bot(enterprise_id=None, team_id="T1") is None
        assert await store.async_find_bot(enterprise_id=None, team_id="T2") is not None
    finally:
        await app.close()


async def test_an_org_wide_install_serves_every_workspace_of_the_org(db_url: str) -> None:
    app = services(db_url)
    store = SqlInstallationStore(app, TokenCipher([TOKEN_KEY]))
    try:
        org = installation("T5", "xoxb-org", enterprise_id="E1", is_enterprise_install=True)
        org.team_id = None
        await store.async_save(org)
        bot = await store.async_find_bot(enterprise_id="E1", team_id="T7")
        assert bot is not None and bot.bot_token == "xoxb-org"
        # A workspace-level install elsewhere never matches the org's row by accident.
        assert await store.async_find_bot(enterprise_id="E2", team_id="T7") is None
    finally:
        await app.close()


async def test_a_state_is_consumed_once_and_expires(db_url: str) -> None:
    app = services(db_url)
    clock = FakeClock(T0)
    states = SqlStateStore(app, clock=clock)
    try:
        state = await states.async_issue()
        results = await asyncio.gather(*(states.async_consume(state) for _ in range(4)))
        assert sorted(results) == [False, False, False, True]
        late = await states.async_issue()
        clock.advance(minutes=10)
        assert await states.async_consume(late) is False
        for hostile in ("", "x" * 10_000, "' OR 1=1 --", "\u202eabc"):
            assert await states.async_consume(hostile) is False
    finally:
        await app.close()


async def test_migration_0010_keys_existing_slack_rows_by_their_workspace(db_url: str) -> None:
    from alembic import command

    cfg = alembic_config(db_url)
    await asyncio.to_thread(command.downgrade, cfg, "0007")
    engine = make_engine(db_url)
    try:
        async with engine.begin() as conn:
            for platform, kind, ext, ws in (
                ("slack", "channel", "C1", "T1"),
                ("slack", "user", "U1", "T1"),
                ("slack", "channel", "C9", None),  # no team recorded: left as it is
                ("discord", "channel", "123", "456"),
            ):
                await conn.execute(
                    text(
                        "INSERT INTO destinations (platform, kind, external_id, workspace_id, "
                        "timezone, digest_time, digest_max, min_upvotes, weekdays_only, paused, "
                        "alerts_mode, created_at, next_due_at, due_version) VALUES (:p, :k, :e, "
                        ":w, 'UTC', '09:00', 10, 0, false, false, 'daily', :now, :now, 0)"
                    ),
                    {"p": platform, "k": kind, "e": ext, "w": ws, "now": T0},
                )
        await asyncio.to_thread(command.upgrade, cfg, "head")
        async with engine.connect() as conn:
            rows = (
                await conn.execute(text("SELECT platform, external_id FROM destinations"))
            ).all()
        assert sorted(rows) == [
            ("discord", "123"), ("slack", "C9"), ("slack", "T1:C1"), ("slack", "T1:U1"),
        ]  # fmt: skip
        await asyncio.to_thread(command.downgrade, cfg, "0007")
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT external_id FROM destinations"))).all()
        assert sorted(r[0] for r in rows) == ["123", "C1", "C9", "U1"]
        await asyncio.to_thread(command.upgrade, cfg, "head")
    finally:
        await engine.dispose()
