"""The Discord adapter's settings, read from DISCORD_* environment variables at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.settings import ConfigError

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


def _snowflake(name: str, raw: str) -> int:
    if not raw.isdigit() or not 15 <= len(raw) <= 20:
        raise ConfigError(f"{name}: expected a Discord id (a 17-20 digit number), got {raw!r}")
    return int(raw)


def _url(name: str, raw: str, schemes: tuple[str, ...]) -> str:
    if not raw.startswith(schemes) or any(c.isspace() for c in raw):
        forms = " or ".join(f"{s}..." for s in schemes)
        raise ConfigError(f"{name}: expected a URL starting with {forms}, got {raw!r}")
    return raw


def _shard_ids(raw: str, count: int) -> tuple[int, ...]:
    """Parse "0-3", "0,1" or "0-1,4" into shard ids below `count`."""
    expected = f"shard ids such as 0-3 or 0,2,5, each below DISCORD_SHARD_COUNT={count}"
    ids: list[int] = []
    try:
        for part in raw.split(","):
            lo, sep, hi = part.strip().partition("-")
            first, last = int(lo), int(hi) if sep else int(lo)
            if first > last:
                raise ValueError(part)
            ids.extend(range(first, last + 1))
    except ValueError:
        raise ConfigError(f"DISCORD_SHARD_IDS: expected {expected}, got {raw!r}") from None
    if not ids or min(ids) < 0 or max(ids) >= count or len(set(ids)) != len(ids):
        raise ConfigError(f"DISCORD_SHARD_IDS: expected {expected}, got {raw!r}")
    return tuple(sorted(ids))


def load_discord_config(env: Mapping[str, str]) -> DiscordConfig | None:
    """Read the DISCORD_* variables; None when DISCORD_TOKEN is not set.

    Raises ConfigError naming the variable and the expected form.
    """
    token = env.get("DISCORD_TOKEN", "").strip()
    if not token:
        return None
    if any(c.isspace() for c in token) or token.lower().startswith("bot "):
        raise ConfigError(
            "DISCORD_TOKEN: expected the bot token from the Developer Portal "
            "(Bot tab, Reset Token), without spaces or a 'Bot ' prefix"
        )

    def get(name: str) -> str:
        return env.get(name, "").strip()

    guild = get("DISCORD_GUILD_ID")
    count_raw, ids_raw = get("DISCORD_SHARD_COUNT"), get("DISCORD_SHARD_IDS")
    count: int | None = None
    if count_raw:
        if not count_raw.isdigit() or int(count_raw) < 1:
            raise ConfigError(
                f"DISCORD_SHARD_COUNT: expected a whole number of shards >= 1, got {count_raw!r}"
            )
        count = int(count_raw)
    if ids_raw and count is None:
        raise ConfigError(
            "DISCORD_SHARD_IDS: needs DISCORD_SHARD_COUNT (the total number of shards) as well"
        )
    return DiscordConfig(
        token=token,
        guild_id=_snowflake("DISCORD_GUILD_ID", guild) if guild else None,
        api_base=_url(
            "DISCORD_API_BASE", get("DISCORD_API_BASE") or DEFAULT_API_BASE, ("https://", "http://")
        ).rstrip("/"),
        gateway_url=_url(
            "DISCORD_GATEWAY_URL",
            get("DISCORD_GATEWAY_URL") or DEFAULT_GATEWAY_URL,
            ("wss://", "ws://"),
        ),
        shard_count=count,
        shard_ids=_shard_ids(ids_raw, count) if ids_raw and count is not None else None,
    )
