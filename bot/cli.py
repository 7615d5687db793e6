"""The `paperbot` command line, and the composition root of the core.

`bot/` never imports adapters, so the console script lives in `adapters/cli.py`: it calls
`main()` here with `Platforms`, which knows how to build the configured chat adapters.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sqlite3
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bot.app import (
    App,
    Clock,
    MixedPapers,
    build_app,
    keep_sample_apart,
    resolve_source_name,
    utc_now,
)
from bot.commands import build_registry
from bot.core import Core
from bot.port import Adapter
from bot.settings import (
    ConfigError,
    Settings,
    configure_logging,
    load_settings,
    read_environment,
)
from bot.sources import SourceError
from bot.storage.db import upgrade

log = logging.getLogger(__name__)

# The console demo's own database, unless DATABASE_URL says otherwise (then it must hold no
# real papers): the bundled sample never mixes with real data.
DEMO_DATABASE_FILE = "paperbot-demo.sqlite3"
DEMO_DATABASE_URL = f"sqlite+aiosqlite:///{DEMO_DATABASE_FILE}"

# `paperbot digest run` exit statuses besides 0 (all done), 1 (cannot run) and 2 (usage).
EXIT_POLL_FAILED = 3  # the poll of the paper source failed: digests wait for papers
EXIT_DELIVERY_PROBLEM = 4  # messages wait on send errors, or destinations were disabled


@dataclass(frozen=True)
class Platforms:
    """What the adapters layer tells the core about chat platforms."""

    # Names of the chat platforms configured in this environment ("discord", "slack").
    configured: Callable[[Mapping[str, str]], list[str]]
    # Build the adapters to run: the configured platforms, or the console when there are none.
    build: Callable[[Core, Mapping[str, str]], list[Adapter]]


NO_PLATFORMS = Platforms(configured=lambda env: [], build=lambda core, env: [])


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="paperbot",
        description="Hugging Face Daily Papers for Discord and Slack.",
    )
    p.add_argument("--version", action="version", version=f"paperbot {_version()}")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    sub.add_parser("run", help="run the bot (the console when no chat platform is configured)")

    ing = sub.add_parser("ingest", help="import papers from the API or saved responses")
    src = ing.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--from-file",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="saved GET /api/daily_papers responses (a JSON array per file)",
    )
    src.add_argument("--date", type=_day, metavar="YYYY-MM-DD", help="fetch one day")
    src.add_argument("--since", type=_day, metavar="YYYY-MM-DD", help="fetch every day since")
    ing.add_argument(
        "--until", type=_day, metavar="YYYY-MM-DD", help="last day for --since (default today)"
    )

    look = sub.add_parser("lookup", help="find a paper by arXiv id, URL or title words")
    look.add_argument("query", nargs="+")
    look.add_argument("--json", action="store_true", help="print a JSON array, best first")

    lst = sub.add_parser("papers", help="list a day's Daily Papers")
    lst.add_argument("--date", default="today", help="today, yesterday or YYYY-MM-DD (UTC)")
    lst.add_argument("--limit", type=int, default=100, help="at most this many (1-100)")
    lst.add_argument("--json", action="store_true")

    sea = sub.add_parser(
        "search",
        help="dry-run a subscription query over stored papers (exit 1 when none match)",
    )
    sea.add_argument("query", nargs="+", help="the query, e.g. '\"flow matching\" -video'")
    span = sea.add_mutually_exclusive_group()
    span.add_argument(
        "--days", type=int, default=7, help="papers featured in the last N days (default 7)"
    )
    span.add_argument("--all", action="store_true", help="search every stored paper")
    sea.add_argument("--json", action="store_true", help="print a JSON array, most upvoted first")

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_cmd", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="apply schema migrations")

    dig = sub.add_parser("digest", help="deliver digests and alerts without a running bot")
    dig_sub = dig.add_subparsers(dest="digest_cmd", required=True, metavar="ACTION")
    dig_run = dig_sub.add_parser(
        "run",
        help="poll the paper source, post every due digest and alert, then exit (cron)",
        description="One delivery round, for cron or a Kubernetes CronJob: poll Hugging Face "
        "for today and yesterday, compose every digest and alert that is due, send them, exit. "
        "Safe to run often and next to `paperbot run`: what is due is decided in the database.",
    )
    dig_run.add_argument(
        "--no-ingest", action="store_true", help="do not poll the paper source first"
    )
    return p


def _version() -> str:
    try:
        return metadata.version("paperbot")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None


def main(
    argv: Sequence[str] | None = None,
    platforms: Platforms = NO_PLATFORMS,
    *,
    clock: Clock = utc_now,
) -> int:
    """Run one `paperbot` command; `clock` is injectable so that tests need no wall clock."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"paperbot: configuration error: {exc}", file=sys.stderr)
        return 2
    level = settings.log_level
    console = args.cmd == "run" and not platforms.configured(read_environment())
    # The console demo shares the terminal with its logs: keep them to problems, one line
    # each (a person reads them, not an operator's log collector).
    if console and "log_level" not in settings.model_fields_set:
        level = "WARNING"
    configure_logging(level, tracebacks=not console or level == "DEBUG")
    try:
        return asyncio.run(_dispatch(args, settings, platforms, clock))
    except ConfigError as exc:
        print(f"paperbot: configuration error: {exc}", file=sys.stderr)
        return 2
    except (SourceError, DatabaseUnavailable) as exc:
        print(f"paperbot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader left (`paperbot papers --json | head -1`): not an error worth a traceback.
        # Point stdout at /dev/null so the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


class DatabaseUnavailable(Exception):
    """The database cannot be opened or reached; the message says where and why."""


async def _upgrade(url: str) -> None:
    """Migrate the database, turning "cannot connect" into one line without a traceback."""
    try:
        await upgrade(url)
    except (DBAPIError, OSError, sqlite3.Error) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        shown = make_url(url).render_as_string(hide_password=True)
        raise DatabaseUnavailable(
            f"cannot open the database at {shown} ({reason}); "
            "check DATABASE_URL and that the database is up."
        ) from exc


async def _dispatch(
    args: argparse.Namespace, settings: Settings, platforms: Platforms, clock: Clock
) -> int:
    if args.cmd == "db":
        await _upgrade(settings.database_url)
        print("database is up to date")
        return 0
    # One source for every setting: the adapters read DISCORD_*/SLACK_* from it too.
    env = read_environment()
    chat = platforms.configured(env)
    if args.cmd == "run" and not chat and not _stdin_gives_input():
        # systemd and `docker run` without -i give /dev/null: no one can type to the console.
        print(
            "paperbot: no chat platform is configured (set DISCORD_TOKEN or SLACK_BOT_TOKEN); "
            "the console needs a terminal or piped input",
            file=sys.stderr,
        )
        return 2
    # "auto" means the offline sample only for the console demo; the other commands are
    # run by operators who expect real look-ups and fetches.
    source = resolve_source_name(settings, chat_configured=bool(chat) or args.cmd != "run")
    if args.cmd == "ingest" and not args.from_file:
        source = "huggingface"  # fetching days from the API means the API, whatever the default
    if source == "sample" and "database_url" not in settings.model_fields_set:
        # The demo's sample papers live in a database of their own, never beside real ones.
        settings = settings.model_copy(update={"database_url": DEMO_DATABASE_URL})
    await _upgrade(settings.database_url)
    app = build_app(settings, source_name=source, clock=clock)
    try:
        try:
            # Polls and look-ups store Hugging Face papers; lists and searches only read.
            fetches = args.cmd in ("run", "ingest", "lookup") or (
                args.cmd == "digest" and not args.no_ingest
            )
            await keep_sample_apart(app, brings_real_papers=fetches)
        except MixedPapers:
            shown = make_url(settings.database_url).render_as_string(hide_password=True)
            print(
                f"paperbot: the database at {shown} holds real papers, and the bundled sample "
                "never goes beside them; unset DATABASE_URL for the demo (it uses "
                f"{DEMO_DATABASE_FILE}), or set PAPERS_SOURCE=huggingface",
                file=sys.stderr,
            )
            return 2
        handler: Callable[..., Any] = {
            "run": _run,
            "digest": _digest,
            "ingest": _ingest,
            "lookup": _lookup,
            "papers": _papers,
            "search": _search,
        }[args.cmd]
        return await handler(args, app, platforms, env)
    finally:
        await app.close()


async def _run(
    args: argparse.Namespace, app: App, platforms: Platforms, env: dict[str, str]
) -> int:
    from bot.ingest import ingest_day

    core = Core(app, build_registry())
    adapters = platforms.build(core, env)
    if not adapters:
        print("paperbot: no adapter to run", file=sys.stderr)
        return 2
    if not app.online:
        # The offline sample is today's list; store it so look-ups find it at once.
        await ingest_day(app, app.clock().date())
    log.info(
        "starting %s (papers from %s)",
        ", ".join(a.platform for a in adapters),
        "Hugging Face" if app.online else "the bundled sample",
    )
    from bot.scheduler import DeliveryScheduler

    scheduler = DeliveryScheduler(app, {a.platform: a for a in adapters})
    # Piped input is a script: its output must be the same at any hour, so no poll or digest
    # sweep runs beside it (a daily digest coming due mid-script would cut in). What its
    # commands queue ("digest now") is posted when the input ends.
    scripted = [a.platform for a in adapters] == ["console"] and not _stdin_is_terminal()
    tasks = [asyncio.create_task(a.start(), name=f"adapter-{a.platform}") for a in adapters]
    if not scripted:
        await scheduler.start()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals: list[int] = []

    def on_signal(sig: int) -> None:
        signals.append(sig)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal, sig)
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
    if any(t.get_name() == "adapter-console" and not t.exception() for t in done):
        # End of piped input: post what commands such as "digest now" queued, then exit.
        await scheduler.sender.drain()
    await scheduler.stop()
    for a in adapters:
        await a.stop()
    for t in [*tasks, stopper]:
        if not t.done():
            t.cancel()
    await asyncio.gather(*tasks, stopper, return_exceptions=True)
    failed = [t for t in done if t is not stopper and t.exception()]
    for t in failed:
        print(f"paperbot: {t.get_name()} stopped: {t.exception()}", file=sys.stderr)
    if failed:
        return 1
    # A service stopped by SIGTERM has done its job (0); the console, an interactive program,
    # answers like one: 130 after Ctrl-C, 143 after SIGTERM.
    if signals and [a.platform for a in adapters] == ["console"]:
        return 128 + signals[0]
    return 0


async def _digest(
    args: argparse.Namespace, app: App, platforms: Platforms, env: dict[str, str]
) -> int:
    """One delivery round for cron: ingest, sweep, drain the outbox, exit."""
    from bot.scheduler import DeliveryScheduler

    adapters = platforms.build(Core(app, build_registry()), env)
    scheduler = DeliveryScheduler(app, {a.platform: a for a in adapters})
    # Chat adapters must log in before they can post; the console posts to stdout as is.
    online = [a for a in adapters if a.platform != "console"]
    tasks = [asyncio.create_task(a.start(), name=f"adapter-{a.platform}") for a in online]
    try:
        swept, sent = await scheduler.run_once(ingest=not args.no_ingest)
    finally:
        for a in online:
            await a.stop()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    print(
        f"digest run: {swept.queued} queued, {swept.waiting} waiting for papers, "
        f"{swept.skipped} skipped; {sent.sent} sent, {sent.retried} to retry, "
        f"{sent.disabled} destinations disabled"
    )
    # Cron and Kubernetes see only the exit status: make problems visible there.
    status = await app.state.ingest_status()
    if not args.no_ingest and status.failing:
        error = status.last_error or "unknown error"
        print(f"paperbot: polling the paper source failed: {error}", file=sys.stderr)
        return EXIT_POLL_FAILED
    waiting = await _waiting_on_errors(app)
    if waiting or sent.failed or sent.disabled or sent.halted:
        waits = "1 message waits" if waiting == 1 else f"{waiting} messages wait"
        print(
            f"paperbot: {waits} for a retry after send errors, {sent.failed} failed, "
            f"{sent.disabled} destinations disabled; see status",
            file=sys.stderr,
        )
        return EXIT_DELIVERY_PROBLEM
    return 0


async def _waiting_on_errors(app: App) -> int:
    """Outbox messages that are not sent yet because sending them failed."""
    from sqlalchemy import func, select

    from bot.storage.models import OutboxRow

    async with app.sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(OutboxRow)
            .where(OutboxRow.status == "pending", OutboxRow.last_error.is_not(None))
        )
    return int(count or 0)


def _stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


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


def _progress(done: int, total: int, label: str) -> None:
    if total <= 1 or (not sys.stderr.isatty() and done != total):
        return
    width = 30
    filled = width * done // total
    end = "\n" if done == total else ""
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label}{end}")
    sys.stderr.flush()


async def _ingest(
    args: argparse.Namespace, app: App, platforms: Platforms, env: dict[str, str]
) -> int:
    from bot.ingest import days_between, ingest_days, ingest_files

    if args.from_file:
        missing = [str(p) for p in args.from_file if not p.is_file()]
        if missing:
            print(f"paperbot: no such file: {missing[0]}", file=sys.stderr)
            return 2
        report = await ingest_files(app, args.from_file, progress=_progress)
    else:
        today = app.clock().date()
        first = args.date or args.since
        last = args.date or args.until or today
        if first > today or last > today:
            print(
                "paperbot: that date is in the future; Daily Papers has no list for it yet",
                file=sys.stderr,
            )
            return 2
        if first > last:
            print("paperbot: --since is after --until", file=sys.stderr)
            return 2
        report = await ingest_days(app, days_between(first, last), progress=_progress)
    for err in report.errors:
        print(f"paperbot: skipped {err}", file=sys.stderr)
    total = await app.papers.count()
    print(
        f"ingested {report.items} items: {report.stats}; {report.skipped} malformed skipped; "
        f"{total} papers stored"
    )
    return 1 if report.errors else 0


async def _lookup(
    args: argparse.Namespace, app: App, platforms: Platforms, env: dict[str, str]
) -> int:
    from bot.commands.errors import CommandError
    from bot.commands.papers import lookup_papers

    query = " ".join(args.query).strip()
    if not query:
        print(
            "paperbot: give an arXiv id, an arXiv or Hugging Face URL, or title words",
            file=sys.stderr,
        )
        return 2
    try:
        papers = (await lookup_papers(app, query)).papers
    except CommandError as exc:
        print(f"paperbot: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([p.to_json() for p in papers], ensure_ascii=False, indent=2))
    else:
        for p in papers:
            print(f"{p.id}\t▲{p.upvotes}\t{p.title}")
    if not papers and not args.json:
        print(f"no paper matches {query!r}", file=sys.stderr)
    return 0 if papers else 1


async def _papers(
    args: argparse.Namespace, app: App, platforms: Platforms, env: dict[str, str]
) -> int:
    from bot.commands.errors import UsageError
    from bot.commands.papers import MAX_LIMIT, parse_day

    if not 1 <= args.limit <= MAX_LIMIT:
        print(f"paperbot: --limit must be from 1 to {MAX_LIMIT}", file=sys.stderr)
        return 2
    try:
        day = parse_day(args.date, app.clock().date())
    except UsageError as exc:
        print(f"paperbot: {exc}", file=sys.stderr)
        return 2
    papers = await app.papers.featured_on(day, limit=args.limit)
    if args.json:
        print(json.dumps([p.to_json() for p in papers], ensure_ascii=False, indent=2))
    else:
        for p in papers:
            print(f"{p.id}\t▲{p.upvotes}\t{p.title}")
    if not papers:
        print(
            f"paperbot: no Daily Papers stored for {day.strftime('%A')} {day.isoformat()}; "
            f"fetch them with: paperbot ingest --date {day.isoformat()}",
            file=sys.stderr,
        )
        return 1
    return 0


async def _search(
    args: argparse.Namespace, app: App, platforms: Platforms, env: dict[str, str]
) -> int:
    from bot.commands.search import reason_lines, recent_papers, search_papers
    from bot.query import QueryError, parse_query

    try:
        query = parse_query(" ".join(args.query))
    except QueryError as exc:
        print(f"paperbot: {exc}; a valid query looks like: {exc.example}", file=sys.stderr)
        return 2
    if not args.all and args.days < 1:
        print("paperbot: --days must be at least 1", file=sys.stderr)
        return 2
    papers = await (app.papers.all_papers() if args.all else recent_papers(app, args.days))
    found = await search_papers(papers, query)
    if args.json:
        out = [{**p.to_json(), "reasons": list(reason_lines(m.reasons))} for p, m in found]
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        for p, m in found:
            print(f"{p.id}\t▲{p.upvotes}\t{p.title}\t{'; '.join(reason_lines(m.reasons))}")
        where = "stored papers" if args.all else f"papers of the last {args.days} days"
        print(f"{len(found)} of {len(papers)} {where} match {str(query)!r}", file=sys.stderr)
    return 0 if found else 1
