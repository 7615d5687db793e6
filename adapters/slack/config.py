"""The Slack adapter's settings: SLACK_* variables from the environment or `.env`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from bot.settings import EnvSettings, read_environment

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


_FORMS = {
    "bot_token": "a bot token starting with xoxb-",
    "app_token": "an app-level token starting with xapp- "
    "(Basic Information → App-Level Tokens, scope connections:write)",
    "http_port": "a port number from 1 to 65535",
    "api_url": "an http(s) URL such as https://slack.com/api/",
    "command": "a slash command name such as /papers",
    "channel_admins": "comma-separated Slack user ids (U…) and/or the word admins",
}


class SlackSettings(EnvSettings):
    """SLACK_* variables, validated like every other setting (see bot.settings)."""

    model_config = SettingsConfigDict(env_prefix="SLACK_", extra="ignore", case_sensitive=False)
    FORMS: ClassVar[dict[str, str]] = _FORMS

    bot_token: SecretStr | None = None
    app_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    http_host: str = "0.0.0.0"
    http_port: int = Field(DEFAULT_HTTP_PORT, ge=0, le=65535)
    api_url: str = DEFAULT_API_URL
    command: str = DEFAULT_COMMAND
    channel_admins: str = ""

    @field_validator("bot_token")
    @classmethod
    def _bot_token(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not v.get_secret_value().strip().startswith("xoxb-"):
            raise ValueError("not a bot token")
        return v

    @field_validator("app_token")
    @classmethod
    def _app_token(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not v.get_secret_value().strip().startswith("xapp-"):
            raise ValueError("not an app-level token")
        return v

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, v: str) -> str:
        v = v.strip()
        if not re.match(r"^https?://[^\s/]+", v):
            raise ValueError("not an http(s) URL")
        return v if v.endswith("/") else v + "/"

    @field_validator("command")
    @classmethod
    def _command(cls, v: str) -> str:
        v = v.strip().lower()
        if not _COMMAND.match(v):
            raise ValueError("not a slash command")
        return v

    @field_validator("channel_admins")
    @classmethod
    def _admins(cls, v: str) -> str:
        _admins(v)
        return v

    @model_validator(mode="after")
    def _mode(self) -> SlackSettings:
        if self.bot_token is None:
            if self.app_token or self.signing_secret:
                other = "SLACK_APP_TOKEN" if self.app_token else "SLACK_SIGNING_SECRET"
                raise ValueError(f"SLACK_BOT_TOKEN must be a bot token (xoxb-…), as {other} is set")
        elif self.app_token is None and self.signing_secret is None:
            raise ValueError(
                "SLACK_APP_TOKEN must be an app-level token (xapp-…) for Socket Mode, "
                "or set SLACK_SIGNING_SECRET for HTTP mode"
            )
        return self

    def config(self) -> SlackConfig | None:
        """The adapter's configuration; None when Slack is not configured."""
        if self.bot_token is None:
            return None
        admins, workspace_admins = _admins(self.channel_admins)
        return SlackConfig(
            bot_token=self.bot_token.get_secret_value().strip(),
            app_token=_secret(self.app_token),
            signing_secret=_secret(self.signing_secret),
            http_host=self.http_host.strip() or "0.0.0.0",
            http_port=self.http_port,
            api_url=self.api_url,
            command=self.command,
            channel_admins=admins,
            workspace_admins_manage=workspace_admins,
        )


def load_slack_config(env: Mapping[str, str] | None = None) -> SlackConfig | None:
    """Read the SLACK_* variables (default: the environment over `.env`).

    None when Slack is not configured. Raises ConfigError naming the variable.
    """
    return SlackSettings.from_env(read_environment() if env is None else env).config()


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value().strip() if value is not None else None


def _admins(raw: str) -> tuple[frozenset[str], bool]:
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
            raise ValueError(f"not a user id: {item!r}")
    return frozenset(ids), workspace_admins
