"""Multi-workspace Slack: real bolt OAuth flow and slack_sdk against the fake Slack.

Two workspaces install through the flow, use the same channel id, and each gets its own
digest with its own token; forged, replayed and expired states are refused; a denied or
partial install gets a clear page; uninstall, revocation and a broken token stop only that
workspace; a reinstall resumes it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from adapters.slack import SlackAdapter
from adapters.slack.checks import SCOPES
from bot.app import App
from bot.commands import build_registry
from bot.core import Core
from bot.delivery.sender import Sender
from bot.messages import Notice
from bot.storage.models import DestinationRow, InstallationRow, OAuthStateRow
from tests.fakes.slack_server import FakeSlack
from tests.oauth_helpers import (
    TOKEN_KEY,
    begin,
    command,
    event,
    finish,
    install,
    start_multi,
    text_of,
)


@pytest.fixture
async def multi(sample_app: App, slack: FakeSlack) -> AsyncIterator[SlackAdapter]:
    adapter = await start_multi(Core(sample_app, build_registry()), slack)
    yield adapter
    await adapter.stop()


async def destinations(app: App) -> dict[str, DestinationRow]:
    async with app.sessions() as s:
        rows = (await s.scalars(select(DestinationRow))).all()
    return {r.external_id: r for r in rows}


async def subscribe_and_queue(adapter: SlackAdapter, slack: FakeSlack, team: str) -> None:
    [ok] = await command(adapter, slack, team, "subscribe diffusion")
    assert "Subscribed" in text_of(ok), ok
    [queued] = await command(adapter, slack, team, "digest now")
    assert "digest" in text_of(queued).lower(), queued


def posts_by_team(slack: FakeSlack) -> dict[str | None, list[str]]:
    out: dict[str | None, list[str]] = {}
    for m in slack.messages:
        out.setdefault(m["team"], []).append(m["channel"])
    return out


async def test_two_workspaces_with_the_same_channel_id_each_get_their_own_digest(
    multi: SlackAdapter, slack: FakeSlack, sample_app: App
) -> None:
    for team in ("T1", "T2"):
        status, page = await install(multi, slack, team)
        assert status == 200 and f"paperbot is now installed in {team}" in page
        await subscribe_and_queue(multi, slack, team)
    rows = await destinations(sample_app)
    assert {"T1:C100", "T2:C100"} <= set(rows)
    assert rows["T1:C100"].workspace_id == "T1" and rows["T2:C100"].workspace_id == "T2"
    # Each command's own checks ran with its workspace's token.
    infos = slack.calls_to("conversations.info")
    assert {slack.team_of(c) for c in infos} == {"T1", "T2"}

    report = await Sender(sample_app, {"slack": multi}).drain()

    assert report.sent == 2 and report.disabled == 0 and report.halted == 0
    assert posts_by_team(slack) == {"T1": ["C100"], "T2": ["C100"]}
    for call in slack.calls_to("chat.postMessage"):
        assert call.headers["Authorization"] == f"Bearer {slack.token_of(slack.team_of(call))}"


async def test_tokens_are_encrypted_at_rest(
    multi: SlackAdapter, slack: FakeSlack, sample_app: App
) -> None:
    await install(multi, slack, "T1")
    token = slack.token_of("T1")
    async with sample_app.sessions() as s:
        [row] = (await s.scalars(select(InstallationRow))).all()
    assert row.workspace_id == "T1"
    assert token not in str(row.data) and row.data["bot_token"].startswith("gAAAA")  # Fernet
    assert multi.installations is not None
    bot = await multi.installations.find("T1")
    assert bot is not None and bot.bot_token == token


async def test_a_forged_state_is_refused(
    multi: SlackAdapter, slack: FakeSlack, sample_app: App
) -> None:
    code = slack.grant("T1")
    status, page = await finish(multi, "forged", "forged", code=code)
    assert status == 401 and "no longer valid" in page
    # A real state from another browser (no cookie, or someone else's) is refused too.
    state, _ = await begin(multi)
    status, page = await finish(multi, state, None, code=code)
    assert status == 400 and "another browser" in page
    status, _ = await finish(multi, state, "someone-elses", code=code)
    assert status == 400
    assert slack.calls_to("oauth.v2.access") == []
    async with sample_app.sessions() as s:
        assert (await s.scalars(select(InstallationRow))).all() == []


async def test_a_replayed_state_is_refused(multi: SlackAdapter, slack: FakeSlack) -> None:
    state, cookie = await begin(multi)
    status, _ = await finish(multi, state, cookie, code=slack.grant("T1"))
    assert status == 200
    status, page = await finish(multi, state, cookie, code=slack.grant("T1"))
    assert status == 401 and "already used" in page
    assert len(slack.calls_to("oauth.v2.access")) == 1


async def test_an_expired_state_is_refused(
    multi: SlackAdapter, slack: FakeSlack, sample_app: App
) -> None:
    state, cookie = await begin(multi)
    sample_app.clock.advance(minutes=11)  # type: ignore[attr-defined]
    status, page = await finish(multi, state, cookie, code=slack.grant("T1"))
    assert status == 401 and "expired" in page
    # A new link works; issuing it swept the expired state, and using it consumed its own.
    assert (await install(multi, slack, "T1"))[0] == 200
    async with sample_app.sessions() as s:
        assert (await s.scalars(select(OAuthStateRow))).all() == []


async def test_a_cancelled_install_gets_a_clear_page(multi: SlackAdapter, slack: FakeSlack) -> None:
    state, cookie = await begin(multi)
    status, page = await finish(multi, state, cookie, error="access_denied")
    assert status == 200 and "Installation cancelled" in page and "/slack/install" in page
    # Whatever Slack (or someone) puts in `error` is never echoed into the page.
    state, cookie = await begin(multi)
    status, page = await finish(multi, state, cookie, error="<script>alert(1)</script>")
    assert "<script>" not in page and "alert(1)" not in page


async def test_an_install_with_a_denied_scope_is_refused_with_a_clear_page(
    multi: SlackAdapter, slack: FakeSlack, sample_app: App
) -> None:
    partial = [s for s in SCOPES if s not in ("channels:history", "im:write")]
    status, page = await install(multi, slack, "T1", partial)
    assert status == 400
    assert "permissions missing" in page and "im:write" in page and "channels:history" in page
    async with sample_app.sessions() as s:
        assert (await s.scalars(select(InstallationRow))).all() == []
    # And commands from that workspace are not served as if it were installed.
    assert (await install(multi, slack, "T1"))[0] == 200


async def test_a_workspace_that_never_installed_is_not_answered_as_installed(
    multi: SlackAdapter, slack: FakeSlack, sample_app: App
) -> None:
    slack.add_team("T9")
    await install(multi, slack, "T1")
    from tests.oauth_helpers import form_body, post, sign

    form = slack.slash_command_form("subscribe diffusion", key="t9", team_id="T9")
    body = form_body(form)
    status, _ = await post(multi, body, sign(body))
    # bolt's authorize finds no installation for T9 and says so; the core never runs.
    [answer] = await slack.wait_responses("t9")
    assert status == 200 and "not installed in this Slack workspace" in answer["text"]
    assert "T9:C100" not in await destinations(sample_app)


async def test_uninstall_disables_that_workspace_only_and_a_reinstall_resumes(
    multi: SlackAdapter, slack: FakeSlack, sample_app: App
) -> None:
    for team in ("T1", "T2"):
        await install(multi, slack, team)
        await subscribe_and_queue(multi, slack, team)
    slack.uninstall("T1")
    assert await event(multi, slack, "T1", {"type": "app_uninstalled"}) == 200

    rows = await destinations(sample_app)
    assert rows["T1:C100"].disabled_reason is not None
    assert "removed (app_uninstalled)" in rows["T1:C100"].disabled_reason
    assert rows["T2:C100"].disabled_reason is None
    assert multi.installations is not None and await multi.installations.find("T1") is None

    sender = Sender(sample_app, {"slack": multi})
    report = await sender.drain()
    assert report.sent == 1 and posts_by_team(slack) == {"T2": ["C100"]}
    # T1's queued digest is not retried while it is uninstalled: no call with its tokens.
    sample_app.clock.advance(hours=3)  # type: ignore[attr-defined]
    assert (await sender.drain()).sent == 0
    assert [c for c in slack.calls_to("chat.postMessage") if slack.team_of(c) == "T1"] == []

    assert (await install(multi, slack, "T1"))[0] == 200
    rows = await destinations(sample_app)
    assert rows["T1:C100"].disabled_reason is None
    report = await sender.drain()
    assert report.sent == 1
    assert posts_by_team(slack) == {"T2": ["C100"], "T1": ["C100"]}
    [new_post] = [c for c in slack.calls_to("chat.postMessage") if slack.team_of(c) == "T1"]
    assert new_post.headers["Authorization"] == f"Bearer {slack.token_of('T1')}"


async def test_revoked_bot_tokens_disable_that_workspace(
    multi: SlackAdapter, slack: FakeSlack, sample_app: App
) -> None:
    for team in ("T1", "T2"):
        await install(multi, slack, team)
        await subscribe_and_queue(multi, slack, team)
    # A user token revoked says nothing about the bot.
    await event(multi, slack, "T1", {"type": "tokens_revoked", "tokens": {"oauth": ["U1"]}})
    assert (await destinations(sample_app))["T1:C100"].disabled_reason is None
    slack.uninstall("T1")
    await event(multi, slack, "T1", {"type": "tokens_revoked", "tokens": {"bot": ["U0BOT"]}})
    rows = await destinations(sample_app)
    assert "tokens_revoked" in (rows["T1:C100"].disabled_reason or "")
    assert rows["T2:C100"].disabled_reason is None


@pytest.mark.parametrize("error", ["invalid_auth", "account_inactive", "token_revoked"])
async def test_a_broken_token_in_one_workspace_never_affects_another(
    multi: SlackAdapter, slack: FakeSlack, sample_app: App, error: str
) -> None:
    for team in ("T1", "T2"):
        await install(multi, slack, team)
        await subscribe_and_queue(multi, slack, team)
    slack.fail("chat.postMessage", error, team="T1", times=100)

    report = await Sender(sample_app, {"slack": multi}).drain()

    # Slack as a whole is not halted (single-workspace mode would halt it): T2 is served.
    assert report.halted == 0 and report.sent == 1 and report.disabled == 1
    assert posts_by_team(slack) == {"T2": ["C100"]}
    rows = await destinations(sample_app)
    assert error in (rows["T1:C100"].disabled_reason or "")
    assert "reinstall" in (rows["T1:C100"].disabled_reason or "")
    [status] = await command(multi, slack, "T1", "status")
    assert "reinstall" in text_of(status)
    # Reinstalling (a new token) brings T1 back.
    await install(multi, slack, "T1")
    slack.clear_failures()
    assert (await Sender(sample_app, {"slack": multi}).drain()).sent == 1
    assert posts_by_team(slack)["T1"] == ["C100"]


async def test_an_org_wide_install_keys_destinations_by_the_org(
    multi: SlackAdapter, slack: FakeSlack, sample_app: App
) -> None:
    slack.add_team("T5", enterprise_id="E1", is_enterprise_install=True)
    assert (await install(multi, slack, "T5"))[0] == 200
    await subscribe_and_queue(multi, slack, "T5")
    rows = await destinations(sample_app)
    assert rows["E1:C100"].workspace_id == "E1"
    assert (await Sender(sample_app, {"slack": multi}).drain()).sent == 1
    assert posts_by_team(slack) == {"T5": ["C100"]}


async def test_key_rotation_reads_tokens_sealed_with_an_older_key(
    sample_app: App, slack: FakeSlack
) -> None:
    from tests.oauth_helpers import OTHER_KEY

    core = Core(sample_app, build_registry())
    first = await start_multi(core, slack)
    try:
        await install(first, slack, "T1")
    finally:
        await first.stop()
    rotated = await start_multi(core, slack, SLACK_TOKEN_KEYS=f"{OTHER_KEY},{TOKEN_KEY}")
    try:
        assert rotated.installations is not None
        bot = await rotated.installations.find("T1")
        assert bot is not None and bot.bot_token == slack.token_of("T1")
    finally:
        await rotated.stop()
    wrong = await start_multi(core, slack, SLACK_TOKEN_KEYS=OTHER_KEY)
    try:
        assert wrong.installations is not None
        # Unreadable: treated as not installed (its posts are refused, never sent garbage).
        bot = await wrong.installations.async_find_bot(enterprise_id=None, team_id="T1")
        assert bot is None
    finally:
        await wrong.stop()


async def test_dms_open_with_the_users_workspace_token(
    multi: SlackAdapter, slack: FakeSlack, sample_app: App
) -> None:
    from bot.port import Destination

    for team in ("T1", "T2"):
        await install(multi, slack, team)
        [ok] = await command(multi, slack, team, "subscribe agents --dm")
        assert "personally" in text_of(ok)
    rows = await destinations(sample_app)
    assert rows["T1:U100"].kind == rows["T2:U100"].kind == "user"
    [part] = multi.compose(Notice("hello"))
    for team in ("T1", "T2"):
        user = Destination("slack", "user", f"{team}:U100", workspace=team)
        posted = await multi.post(user, part, key=f"k-{team}")
        assert posted.address == "D100"  # the DM channel, remembered by the core
    opens = slack.calls_to("conversations.open")
    assert [(slack.team_of(c), c.args["users"]) for c in opens] == [("T1", "U100"), ("T2", "U100")]
    assert posts_by_team(slack) == {"T1": ["D100"], "T2": ["D100"]}


async def test_the_app_home_shows_each_workspace_its_own_subscriptions(
    multi: SlackAdapter, slack: FakeSlack, sample_app: App
) -> None:
    from tests.oauth_helpers import post, sign

    for team, query in (("T1", "agents"), ("T2", "diffusion")):
        await install(multi, slack, team)
        await command(multi, slack, team, f"subscribe {query} --dm")
    publishes = len(slack.calls_to("views.publish"))  # refreshed after each subscribe
    for n, team in enumerate(("T1", "T2"), start=1):
        home = {"type": "app_home_opened", "user": "U100", "channel": "D100", "tab": "home"}
        body = slack.event_body(team, home)
        status, _ = await post(multi, body, {**sign(body), "Content-Type": "application/json"})
        assert status == 200
        await slack.wait_calls("views.publish", publishes + n)
    opened = slack.calls_to("views.publish")[publishes:]
    views = {slack.team_of(c): str(c.args["view"]) for c in opened}
    assert "agents" in views["T1"] and "diffusion" not in views["T1"]
    assert "diffusion" in views["T2"] and "agents" not in views["T2"]


async def test_a_made_up_or_reused_code_is_refused(
    multi: SlackAdapter, slack: FakeSlack, sample_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    state, cookie = await begin(multi)
    status, page = await finish(multi, state, cookie, code="made-up")
    assert status == 401 and "did not confirm" in page
    code = slack.grant("T1")
    assert (await finish(multi, *(await begin(multi)), code=code))[0] == 200
    status, _ = await finish(multi, *(await begin(multi)), code=code)  # codes work once
    assert status == 401
    token = slack.token_of("T1")
    assert token not in caplog.text and TOKEN_KEY not in caplog.text
