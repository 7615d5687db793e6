"""The Slack adapter's settings: SLACK_* variables from the environment or `.env`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from adapters.slack.installations import TokenCipher
from bot.settings import EnvSettings, read_environment

DEFAULT_API_URL = "https://slack.com/api/"
DEFAULT_HTTP_PORT = 3000
DEFAULT_COMMAND = "/papers"
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_COMMAND = re.compile(r"^/[a-z0-9_\-]{1,31}$")


@dataclass(frozen=True)
class SlackConfig:
    # Single-workspace mode: this token everywhere. None in multi-workspace mode, where each
    # workspace's token comes from its OAuth install (client_id and client_secret set).
    bot_token: str | None = field(default=None, repr=False)
    app_token: str | None = field(default=None, repr=False)
    signing_secret: str | None = field(default=None, repr=False)
    http_host: str = "0.0.0.0"
    http_port: int = DEFAULT_HTTP_PORT
    api_url: str = DEFAULT_API_URL
    command: str = DEFAULT_COMMAND  # the slash command's name, as in the app manifest
    # SLACK_CHANNEL_ADMINS: empty means anyone in a channel may manage it (like Slack's /feed).
    channel_admins: frozenset[str] = frozenset()
    workspace_admins_manage: bool = False  # the literal "admins" in SLACK_CHANNEL_ADMINS
    # Multi-workspace mode (OAuth installs, HTTP only).
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    token_keys: tuple[str, ...] = field(default=(), repr=False)  # Fernet keys, first encrypts
    redirect_uri: str | None = None

    @property
    def multi_workspace(self) -> bool:
        return self.client_id is not None

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
    "client_id": "the app's Client ID (Basic Information → App Credentials)",
    "client_secret": "the app's Client Secret (Basic Information → App Credentials)",
    "token_keys": "comma-separated Fernet keys (make one with: python -c "
    '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())")',
    "redirect_uri": "an https URL ending in /slack/oauth_redirect",
}


class SlackSettings(EnvSettings):
    """SLACK_* variables, validated like every other setting (see bot.settings)."""

    ENV_PREFIX: ClassVar[str] = "SLACK_"
    FORMS: ClassVar[dict[str, str]] = _FORMS

    bot_token: SecretStr | None = None
    app_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    http_host: str = "0.0.0.0"
    http_port: int = Field(DEFAULT_HTTP_PORT, ge=0, le=65535)
    api_url: str = DEFAULT_API_URL
    command: str = DEFAULT_COMMAND
    channel_admins: str = ""
    client_id: str | None = None
    client_secret: SecretStr | None = None
    token_keys: SecretStr | None = None
    redirect_uri: str | None = None

    @field_validator("token_keys")
    @classmethod
    def _token_keys(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not all(TokenCipher.valid_key(k) for k in _keys(v)):
            raise ValueError("not Fernet keys")
        return v

    @field_validator("redirect_uri")
    @classmethod
    def _redirect_uri(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^\s/]+/\S*$", v.strip()):
            raise ValueError("not an http(s) URL")
        return v.strip() if v is not None else None

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
        if self.client_id is not None or self.client_secret is not None:
            self._multi_workspace()
            return self
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

    def _multi_workspace(self) -> None:
        """Multi-workspace mode: OAuth installs over HTTP, tokens kept encrypted."""
        for name, value in (
            ("SLACK_CLIENT_ID", self.client_id),
            ("SLACK_CLIENT_SECRET", self.client_secret),
            ("SLACK_SIGNING_SECRET", self.signing_secret),
            ("SLACK_TOKEN_KEYS", self.token_keys),
        ):
            if value is None:
                raise ValueError(
                    f"{name} must be set for multi-workspace mode (SLACK_CLIENT_ID and "
                    "SLACK_CLIENT_SECRET are set)"
                )
        if self.bot_token is not None:
            raise ValueError(
                "SLACK_BOT_TOKEN must be unset in multi-workspace mode: each workspace's token "
                "comes from its install (or unset SLACK_CLIENT_ID and SLACK_CLIENT_SECRET for "
                "one workspace)"
            )
        if self.app_token is not None:
            raise ValueError(
                "SLACK_APP_TOKEN must be unset in multi-workspace mode, which runs in HTTP mode "
                "(the install flow needs a public URL anyway)"
            )

    def config(self) -> SlackConfig | None:
        """The adapter's configuration; None when Slack is not configured."""
        if self.bot_token is None and self.client_id is None:
            return None
        admins, workspace_admins = _admins(self.channel_admins)
        return SlackConfig(
            bot_token=_secret(self.bot_token),
            app_token=_secret(self.app_token),
            signing_secret=_secret(self.signing_secret),
            http_host=self.http_host.strip() or "0.0.0.0",
            http_port=self.http_port,
            api_url=self.api_url,
            command=self.command,
            channel_admins=admins,
            workspace_admins_manage=workspace_admins,
            client_id=self.client_id.strip() if self.client_id else None,
            client_secret=_secret(self.client_secret),
            token_keys=tuple(_keys(self.token_keys)) if self.token_keys else (),
            redirect_uri=self.redirect_uri,
        )


def load_slack_config(env: Mapping[str, str] | None = None) -> SlackConfig | None:
    """Read the SLACK_* variables (default: the environment over `.env`).

    None when Slack is not configured. Raises ConfigError naming the variable.
    """
    return SlackSettings.from_env(read_environment() if env is None else env).config()


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value().strip() if value is not None else None


def _keys(value: SecretStr) -> list[str]:
    return [k.strip() for k in value.get_secret_value().split(",") if k.strip()]


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
