"""The Discord adapter's settings: DISCORD_* variables from the environment or `.env`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from pydantic import Field, SecretStr, field_validator, model_validator

from bot.settings import EnvSettings, read_environment

DEFAULT_API_BASE = "https://discord.com/api/v10"
DEFAULT_GATEWAY_URL = "wss://gateway.discord.gg/"


@dataclass(frozen=True)
class DiscordConfig:
    token: str = field(repr=False)
    guild_id: int | None = None  # sync commands to this guild at once (development)
    api_base: str = DEFAULT_API_BASE
    gateway_url: str = DEFAULT_GATEWAY_URL
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None  # this process's shards; None = all of them

    @property
    def sharded(self) -> bool:
        return self.shard_count is not None

    @property
    def syncs_commands(self) -> bool:
        """Whether this process syncs the app commands (only the one running shard 0)."""
        return self.shard_ids is None or 0 in self.shard_ids


_FORMS = {
    "token": "the bot token from the Developer Portal (Bot tab, Reset Token), "
    "without spaces or a 'Bot ' prefix",
    "guild_id": "a Discord id (a 17-20 digit number)",
    "api_base": "a URL starting with https://... or http://...",
    "gateway_url": "a URL starting with wss://... or ws://...",
    "shard_count": "a whole number of shards >= 1",
}


class DiscordSettings(EnvSettings):
    """DISCORD_* variables, validated like every other setting (see bot.settings)."""

    ENV_PREFIX: ClassVar[str] = "DISCORD_"
    FORMS: ClassVar[dict[str, str]] = _FORMS

    token: SecretStr | None = None
    guild_id: int | None = None
    api_base: str = DEFAULT_API_BASE
    gateway_url: str = DEFAULT_GATEWAY_URL
    shard_count: int | None = Field(None, ge=1)
    shard_ids: str | None = None  # "0-3", "0,1" or "0-1,4": parsed against shard_count

    @field_validator("token")
    @classmethod
    def _token(cls, v: SecretStr | None) -> SecretStr | None:
        raw = v.get_secret_value().strip() if v else ""
        if any(c.isspace() for c in raw) or raw.lower().startswith("bot "):
            raise ValueError("not a bare token")
        return SecretStr(raw) if raw else None

    @field_validator("guild_id", mode="before")
    @classmethod
    def _snowflake(cls, v: object) -> object:
        if isinstance(v, str) and not (v.strip().isdigit() and 15 <= len(v.strip()) <= 20):
            raise ValueError("not a snowflake")
        return v

    @field_validator("api_base")
    @classmethod
    def _api_base(cls, v: str) -> str:
        return _url(v.strip(), ("https://", "http://")).rstrip("/")

    @field_validator("gateway_url")
    @classmethod
    def _gateway(cls, v: str) -> str:
        return _url(v.strip(), ("wss://", "ws://"))

    @model_validator(mode="after")
    def _shards(self) -> DiscordSettings:
        if self.shard_ids is not None:
            if self.shard_count is None:
                raise ValueError(
                    "DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT (the total number of shards) "
                    "as well"
                )
            _shard_ids(self.shard_ids, self.shard_count)
        return self

    def config(self) -> DiscordConfig | None:
        """The adapter's configuration; None when DISCORD_TOKEN is not set."""
        if self.token is None:
            return None
        count = self.shard_count
        return DiscordConfig(
            token=self.token.get_secret_value(),
            guild_id=self.guild_id,
            api_base=self.api_base,
            gateway_url=self.gateway_url,
            shard_count=count,
            shard_ids=_shard_ids(self.shard_ids, count) if self.shard_ids and count else None,
        )


def _url(raw: str, schemes: tuple[str, ...]) -> str:
    if not raw.startswith(schemes) or any(c.isspace() for c in raw):
        raise ValueError("not such a URL")
    return raw


def _shard_ids(raw: str, count: int) -> tuple[int, ...]:
    """Parse "0-3", "0,1" or "0-1,4" into shard ids below `count`."""
    problem = ValueError(
        "DISCORD_SHARD_IDS must be shard ids such as 0-3 or 0,2,5, each below "
        f"DISCORD_SHARD_COUNT={count}, each once"
    )
    ids: list[int] = []
    try:
        for part in raw.split(","):
            lo, sep, hi = part.strip().partition("-")
            first, last = int(lo), int(hi) if sep else int(lo)
            if first > last:
                raise ValueError(part)
            ids.extend(range(first, last + 1))
    except ValueError:
        raise problem from None
    if not ids or min(ids) < 0 or max(ids) >= count or len(set(ids)) != len(ids):
        raise problem
    return tuple(sorted(ids))


def load_discord_config(env: Mapping[str, str] | None = None) -> DiscordConfig | None:
    """Read the DISCORD_* variables (default: the environment over `.env`).

    None when DISCORD_TOKEN is not set. Raises ConfigError naming the variable.
    """
    return DiscordSettings.from_env(read_environment() if env is None else env).config()
