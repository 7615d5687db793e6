"""Slack HTTP mode under hostile requests: refused before any parsing, with one log line.

Unsigned or stale requests get 401, bodies over the limit 413, signed bodies that are not a
shape Slack sends 400; none reaches bolt's listeners or the core, none logs a traceback.
Requests go through the real aiohttp server of the adapter, signed the way Slack signs.
"""

from __future__ import annotations

import json
import logging
import random
import time
import urllib.parse
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from adapters.slack import SlackAdapter
from adapters.slack.inbound import MAX_BODY
from bot.app import App
from bot.commands import build_registry
from tests.fakes.slack_server import FakeSlack, form_body, sign
from tests.test_slack_http import CountingCore, start_http

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def core(sample_app: App) -> CountingCore:
    return CountingCore(sample_app, build_registry())


@pytest.fixture
async def bot(core: CountingCore, slack: FakeSlack) -> AsyncIterator[SlackAdapter]:
    adapter = await start_http(core, slack)
    yield adapter
    await adapter.stop()


async def post(adapter: SlackAdapter, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{adapter.port}/slack/events"
        async with session.post(url, data=body, headers=headers) as resp:
            return resp.status, await resp.text()


def signed(body: str, content_type: str = FORM) -> dict[str, str]:
    return {**sign(body), "Content-Type": content_type}


def _unsigned_headers(kind: str) -> dict[str, str]:
    ts = str(int(time.time()))
    return {
        "none": {"Content-Type": FORM},
        "ts_word": {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=00"},
        "ts_huge": {"X-Slack-Request-Timestamp": "9" * 5000, "X-Slack-Signature": "v0=00"},
        "ts_digits": {"X-Slack-Request-Timestamp": "١٢٣", "X-Slack-Signature": "v0=00"},
        "sig_unicode": {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=ü"},
        "no_sig": {"X-Slack-Request-Timestamp": ts},
    }[kind]


UNSIGNED = [
    ("garbage", b"\xff\xfe\x00garbage", "none"),
    ("json_array", b"[1, 2]", "none"),
    ("bad_payload", b"payload=%7Bnot", "none"),
    ("empty", b"", "none"),
    ("nonnumeric_timestamp", b"command=%2Fpapers", "ts_word"),
    ("huge_timestamp", b"command=%2Fpapers", "ts_huge"),
    ("unicode_timestamp", b"command=%2Fpapers", "ts_digits"),
    ("unicode_signature", b"command=%2Fpapers", "sig_unicode"),
    ("missing_signature", b"command=%2Fpapers", "no_sig"),
]
SIGNED_MALFORMED = [
    ("json_array", "[1, 2]", "application/json"),
    ("json_string", '"x"', "application/json"),
    ("bad_json", "{not json", "application/json"),
    ("bad_payload", "payload=%7Bnot", FORM),
    ("payload_list", "payload=" + urllib.parse.quote("[1]"), FORM),
    ("view_string", "payload=" + urllib.parse.quote('{"type":"shortcut","view":"x"}'), FORM),
    ("event_list", '{"type":"event_callback","event":[]}', "application/json"),
    ("team_number", '{"type":"block_actions","team":5}', "application/json"),
    ("no_kind", "garbage", FORM),
    ("empty", "", FORM),
    ("command_without_response_url", "command=%2Fpapers&user_id=U1&channel_id=C1", FORM),
]


def refusals(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "adapters.slack.app"]


def assert_quiet(caplog: pytest.LogCaptureFixture, refused: int) -> None:
    """Exactly one refusal line per request, and nothing worse anywhere (no traceback)."""
    lines = refusals(caplog)
    assert len(lines) == refused, [r.getMessage() for r in lines]
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in lines)
    worse = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert worse == [], [r.getMessage() for r in worse]


def assert_no_side_effect(core: CountingCore, slack: FakeSlack) -> None:
    assert core.calls == 0
    assert [c.method for c in slack.calls] == ["auth.test"]
    assert all(not answers for answers in slack.responses.values())


@pytest.mark.parametrize(("name", "body", "headers"), UNSIGNED, ids=[c[0] for c in UNSIGNED])
async def test_unsigned_requests_get_401(
    bot: SlackAdapter,
    slack: FakeSlack,
    core: CountingCore,
    caplog: pytest.LogCaptureFixture,
    name: str,
    body: bytes,
    headers: str,
) -> None:
    caplog.set_level(logging.INFO)
    status, text = await post(bot, body, _unsigned_headers(headers))
    assert (status, json.loads(text)) == (401, {"error": "invalid request"})
    assert_quiet(caplog, refused=1)
    assert "401" in refusals(caplog)[0].getMessage()
    assert_no_side_effect(core, slack)


@pytest.mark.parametrize(
    ("name", "body", "content_type"), SIGNED_MALFORMED, ids=[c[0] for c in SIGNED_MALFORMED]
)
async def test_signed_but_malformed_requests_get_400(
    bot: SlackAdapter,
    slack: FakeSlack,
    core: CountingCore,
    caplog: pytest.LogCaptureFixture,
    name: str,
    body: str,
    content_type: str,
) -> None:
    caplog.set_level(logging.INFO)
    status, text = await post(bot, body.encode(), signed(body, content_type))
    assert (status, json.loads(text)) == (400, {"error": "malformed request"})
    assert_quiet(caplog, refused=1)
    assert_no_side_effect(core, slack)


async def test_a_body_over_the_limit_gets_413_unread(
    bot: SlackAdapter, slack: FakeSlack, core: CountingCore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    body = "text=" + "x" * MAX_BODY
    status, text = await post(bot, body.encode(), signed(body))
    assert (status, json.loads(text)) == (413, {"error": "request too large"})
    assert_quiet(caplog, refused=1)
    assert_no_side_effect(core, slack)


async def test_a_signed_command_still_works_after_refusals(
    bot: SlackAdapter, slack: FakeSlack, core: CountingCore
) -> None:
    await post(bot, b"[1]", {"Content-Type": "application/json"})
    await post(bot, b"[1]", signed("[1]", "application/json"))
    body = form_body(slack.slash_command_form("help", key="after"))
    status, _ = await post(bot, body.encode(), signed(body))
    assert status == 200
    assert len(await slack.wait_responses("after")) == 1
    assert core.calls == 1


VALUES: list[Any] = [
    None, 1, "x", [], {}, [1], {"id": 5}, {"id": None}, True, "U1", {"type": 5}, [{}],
    [{"action_id": 5}], [{"action_id": "paperbot_link_1"}], {"team": 5}, {"event": []},
]  # fmt: skip
KEYS = [
    "type", "team", "user", "channel", "actions", "enterprise", "authorizations", "event",
    "view", "command", "text", "response_url", "team_id", "user_id", "channel_id",
    "trigger_id", "api_app_id", "is_enterprise_install", "message", "container", "token",
    "ssl_check", "function_data", "assistant_thread", "is_ext_shared_channel", "callback_id",
    "state", "previous_message", "item", "challenge",
]  # fmt: skip
TYPES = [
    "block_actions", "event_callback", "url_verification", "view_submission", "shortcut",
    "message_action", "interactive_message", "block_suggestion", "dialog_submission",
    "view_closed", "app_rate_limited", None, 5,
]  # fmt: skip


def random_body(rng: random.Random) -> tuple[str, str]:
    """A signed-looking body of random Slack-like fields, as JSON, `payload=` or a form."""
    data = {k: rng.choice(VALUES) for k in rng.sample(KEYS, rng.randrange(0, 8))}
    data["type"] = rng.choice(TYPES)
    mode = rng.choice(["json", "payload", "form"])
    if mode == "json":
        return json.dumps(data), "application/json"
    if mode == "payload":
        return urllib.parse.urlencode({"payload": json.dumps(data)}), FORM
    form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
    return urllib.parse.urlencode(form), FORM


async def test_seeded_signed_shapes_never_fail_inside_bolt(
    bot: SlackAdapter, core: CountingCore, caplog: pytest.LogCaptureFixture
) -> None:
    """Signed but odd shapes are refused (400) or unhandled (404), never a 500 or traceback."""
    caplog.set_level(logging.INFO)
    rng = random.Random(20261201)
    statuses = set()
    for _ in range(300):
        body, content_type = random_body(rng)
        status, _ = await post(bot, body.encode(), signed(body, content_type))
        statuses.add(status)
    assert statuses <= {200, 400, 404} and 400 in statuses
    worse = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert worse == [], [r.getMessage() for r in worse]
    assert core.calls == 0
