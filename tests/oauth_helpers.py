"""Multi-workspace Slack in tests: start the adapter in OAuth mode, install workspaces through
the real flow (bolt's pages, our stores), send commands and events as a given team."""

from __future__ import annotations

import itertools
import re
import urllib.parse
from typing import Any

import aiohttp

from adapters.slack import SlackAdapter, build_slack_adapter
from bot.core import Core
from tests.fakes.slack_server import SIGNING_SECRET, FakeSlack, form_body, sign

# A fixed Fernet key (tests only): 32 url-safe base64 bytes.
TOKEN_KEY = "f" * 43 + "="
OTHER_KEY = "g" * 43 + "="
COOKIE = "slack-app-oauth-state"

_keys = itertools.count()


def multi_env(slack: FakeSlack, **env: str) -> dict[str, str]:
    return {
        "SLACK_CLIENT_ID": slack.client_id,
        "SLACK_CLIENT_SECRET": slack.client_secret,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_TOKEN_KEYS": TOKEN_KEY,
        "SLACK_API_URL": slack.api_url,
        "SLACK_HTTP_HOST": "127.0.0.1",
        "SLACK_HTTP_PORT": "0",
        **env,
    }


async def start_multi(core: Core, slack: FakeSlack, **env: str) -> SlackAdapter:
    adapter = build_slack_adapter(core, multi_env(slack, **env))
    assert adapter is not None and adapter.config.multi_workspace
    await adapter.connect()
    return adapter


def url(adapter: SlackAdapter, path: str) -> str:
    return f"http://127.0.0.1:{adapter.port}{path}"


async def get(
    adapter: SlackAdapter, path: str, cookie: str | None = None
) -> tuple[int, str, aiohttp.typedefs.LooseHeaders]:
    headers = {"Cookie": f"{COOKIE}={cookie}"} if cookie else {}
    async with (
        aiohttp.ClientSession() as session,
        session.get(url(adapter, path), headers=headers, allow_redirects=False) as r,
    ):
        return r.status, await r.text(), r.headers


async def begin(adapter: SlackAdapter) -> tuple[str, str]:
    """Open the "Add to Slack" page: the state in its link, and the cookie it set."""
    status, page, headers = await get(adapter, "/slack/install")
    assert status == 200, page
    link = re.search(r'<a href="([^"]+)"', page)
    assert link is not None, page
    query = urllib.parse.parse_qs(urllib.parse.urlparse(link.group(1).replace("&amp;", "&")).query)
    [state] = query["state"]
    cookie = re.search(rf"{COOKIE}=([^;]+)", str(headers.get("Set-Cookie", "")))
    assert cookie is not None
    return state, cookie.group(1)


async def finish(
    adapter: SlackAdapter, state: str, cookie: str | None, **query: str
) -> tuple[int, str]:
    path = "/slack/oauth_redirect?" + urllib.parse.urlencode({**query, "state": state})
    status, page, _ = await get(adapter, path, cookie)
    return status, page


async def install(
    adapter: SlackAdapter,
    slack: FakeSlack,
    team_id: str,
    scopes: list[str] | None = None,
    *,
    finish_on: SlackAdapter | None = None,
) -> tuple[int, str]:
    """Install the app in `team_id` as a browser would: page, Slack's approval, redirect."""
    state, cookie = await begin(adapter)
    code = slack.grant(team_id, scopes)
    return await finish(finish_on or adapter, state, cookie, code=code)


async def post(adapter: SlackAdapter, body: str, headers: dict[str, str]) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url(adapter, "/slack/events"), data=body.encode(), headers=headers) as r,
    ):
        return r.status, await r.text()


async def command(
    adapter: SlackAdapter,
    slack: FakeSlack,
    team: str,
    text: str,
    *,
    channel: str = "C100",
    user: str = "U100",
) -> list[dict[str, Any]]:
    """A signed `/papers <text>` from `team`; the respond() payloads."""
    key = f"o{next(_keys)}"
    form = slack.slash_command_form(text, key=key, team_id=team, channel_id=channel, user_id=user)
    body = form_body(form)
    status, answer = await post(adapter, body, sign(body))
    assert status == 200, answer
    return await slack.wait_responses(key)


async def event(adapter: SlackAdapter, slack: FakeSlack, team: str, payload: dict[str, Any]) -> int:
    """Post an uninstall/revocation event; return once the adapter has handled it."""
    assert adapter.uninstalls is not None
    seen = adapter.uninstalls.count
    body = slack.event_body(team, payload)
    status, _ = await post(adapter, body, {**sign(body), "Content-Type": "application/json"})
    if status == 200:
        await adapter.uninstalls.wait_for(seen + 1)
    return status


def text_of(answer: dict[str, Any]) -> str:
    return "\n".join(
        b["text"]["text"] for b in answer.get("blocks", []) if b.get("type") == "section"
    ) or str(answer.get("text", ""))
