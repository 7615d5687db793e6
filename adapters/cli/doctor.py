"""`paperbot doctor`: every check an operator would make by hand, in one table.

Settings, the database and its migrations, Hugging Face, then each configured platform
against its real API (the token, what it may do, every subscribed channel), and the
destinations that were disabled. A failed line says how to fix it; the exit status is 0
when nothing failed (warnings allowed), 1 otherwise.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Mapping
from typing import TextIO

from bot.app import App, build_app, resolve_source_name
from bot.ops.checks import (
    Check,
    Mark,
    check_database,
    check_disabled,
    check_huggingface,
    subscribed_channels,
)
from bot.settings import ConfigError, Settings

MARKS = {Mark.PASS: "✓", Mark.WARN: "!", Mark.FAIL: "✗"}
SETTINGS_FIX = "set that variable in the environment or .env (see .env.example)"


def load_all(env: Mapping[str, str]) -> tuple[Settings | None, list[Check], dict[str, object]]:
    """Validate core, Discord and Slack settings: one line each that is wrong."""
    from adapters.discord.config import load_discord_config
    from adapters.slack.config import load_slack_config

    checks: list[Check] = []
    settings: Settings | None = None
    configs: dict[str, object] = {}
    try:
        settings = Settings.from_env(env)
    except ConfigError as exc:
        checks.append(Check.bad("settings", str(exc), SETTINGS_FIX))
    for platform, load in (("discord", load_discord_config), ("slack", load_slack_config)):
        try:
            config = load(env)
        except ConfigError as exc:
            checks.append(Check.bad(f"{platform} settings", str(exc), SETTINGS_FIX))
        else:
            if config is not None:
                configs[platform] = config
    if not checks:
        names = ", ".join(configs) or "no chat platform (the console demo)"
        checks.append(Check.ok("settings", f"parsed; configured: {names}"))
    return settings, checks, configs


async def diagnose(env: Mapping[str, str]) -> list[Check]:
    """Run every check that applies; later checks skip what an earlier failure rules out."""
    settings, checks, configs = load_all(env)
    if settings is None:
        return checks
    source = resolve_source_name(settings, chat_configured=bool(configs))
    app = build_app(settings, source_name=source)
    try:
        database = await check_database(app)
        checks.append(database)
        usable = database.mark is Mark.PASS
        work = [check_huggingface(settings, used=source == "huggingface")]
        if "discord" in configs:
            work.append(_discord(app, configs["discord"], usable))
        if "slack" in configs:
            work.append(_slack(app, configs["slack"], usable))
        for lines in await asyncio.gather(*work):
            checks.extend(lines)
        if usable:
            checks.extend(await check_disabled(app))
    finally:
        await app.close()
    return checks


async def _discord(app: App, config: object, usable: bool) -> list[Check]:
    # Imported here: doctor loads a chat SDK only for a platform that is configured.
    from adapters.discord.checks import discord_checks
    from adapters.discord.commands import CommandBuilder
    from adapters.discord.config import DiscordConfig
    from bot.commands import build_registry
    from bot.core import Core

    assert isinstance(config, DiscordConfig)
    core = Core(app, build_registry())
    names = [c.name for c in CommandBuilder(core).build(core.registry)]
    channels = await subscribed_channels(app, "discord") if usable else []
    return await discord_checks(config, channels, names)


async def _slack(app: App, config: object, usable: bool) -> list[Check]:
    from adapters.slack.checks import slack_checks
    from adapters.slack.config import SlackConfig

    assert isinstance(config, SlackConfig)
    channels = await subscribed_channels(app, "slack") if usable else []
    return await slack_checks(config, channels, app if usable else None)


def print_table(checks: list[Check], out: TextIO) -> None:
    """One line per check (mark, name, what was found), its fix on the line below."""
    width = max(len(c.name) for c in checks)
    for c in checks:
        print(f"{MARKS[c.mark]} {c.mark.value:<4}  {c.name:<{width}}  {c.detail}", file=out)
        if c.fix and c.mark is not Mark.PASS:
            print(f"{'':<{width + 9}}fix: {c.fix}", file=out)
    failed = sum(c.mark is Mark.FAIL for c in checks)
    warned = sum(c.mark is Mark.WARN for c in checks)
    verdict = "all checks passed" if not failed else f"{failed} failed"
    print(f"\n{verdict}" + (f", {warned} warnings" if warned else ""), file=out)


def doctor(env: Mapping[str, str], *, as_json: bool = False, out: TextIO = sys.stdout) -> int:
    """Print the table (or a JSON array) and return the exit status."""
    return asyncio.run(report(env, as_json=as_json, out=out))


async def report(env: Mapping[str, str], *, as_json: bool = False, out: TextIO = sys.stdout) -> int:
    """`doctor` inside a running event loop."""
    checks = await diagnose(env)
    if as_json:
        rows = [
            {"check": c.name, "mark": c.mark.value, "detail": c.detail, "fix": c.fix}
            for c in checks
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2), file=out)
    else:
        print_table(checks, out)
    return 1 if any(c.mark is Mark.FAIL for c in checks) else 0
