"""The `paperbot` console script: the core's CLI, given the chat adapters."""

from __future__ import annotations

import sys
from collections.abc import Mapping

from bot.cli import Platforms
from bot.cli import main as core_main
from bot.core import Core
from bot.port import Adapter


def configured_platforms(env: Mapping[str, str]) -> list[str]:
    names = []
    if env.get("DISCORD_TOKEN"):
        names.append("discord")
    if env.get("SLACK_BOT_TOKEN"):
        names.append("slack")
    return names


def build_adapters(core: Core, env: Mapping[str, str]) -> list[Adapter]:
    """The configured chat adapters, or the console when none is configured."""
    adapters: list[Adapter] = []
    names = configured_platforms(env)
    if "discord" in names:
        from adapters.discord import build_discord_adapter

        adapters.append(build_discord_adapter(core, env))
    if "slack" in names:
        from adapters.slack import build_slack_adapter

        adapters.append(build_slack_adapter(core, env))
    if not adapters:
        from adapters.console import ConsoleAdapter

        adapters.append(ConsoleAdapter(core))
    return adapters


PLATFORMS = Platforms(configured=configured_platforms, build=build_adapters)


def main() -> None:
    sys.exit(core_main(platforms=PLATFORMS))


if __name__ == "__main__":
    main()
