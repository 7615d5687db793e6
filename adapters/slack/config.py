"""The Slack adapter's settings, read from SLACK_* environment variables at start-up."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from bot.settings import ConfigError

DEFAULT_API_URL = "https://slack.com/api/"
DEFAULT_HTTP_PORT = 3000
DEFAULT_COMMAND = "/papers"
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_COMMAND = re.compile(r"^/[a-z0-9_\-]{1,31}$")


@dataclass(frozen=True)
class SlackConfig:
    bot_token: str = field(repr=False)
    app_token: str | None = field(default=None, repr=False)
    signing_secret: str | None = field(default=None, repr=False)
    http_host: str = "0.0.0.0"
    http_port: int = DEFAULT_HTTP_PORT
    api_url: str = DEFAULT_API_URL
    command: str = DEFAULT_COMMAND  # the slash command's name, as in the app manifest
    # SLACK_CHANNEL_ADMINS: empty means anyone in a channel may manage it (like Slack's /feed).
    channel_admins: frozenset[str] = frozenset()
    workspace_admins_manage: bool = False  # the literal "admins" in SLACK_CHANNEL_ADMINS

    @property
    def mode(self) -> Literal["socket", "http"]:
        return "socket" if self.app_token else "http"

    @property
    def restricted(self) -> bool:
        """Whether managing channel subscriptions is limited to some people."""
        return bool(self.channel_admins) or self.workspace_admins_manage


def load_slack_config(env: Mapping[str, str]) -> SlackConfig | None:
    """Read the SLACK_* variables; None when Slack is not configured.

    Raises ConfigError naming the variable and the expected form.
    """
    bot_token = _get(env, "SLACK_BOT_TOKEN")
    app_token = _get(env, "SLACK_APP_TOKEN")
    secret = _get(env, "SLACK_SIGNING_SECRET")
    if not bot_token:
        if app_token or secret:
            other = "SLACK_APP_TOKEN" if app_token else "SLACK_SIGNING_SECRET"
            raise ConfigError(f"SLACK_BOT_TOKEN: expected a bot token (xoxb-…), as {other} is set")
        return None
    if not bot_token.startswith("xoxb-"):
        raise ConfigError("SLACK_BOT_TOKEN: expected a bot token starting with xoxb-")
    if app_token and not app_token.startswith("xapp-"):
        raise ConfigError(
            "SLACK_APP_TOKEN: expected an app-level token starting with xapp- "
            "(Basic Information → App-Level Tokens, scope connections:write)"
        )
    if not app_token and not secret:
        raise ConfigError(
            "SLACK_APP_TOKEN: expected an app-level token (xapp-…) for Socket Mode, "
            "or set SLACK_SIGNING_SECRET for HTTP mode"
        )
    api_url = _get(env, "SLACK_API_URL") or DEFAULT_API_URL
    if not re.match(r"^https?://[^\s/]+", api_url):
        raise ConfigError("SLACK_API_URL: expected an http(s) URL such as https://slack.com/api/")
    command = (_get(env, "SLACK_COMMAND") or DEFAULT_COMMAND).lower()
    if not _COMMAND.match(command):
        raise ConfigError("SLACK_COMMAND: expected a slash command name such as /papers")
    admins, workspace_admins = _admins(_get(env, "SLACK_CHANNEL_ADMINS"))
    return SlackConfig(
        bot_token=bot_token,
        app_token=app_token,
        signing_secret=secret,
        http_host=_get(env, "SLACK_HTTP_HOST") or "0.0.0.0",
        http_port=_port(_get(env, "SLACK_HTTP_PORT")),
        api_url=api_url if api_url.endswith("/") else api_url + "/",
        command=command,
        channel_admins=admins,
        workspace_admins_manage=workspace_admins,
    )


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _port(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_HTTP_PORT
    try:
        port = int(raw)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise ConfigError(f"SLACK_HTTP_PORT: expected a port number from 1 to 65535, not {raw!r}")
    return port


def _admins(raw: str | None) -> tuple[frozenset[str], bool]:
    if not raw:
        return frozenset(), False
    ids: set[str] = set()
    workspace_admins = False
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        if item.lower() == "admins":
            workspace_admins = True
        elif _USER_ID.match(item):
            ids.add(item)
        else:
            raise ConfigError(
                "SLACK_CHANNEL_ADMINS: expected comma-separated Slack user ids (U…) and/or "
                f"the word admins, not {item!r}"
            )
    return frozenset(ids), workspace_admins
