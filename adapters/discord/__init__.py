"""The Discord adapter: slash commands generated from the registry, embeds, DMs, delivery."""

from adapters.discord.client import DiscordAdapter, build_discord_adapter
from adapters.discord.config import DiscordConfig, load_discord_config

__all__ = ["DiscordAdapter", "DiscordConfig", "build_discord_adapter", "load_discord_config"]
