"""The `paperbot` console script: the core's CLI, given the chat adapters."""

from __future__ import annotations

import sys
from collections.abc import Mapping

from bot.cli import Platforms
from bot.cli import main as core_main
from bot.core import Core
from bot.port import Adapter


def configured_platforms(env: Mapping[str, str]) -> list[str]:
    """Chat platforms the environment asks for.

    Any Slack credential counts, so that a half-configured Slack app fails with a clear
    configuration error instead of quietly starting the console.
    """
    names = []
    if env.get("DISCORD_TOKEN", "").strip():
        names.append("discord")
    if any(
        env.get(v, "").strip()
        for v in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET")
    ):
        names.append("slack")
    return names


def build_adapters(core: Core, env: Mapping[str, str]) -> list[Adapter]:
    """The configured chat adapters, or the console when none is configured."""
    adapters: list[Adapter | None] = []
    names = configured_platforms(env)
    if "discord" in names:
        from adapters.discord import build_discord_adapter

        adapters.append(build_discord_adapter(core, env))
    if "slack" in names:
        from adapters.slack import build_slack_adapter

        adapters.append(build_slack_adapter(core, env))
    ready = [a for a in adapters if a is not None]
    if not ready:
        from adapters.console import ConsoleAdapter

        ready.append(ConsoleAdapter(core))
    return ready


PLATFORMS = Platforms(configured=configured_platforms, build=build_adapters)


def main() -> None:
    sys.exit(core_main(platforms=PLATFORMS))


if __name__ == "__main__":
    main()
