"""The fake Slack server answers the real slack_sdk the way Slack does."""

from __future__ import annotations

import asyncio
import time

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes.slack_server import APP_TOKEN, BOT_TOKEN, FakeSlack


def client(slack: FakeSlack, token: str = BOT_TOKEN) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=slack.api_url)


async def test_auth_test_and_post_message_are_recorded(slack: FakeSlack) -> None:
    web = client(slack)
    auth = await web.auth_test()
    assert auth["team_id"] == slack.team_id and auth["user_id"]
    sent = await web.chat_postMessage(
        channel="C1",
        text="hi",
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
    )
    assert sent["channel"] == "C1" and sent["ts"]
    call = slack.calls_to("chat.postMessage")[0]
    assert call.args["text"] == "hi" and call.args["blocks"][0]["type"] == "section"
    assert call.headers["Authorization"] == f"Bearer {BOT_TOKEN}"


async def test_query_string_arguments_are_merged(slack: FakeSlack) -> None:
    opened = await client(slack).conversations_open(users="U42")
    assert opened["channel"]["id"] == "D42"
    assert slack.calls_to("conversations.open")[0].args["users"] == "U42"


async def test_users_info_is_a_get_and_knows_added_users(slack: FakeSlack) -> None:
    slack.add_user("U7", is_admin=True)
    info = await client(slack).users_info(user="U7")
    assert info["user"]["is_admin"] is True
    assert slack.calls_to("users.info")[0].http_method == "GET"
    with pytest.raises(SlackApiError) as err:
        await client(slack).users_info(user="U8")
    assert err.value.response["error"] == "user_not_found"


async def test_wrong_token_is_invalid_auth(slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as err:
        await client(slack, "xoxb-wrong").auth_test()
    assert err.value.response["error"] == "invalid_auth"


async def test_scripted_error_then_success(slack: FakeSlack) -> None:
    slack.fail("chat.postMessage", "not_in_channel")
    web = client(slack)
    with pytest.raises(SlackApiError) as err:
        await web.chat_postMessage(channel="C1", text="x")
    assert err.value.response["error"] == "not_in_channel"
    assert (await web.chat_postMessage(channel="C1", text="x"))["ok"]


async def test_429_is_retried_by_the_rate_limit_handler(slack: FakeSlack) -> None:
    slack.fail("chat.postMessage", "ratelimited", status=429, retry_after=0)
    web = client(slack)
    web.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    assert (await web.chat_postMessage(channel="C1", text="x"))["ok"]
    assert len(slack.calls_to("chat.postMessage")) == 2


async def test_429_without_handler_raises_with_retry_after(slack: FakeSlack) -> None:
    slack.fail("chat.postMessage", "ratelimited", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as err:
        await client(slack).chat_postMessage(channel="C1", text="x")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "7"


async def test_limits_are_enforced(slack: FakeSlack) -> None:
    web = client(slack)
    block = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
    with pytest.raises(SlackApiError) as err:
        await web.chat_postMessage(channel="C1", text="x", blocks=[block] * 51)
    assert err.value.response["error"] == "invalid_blocks"
    long = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    with pytest.raises(SlackApiError):
        await web.chat_postMessage(channel="C1", text="x", blocks=[long])
    assert (await web.chat_postMessage(channel="C1", text="x", blocks=[block] * 50))["ok"]


async def test_response_url_records_payloads(slack: FakeSlack) -> None:
    hook = AsyncWebhookClient(slack.response_url("k1"))
    resp = await hook.send_dict({"text": "hello", "response_type": "ephemeral"})
    assert resp.status_code == 200 and resp.body == "ok"
    assert (await slack.wait_responses("k1"))[0]["response_type"] == "ephemeral"


async def test_socket_mode_hello_envelope_and_ack(slack: FakeSlack) -> None:
    web = client(slack)
    sm = SocketModeClient(app_token=APP_TOKEN, web_client=web)
    seen: list[SocketModeRequest] = []

    async def on_request(c: SocketModeClient, req: SocketModeRequest) -> None:
        seen.append(req)
        await c.send_socket_mode_response(
            SocketModeResponse(envelope_id=req.envelope_id, payload={"text": "Got it"})
        )

    sm.socket_mode_request_listeners.append(on_request)  # type: ignore[arg-type]
    await sm.connect()
    try:
        ack = await slack.push("slash_commands", slack.slash_command_form("today"))
        assert ack["payload"] == {"text": "Got it"}
        assert seen[0].type == "slash_commands" and seen[0].payload["text"] == "today"
        assert (
            slack.calls_to("apps.connections.open")[0].headers["Authorization"]
            == f"Bearer {APP_TOKEN}"
        )
    finally:
        await sm.close()


async def test_apps_connections_open_rejects_a_bot_token(slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as err:
        await client(slack).apps_connections_open(app_token=BOT_TOKEN)
    assert err.value.response["error"] == "not_allowed_token_type"


async def test_server_error_is_a_5xx(slack: FakeSlack) -> None:
    slack.fail("chat.postMessage", "internal server error", status=503)
    start = time.monotonic()
    with pytest.raises(SlackApiError) as err:
        await client(slack).chat_postMessage(channel="C1", text="x")
    assert err.value.response.status_code == 503
    assert time.monotonic() - start < 5
    await asyncio.sleep(0)


SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}


async def test_views_and_unfurls_are_checked_like_slack_does(slack: FakeSlack) -> None:
    """The fake refuses what Slack refuses, so an adapter bug fails a test loudly."""
    web = client(slack)
    await web.views_publish(user_id="U1", view={"type": "home", "blocks": [SECTION]})
    assert slack.home_views["U1"]["blocks"] == [SECTION]
    bad_views = [
        {"type": "modal", "blocks": [SECTION]},  # not a home view
        {"type": "home", "blocks": [SECTION] * 101},
        {"type": "home", "blocks": [{**SECTION, "block_id": "a"}, {**SECTION, "block_id": "a"}]},
        {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": ""}}]},
    ]
    for view in bad_views:
        with pytest.raises(SlackApiError):
            await web.views_publish(user_id="U1", view=view)
    title = {"type": "plain_text", "text": "x" * 25}
    with pytest.raises(SlackApiError):
        await web.views_open(
            trigger_id="trigger.1", view={"type": "modal", "title": title, "blocks": [SECTION]}
        )
    with pytest.raises(SlackApiError, match="invalid_trigger_id"):
        await web.views_open(trigger_id="made-up", view={"type": "modal", "blocks": [SECTION]})
    url = "https://arxiv.org/abs/1"
    await web.chat_unfurl(channel="C1", ts="1.2", unfurls={url: {"blocks": [SECTION]}})
    assert slack.unfurls[0]["unfurls"] == {url: {"blocks": [SECTION]}}
    with pytest.raises(SlackApiError, match="invalid_unfurls"):
        await web.chat_unfurl(channel="C1", ts="1.2", unfurls={url: {"blocks": [SECTION] * 51}})
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        await web.chat_unfurl(unfurls={url: {"blocks": [SECTION]}})  # neither channel+ts nor id
    slack.scopes.remove("links:write")
    with pytest.raises(SlackApiError, match="missing_scope"):
        await web.chat_unfurl(channel="C1", ts="1.2", unfurls={url: {"blocks": [SECTION]}})
    assert len(slack.unfurls) == 1
