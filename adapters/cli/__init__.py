"""The `paperbot` front end: parse the command line, wire the services, run a subcommand."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from adapters.cli.exits import EXIT_DELIVERY_PROBLEM, EXIT_POLL_FAILED
from adapters.cli.parser import build_parser
from bot.ops.logs import secrets_in
from bot.settings import (
    ConfigError,
    Settings,
    configure_logging,
    load_settings,
    read_environment,
)

# The services, the engine and the chat adapters are imported once a command needs them:
# `paperbot lookup <id>` of a stored paper needs none of them (adapters.cli.quick).
if TYPE_CHECKING:
    from bot.app import Clock

__all__ = ["EXIT_DELIVERY_PROBLEM", "EXIT_POLL_FAILED", "main"]


def main(argv: Sequence[str] | None = None, *, clock: Clock | None = None) -> int:
    """Run one `paperbot` command; `clock` is injectable so that tests need no wall clock."""
    args = build_parser().parse_args(argv)
    if args.cmd == "doctor":
        # Before anything that needs valid settings or migrates: a bad setting is one of
        # the lines doctor prints, and it changes nothing.
        from adapters.cli.doctor import doctor

        env = read_environment()
        configure_logging("ERROR", tracebacks=False, secrets=secrets_in(env))
        return doctor(env, as_json=args.json)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"paperbot: configuration error: {exc}", file=sys.stderr)
        return 2
    console = False
    if args.cmd == "run":
        from adapters.cli.wiring import configured_platforms

        console = not configured_platforms(read_environment())
    level = settings.log_level
    # The console demo shares the terminal with its logs: keep them to problems, one line
    # each (a person reads them, not an operator's log collector).
    if console and "log_level" not in settings.model_fields_set:
        level = "WARNING"
    configure_logging(
        level,
        tracebacks=not console or level == "DEBUG",
        log_format=settings.log_format,
        secrets=secrets_in(read_environment()),
    )
    try:
        return _run(args, settings, clock)
    except ConfigError as exc:
        print(f"paperbot: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader left (`paperbot papers --json | head -1`): not an error worth a traceback.
        # Point stdout at /dev/null so the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def _run(args: argparse.Namespace, settings: Settings, clock: Clock | None) -> int:
    """The command: a look-up of a stored id at once, anything else through the services."""
    if args.cmd == "lookup":
        from adapters.cli.quick import quick_lookup

        if (done := quick_lookup(args, settings)) is not None:
            return done
    import asyncio

    from adapters.cli.wiring import DatabaseUnavailable
    from bot.app import utc_now
    from bot.sources import SourceError

    try:
        return asyncio.run(_dispatch(args, settings, clock or utc_now))
    except (SourceError, DatabaseUnavailable) as exc:
        print(f"paperbot: {exc}", file=sys.stderr)
        return 1


async def _dispatch(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from adapters.cli import wiring
    from adapters.cli.commands import HANDLERS
    from adapters.cli.wiring import DEMO_DATABASE_FILE
    from bot.app import MixedPapers, build_app, keep_sample_apart

    if args.cmd == "db":
        await wiring.upgrade_database(settings.database_url)
        print("database is up to date")
        return 0
    # One source for every setting: the adapters read DISCORD_*/SLACK_* from it too.
    env = read_environment()
    chat = wiring.configured_platforms(env)
    if args.cmd == "run" and not chat and not _stdin_gives_input():
        # systemd and `docker run` without -i give /dev/null: no one can type to the console.
        print(
            "paperbot: no chat platform is configured (set DISCORD_TOKEN or SLACK_BOT_TOKEN); "
            "the console needs a terminal or piped input",
            file=sys.stderr,
        )
        return 2
    from_file = bool(getattr(args, "from_file", None))
    source, settings = wiring.choose_source(settings, args.cmd, chat=chat, from_file=from_file)
    await wiring.upgrade_database(settings.database_url)
    app = build_app(settings, source_name=source, clock=clock)
    try:
        try:
            # Polls and look-ups store Hugging Face papers; lists and searches only read.
            fetches = args.cmd in ("run", "ingest", "lookup") or (
                args.cmd == "digest" and not args.no_ingest
            )
            await keep_sample_apart(app, brings_real_papers=fetches)
        except MixedPapers:
            print(
                f"paperbot: the database at {wiring.shown_url(settings.database_url)} holds "
                "real papers, and the bundled sample never goes beside them; unset "
                f"DATABASE_URL for the demo (it uses {DEMO_DATABASE_FILE}), "
                "or set PAPERS_SOURCE=huggingface",
                file=sys.stderr,
            )
            return 2
        return await HANDLERS[args.cmd](args, app, env)
    finally:
        await app.close()


def _stdin_gives_input() -> bool:
    """Whether stdin can feed the console: a terminal, a pipe or a file; not /dev/null, closed."""
    try:
        here = os.fstat(sys.stdin.fileno())
    except (AttributeError, OSError, ValueError):  # closed: Python sets sys.stdin to None
        return False
    try:
        return not os.path.samestat(here, os.stat(os.devnull))
    except OSError:
        return True
