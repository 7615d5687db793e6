"""Two `paperbot run` processes in multi-workspace mode on one PostgreSQL: an install begun on
one finishes on the other, either answers any workspace with its token, an uninstall seen
by one stops the other's posts there, and a state is consumed once however many race."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from adapters.slack import SlackAdapter
from bot.app import App, build_app
from bot.commands import build_registry
from bot.core import Core
from bot.delivery.sender import Sender
from bot.services.ingest import ingest_day
from bot.settings import load_settings
from bot.storage.models import DestinationRow, InstallationRow
from tests.conftest import PG_ENV, _truncate
from tests.fakes.slack_server import FakeSlack
from tests.helpers import FakeClock
from tests.oauth_helpers import begin, command, event, finish, install, start_multi, text_of
from tests.test_slack_http import TODAY

pytestmark = pytest.mark.skipif(
    not os.environ.get(PG_ENV),
    reason=f"needs PostgreSQL: set {PG_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/test)",
)


@pytest.fixture
async def two(
    pg_database: str, slack: FakeSlack
) -> AsyncIterator[tuple[tuple[App, SlackAdapter], tuple[App, SlackAdapter]]]:
    await _truncate(pg_database)
    apps = [
        build_app(
            load_settings({"DATABASE_URL": pg_database}),
            source_name="sample",
            clock=FakeClock(TODAY),
        )
        for _ in range(2)
    ]
    await ingest_day(apps[0], TODAY.date())
    adapters = [await start_multi(Core(a, build_registry()), slack) for a in apps]
    try:
        yield (apps[0], adapters[0]), (apps[1], adapters[1])
    finally:
        for adapter in adapters:
            await adapter.stop()
        for a in apps:
            await a.close()


async def test_two_processes_share_installations_through_postgresql(
    two: tuple[tuple[App, SlackAdapter], tuple[App, SlackAdapter]], slack: FakeSlack
) -> None:
    (app_a, a), (app_b, b) = two
    # The browser starts on A and the load balancer sends Slack's redirect to B.
    assert (await install(a, slack, "T1", finish_on=b))[0] == 200
    assert (await install(b, slack, "T2", finish_on=a))[0] == 200
    for adapter, team in ((a, "T1"), (b, "T2"), (b, "T1")):
        [ok] = await command(adapter, slack, team, "subscribe diffusion")
        assert "Subscribed" in text_of(ok) or "already" in text_of(ok)
    await command(b, slack, "T1", "digest now")
    await command(a, slack, "T2", "digest now")
    async with app_a.sessions() as s:
        ids = set((await s.scalars(select(DestinationRow.external_id))).all())
    assert ids == {"T1:C100", "T2:C100"}

    # Uninstalled as seen by A; B's sender must not post to T1 any more.
    slack.uninstall("T1")
    assert await event(a, slack, "T1", {"type": "app_uninstalled"}) == 200
    report = await Sender(app_b, {"slack": b}).drain()
    assert report.sent == 1
    assert [m["team"] for m in slack.messages] == ["T2"]
    assert [c for c in slack.calls_to("chat.postMessage") if slack.team_of(c) == "T1"] == []

    # Reinstalled through B: A sends T1's digest with the new token.
    assert (await install(b, slack, "T1"))[0] == 200
    assert (await Sender(app_a, {"slack": a}).drain()).sent == 1
    assert sorted(m["team"] for m in slack.messages) == ["T1", "T2"]


async def test_a_state_is_consumed_once_when_two_processes_race(
    two: tuple[tuple[App, SlackAdapter], tuple[App, SlackAdapter]], slack: FakeSlack
) -> None:
    (app_a, a), (_, b) = two
    state, cookie = await begin(a)
    results = await asyncio.gather(
        finish(a, state, cookie, code=slack.grant("T1")),
        finish(b, state, cookie, code=slack.grant("T1")),
    )
    assert sorted(status for status, _ in results) == [200, 401]
    async with app_a.sessions() as s:
        assert len((await s.scalars(select(InstallationRow))).all()) == 1
