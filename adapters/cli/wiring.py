"""The composition root: settings -> engine -> repositories -> core -> adapters.

Only this package knows both the core and every chat adapter; `bot/` never imports adapters.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bot.app import App, resolve_source_name
from bot.settings import Settings
from bot.storage.db import upgrade

if TYPE_CHECKING:
    from bot.core import Core
    from bot.ops.server import OpsServer
    from bot.port import Adapter

# The console demo's own database, unless DATABASE_URL says otherwise (then it must hold no
# real papers): the bundled sample never mixes with real data.
DEMO_DATABASE_FILE = "paperbot-demo.sqlite3"
DEMO_DATABASE_URL = f"sqlite+aiosqlite:///{DEMO_DATABASE_FILE}"


class DatabaseUnavailable(Exception):
    """The database cannot be opened or reached; the message says where and why."""


def shown_url(url: str) -> str:
    """The database URL as it may be printed: without its password."""
    return make_url(url).render_as_string(hide_password=True)


async def upgrade_database(url: str) -> None:
    """Migrate the database, turning "cannot connect" into one line without a traceback."""
    try:
        await upgrade(url)
    except (DBAPIError, OSError, sqlite3.Error) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise DatabaseUnavailable(
            f"cannot open the database at {shown_url(url)} ({reason}); "
            "check DATABASE_URL and that the database is up."
        ) from exc


def choose_source(
    settings: Settings, cmd: str, *, chat: list[str], from_file: bool
) -> tuple[str, Settings]:
    """The paper source a command uses, and the settings it runs with (the demo's database)."""
    # "auto" means the offline sample only for the console demo; the other commands are
    # run by operators who expect real look-ups and fetches.
    source = resolve_source_name(settings, chat_configured=bool(chat) or cmd != "run")
    if cmd == "ingest" and not from_file:
        source = "huggingface"  # fetching days from the API means the API, whatever the default
    if source == "sample" and "database_url" not in settings.model_fields_set:
        # The demo's sample papers live in a database of their own, never beside real ones.
        settings = settings.model_copy(update={"database_url": DEMO_DATABASE_URL})
    return source, settings


def build_core(app: App) -> Core:
    """The core over the services, with every command of the registry."""
    # Imported here: the operator commands (lookup, papers, search) need no command registry.
    from bot.commands import build_registry
    from bot.core import Core

    return Core(app, build_registry())


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
        for v in (
            "SLACK_BOT_TOKEN",
            "SLACK_APP_TOKEN",
            "SLACK_SIGNING_SECRET",
            "SLACK_CLIENT_ID",
            "SLACK_CLIENT_SECRET",
        )
    ):
        names.append("slack")
    return names


def build_adapters(core: Core, env: Mapping[str, str]) -> list[Adapter]:
    """The configured chat adapters, or the console when none is configured."""
    adapters: list[Adapter | None] = []
    names = configured_platforms(env)
    # Imported on demand: the console demo and `paperbot papers` never load a chat SDK.
    if "discord" in names:
        from adapters.discord import build_discord_adapter

        adapters.append(build_discord_adapter(core, env))
    if "slack" in names:
        from adapters.slack import build_slack_adapter

        adapters.append(build_slack_adapter(core, env))
    ready = [a for a in adapters if a is not None]
    if not ready:
        from adapters.console import ConsoleAdapter

        # CONSOLE_FILES_DIR: write exports there instead of printing them.
        files = env.get("CONSOLE_FILES_DIR")
        ready.append(ConsoleAdapter(core, files_dir=Path(files) if files else None))
    return ready


async def start_operations(app: App, adapters: list[Adapter]) -> OpsServer | None:
    """The /healthz, /readyz and /metrics endpoint when METRICS_PORT is set, else None.

    In Slack HTTP mode on the same port it is served by Slack's server (which then starts
    with the adapter); otherwise it listens on METRICS_HOST:METRICS_PORT at once.
    """
    port = app.settings.metrics_port
    if port is None:
        return None
    from adapters.cli.ratelimits import count_library_rate_limits
    from bot.ops.server import OpsServer

    # 429s discord.py and slack_sdk wait out themselves count among paperbot_rate_limited.
    count_library_rate_limits(adapters, app.metrics.limited)

    by_platform = {a.platform: a for a in adapters}
    ops = OpsServer(app, by_platform)
    slack = by_platform.get("slack")
    if slack is not None:
        from adapters.slack.app import SlackAdapter

        if (
            isinstance(slack, SlackAdapter)
            and slack.config.mode == "http"
            and slack.config.http_port == port
        ):
            slack.extra_routes = ops.add_routes
            return ops
    await ops.start(app.settings.metrics_host, port)
    return ops
