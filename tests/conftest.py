"""Shared fixtures: migrated databases (SQLite always, PostgreSQL when configured), a fake
clock, and a test bot that talks to the real core."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.app import App, build_app
from bot.services.ingest import ingest_day
from bot.settings import load_settings
from bot.storage.db import make_engine, upgrade
from bot.storage.models import Base
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.slack_server import FakeSlack
from tests.helpers import FakeClock, TestBot

PG_ENV = "PAPERBOT_TEST_POSTGRES_URL"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "large: a large data set; kept to seconds, not minutes")


def _run(coro_fn: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run async set-up from sync session fixtures, even when a loop is already running."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coro_fn()).result()


def _pg_base_url() -> str | None:
    url = os.environ.get(PG_ENV)
    if not url:
        return None
    return load_settings({"DATABASE_URL": url}).database_url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("db") / "template.sqlite3"
    _run(lambda: upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    """A fresh PostgreSQL database for this test run, migrated once, dropped at the end."""
    base = _pg_base_url()
    if base is None:
        yield None
        return
    name = f"paperbot_test_{uuid.uuid4().hex[:10]}"
    admin = make_url(base)

    async def create() -> None:
        engine = make_engine(
            admin.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
        )
        async with engine.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        await engine.dispose()

    async def drop() -> None:
        engine = make_engine(
            admin.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
        )
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await engine.dispose()

    _run(create)
    url = admin.set(database=name).render_as_string(hide_password=False)
    _run(lambda: upgrade(url))
    try:
        yield url
    finally:
        _run(drop)


async def _truncate(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
async def db_url(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path
) -> AsyncIterator[str]:
    """A migrated, empty database: SQLite, and PostgreSQL when PAPERBOT_TEST_POSTGRES_URL is set."""
    if request.param == "sqlite":
        path = tmp_path / "paperbot.sqlite3"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    pg = request.getfixturevalue("pg_database")
    if pg is None:
        pytest.skip(f"PostgreSQL not configured (set {PG_ENV})")
    await _truncate(pg)
    yield pg


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2024, 12, 24, 10, 0, tzinfo=UTC))


@pytest.fixture
async def app(db_url: str, clock: FakeClock) -> AsyncIterator[App]:
    """The core's services on a fresh database, offline (the bundled sample as source)."""
    settings = load_settings({"DATABASE_URL": db_url})
    application = build_app(settings, source_name="sample", clock=clock)
    yield application
    await application.close()


@pytest.fixture
def bot(app: App) -> TestBot:
    return TestBot(app)


@pytest.fixture
async def sample_app(sqlite_template: Path, tmp_path: Path, clock: FakeClock) -> AsyncIterator[App]:
    """Offline services on a SQLite copy with today's bundled sample stored.

    For adapter tests: their subject is the platform protocol, not the database, so they run
    once (on SQLite) rather than on every backend.
    """
    path = tmp_path / "paperbot.sqlite3"
    shutil.copy(sqlite_template, path)
    settings = load_settings({"DATABASE_URL": f"sqlite+aiosqlite:///{path}"})
    application = build_app(settings, source_name="sample", clock=clock)
    await ingest_day(application, application.clock().date())
    yield application
    await application.close()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    """A local Slack Web API (and Socket Mode endpoint) that the real slack_sdk talks to."""
    server = await FakeSlack().start()
    yield server
    await server.stop()


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    """A local Discord (REST + Gateway) that the real discord.py talks to."""
    async with FakeDiscord() as server:
        yield server
