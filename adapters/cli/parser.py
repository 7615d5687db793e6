"""The `paperbot` command line: its subcommands, options and help."""

from __future__ import annotations

import argparse
from datetime import date
from importlib import metadata
from pathlib import Path

from adapters.cli.recommend import add_parsers as add_recommend_parsers


def build_parser() -> argparse.ArgumentParser:
    """Build the parser of every `paperbot` subcommand."""
    # Longer than most functions: one declaration per subcommand, read top to bottom like
    # the help it prints; splitting it would scatter that page.
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
    ing.add_argument(
        "--save-dir",
        type=Path,
        metavar="DIR",
        help="with --date/--since: also save each day's answer as DIR/YYYY-MM-DD.json "
        "(for --from-file and the benchmarks' --data)",
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

    add_recommend_parsers(sub, _day)

    doc = sub.add_parser(
        "doctor",
        help="check settings, database, Hugging Face, Discord and Slack; exit 1 if any fails",
        description="Check everything an operator would by hand, and print a table with a fix "
        "for each problem: settings, the database and its migrations, Hugging Face (and "
        "HF_TOKEN), the Discord token, intents, synced commands and the bot's permissions in "
        "every subscribed channel, the Slack token, its scopes and the bot's membership of "
        "every subscribed channel, and the destinations that were disabled. Changes nothing.",
    )
    doc.add_argument("--json", action="store_true", help="print a JSON array instead")

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
