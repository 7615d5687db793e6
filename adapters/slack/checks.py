"""`paperbot doctor` for Slack: auth.test, the token's scopes against the manifest's, the
app-level token (Socket Mode), and the bot's membership of every subscribed channel; in
multi-workspace mode, each installation's token and scopes, and its channels with its token."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping, Sequence
from typing import TYPE_CHECKING

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import Bot
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.app import make_client
from adapters.slack.config import SlackConfig
from adapters.slack.installations import workspace_key
from adapters.slack.workspaces import split
from bot.ops.checks import TIMEOUT, Check, Mark, Subscribed, first_line

if TYPE_CHECKING:
    from bot.app import App

# The bot token scopes of manifest.yml (a test keeps the two the same).
SCOPES = (
    "commands",
    "chat:write",
    "im:write",
    "users:read",
    "channels:read",
    "groups:read",
    "channels:history",
    "groups:history",
    "im:history",
    "links:read",
    "links:write",
    "files:write",
)
SCOPES_FIX = (
    "add them under OAuth & Permissions → Bot Token Scopes (or create the app from "
    "adapters/slack/manifest.yml), then reinstall the app to the workspace"
)


def _error(exc: SlackApiError) -> str:
    data = exc.response.data
    return str(data.get("error")) if isinstance(data, dict) else f"HTTP {exc.response.status_code}"


def _header(headers: Mapping[str, object], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return ",".join(value) if isinstance(value, list) else str(value)
    return None


# Installations checked at once in multi-workspace mode.
PARALLEL = 8


async def slack_checks(
    config: SlackConfig, channels: Sequence[Subscribed], app: App | None = None
) -> list[Check]:
    """Every Slack line of the doctor's table."""
    if config.multi_workspace:
        return await _installations(config, channels, app)
    client = make_client(config)
    return await _guarded(config, _checks(_quick(client), config, channels))


def _quick(client: AsyncWebClient) -> AsyncWebClient:
    client.timeout = int(TIMEOUT)
    client.retry_handlers = []  # a doctor answers at once; `run` retries
    return client


async def _guarded(config: SlackConfig, checks: Awaitable[list[Check]]) -> list[Check]:
    try:
        return await checks
    except (aiohttp.ClientError, TimeoutError) as exc:
        return [
            Check.bad(
                "slack auth.test",
                f"cannot reach {config.api_url} ({first_line(exc)})",
                "check SLACK_API_URL and this machine's outbound HTTPS",
            )
        ]


async def _installations(
    config: SlackConfig, channels: Sequence[Subscribed], app: App | None
) -> list[Check]:
    """Multi-workspace mode: every installation's token, scopes and channels."""
    from adapters.slack.installations import SqlInstallationStore, TokenCipher

    if app is None:
        return [Check.bad("slack installations", "the database cannot be read", "see above")]
    store = SqlInstallationStore(app, TokenCipher(config.token_keys))
    bots = await store.all()
    if not bots:
        return [
            Check(
                "slack installations",
                Mark.WARN,
                "no workspace has installed the app yet",
                "open /slack/install on the bot's public URL and add it to a workspace",
            )
        ]
    by_workspace: dict[str | None, list[Subscribed]] = {}
    for channel in channels:
        by_workspace.setdefault(split(channel.external_id)[0], []).append(channel)
    gate = asyncio.Semaphore(PARALLEL)

    async def one(bot: Bot) -> list[Check]:
        key = workspace_key(bot.enterprise_id, bot.team_id, bot.is_enterprise_install)
        token = bot.bot_token
        label = f"slack {key}"
        if not token:
            return [
                Check.bad(
                    f"{label} auth.test",
                    "its stored token cannot be decrypted",
                    "put the key it was stored with back in SLACK_TOKEN_KEYS, or reinstall",
                )
            ]
        async with gate:
            client = _quick(make_client(config, token))
            work = _checks(client, config, by_workspace.get(key, []), label=label)
            return await _guarded(config, work)

    results = await asyncio.gather(*(one(b) for b in bots))
    out = [Check.ok("slack installations", f"{len(bots)} workspaces")]
    for checks in results:
        out += checks
    return out


async def _checks(
    client: AsyncWebClient,
    config: SlackConfig,
    channels: Sequence[Subscribed],
    *,
    label: str = "slack",
) -> list[Check]:
    try:
        auth = await client.auth_test()
    except SlackApiError as exc:
        if config.multi_workspace:
            fix = "reinstall the app in that workspace (/slack/install)"
            found = f"Slack rejected the workspace's token ({_error(exc)})"
        else:
            fix = (
                "copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions, or reinstall "
                "the app"
            )
            found = f"Slack rejected SLACK_BOT_TOKEN ({_error(exc)})"
        return [Check.bad(f"{label} auth.test", found, fix)]
    out = [
        Check.ok(
            f"{label} auth.test",
            f"valid: {auth.get('user')} in {auth.get('team')} ({auth.get('team_id')})",
        )
    ]
    granted_raw = _header(auth.headers, "x-oauth-scopes")
    if granted_raw is None:
        out.append(
            Check(f"{label} scopes", Mark.WARN, "Slack did not say which scopes the token has", "")
        )
    else:
        granted = {s.strip() for s in granted_raw.split(",") if s.strip()}
        missing = [s for s in SCOPES if s not in granted]
        if missing:
            out.append(Check.bad(f"{label} scopes", f"missing {', '.join(missing)}", SCOPES_FIX))
        else:
            out.append(Check.ok(f"{label} scopes", f"all {len(SCOPES)} of the manifest granted"))
    if config.mode == "socket":
        out.append(await _app_token(config))
    for channel in channels:
        out.append(await _membership(client, channel))
    if not channels:
        out.append(Check.ok(f"{label} channels", "no subscribed channel to check"))
    return out


async def _app_token(config: SlackConfig) -> Check:
    """Socket Mode: Slack hands the app-level token a WebSocket URL (none is opened)."""
    client = AsyncWebClient(base_url=config.api_url, timeout=int(TIMEOUT))
    try:
        await client.apps_connections_open(app_token=config.app_token or "")
    except SlackApiError as exc:
        return Check.bad(
            "slack app token",
            f"Slack rejected SLACK_APP_TOKEN ({_error(exc)})",
            "Basic Information → App-Level Tokens: a token with connections:write, and Socket "
            "Mode enabled",
        )
    return Check.ok("slack app token", "valid for Socket Mode")


async def _membership(client: AsyncWebClient, channel: Subscribed) -> Check:
    name = f"slack {channel.shown}"
    invite = f"type `/invite @paperbot` in {'#' + channel.name if channel.name else 'it'}"
    try:
        info = await client.conversations_info(channel=split(channel.external_id)[1])
    except SlackApiError as exc:
        error = _error(exc)
        if error == "channel_not_found":
            return Check.bad(
                name, "not found: deleted, or private without the bot", f"{invite}, or unsubscribe"
            )
        if error == "missing_scope":
            return Check.bad(name, "cannot check (missing_scope)", SCOPES_FIX)
        return Check.bad(name, f"conversations.info failed ({error})", "try again")
    data = info.get("channel") or {}
    if data.get("is_archived"):
        return Check.bad(name, "the channel is archived", "unarchive it, or unsubscribe")
    if not data.get("is_member"):
        return Check.bad(name, "the bot is not a member", invite)
    return Check.ok(name, "the bot is a member")
