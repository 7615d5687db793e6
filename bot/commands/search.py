"""search: a dry run of a query over the stored papers of the last days."""

from __future__ import annotations

import re
from typing import Any

from bot.commands.context import Context
from bot.commands.registry import Arg, Command
from bot.errors import UsageError
from bot.messages import Notice, PaperItem, PaperList, Reply
from bot.plural import plural
from bot.services.queries import parse_or_usage
from bot.services.search import PREVIEW_DAYS, period, reason_lines, recent_papers, search_papers

MAX_DAYS = 365
SHOWN = 10
_DAYS_FLAG_RE = re.compile(r"\s--days(?:(?:\s+|=)(\S*))?\s*$")


def split_days_flag(text: str) -> tuple[str, dict[str, str]]:
    """Take a trailing "--days N" off a typed search (a bare number would be a query word)."""
    m = _DAYS_FLAG_RE.search(" " + text)
    if m is None:
        return text, {}
    if not m.group(1):
        raise UsageError("--days needs a number of days, as in --days 30.")
    return (" " + text)[: m.start()].strip(), {"days": m.group(1)}


async def search_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Try a query on the papers of the last days: how many match, and the top ones."""
    query = parse_or_usage(args["query"], "search", ("--days",))
    days = args.get("days", PREVIEW_DAYS)
    papers = await recent_papers(ctx.app, days)
    prefix = ctx.incoming.prefix
    if not papers:
        latest = await ctx.app.papers.latest_day()
        hint = f" The latest stored day is {latest.isoformat()}." if latest else ""
        longer = f" Try a longer period: {prefix}search {query.text} --days {MAX_DAYS}."
        text = f"No papers are stored for {period(days)}, so there is nothing to search.{hint}"
        return [Notice(text + (longer if days < MAX_DAYS else ""), ephemeral=True)]
    found = await search_papers(papers, query)
    shown = found[:SHOWN]
    items = tuple(PaperItem(p, reasons=reason_lines(m.reasons)) for p, m in shown)
    footer = None
    if len(found) > len(shown):
        footer = f"and {len(found) - len(shown)} more; narrow the query to see fewer."
    elif found:
        footer = f"Subscribe to it: {prefix}subscribe {query.text}"
    return [
        PaperList(
            title=(
                f"“{query.text}” matches {len(found)} of {plural(len(papers), 'paper')} "
                f"of {period(days)}, most upvoted first"
            ),
            items=items,
            footer=footer,
            empty_text=(
                "No paper matches. Loosen the query (fewer terms, OR, a shorter phrase) or "
                f"search a longer period with --days (up to {MAX_DAYS})."
            ),
            ephemeral=True,
        )
    ]


class _SearchCommand(Command):
    def parse_text(self, text: str) -> dict[str, Any]:
        rest, extra = split_days_flag(text)
        values = super().parse_text(rest)
        return self.validate({**{k: str(v) for k, v in values.items()}, **extra})


COMMANDS = [
    _SearchCommand(
        name="search",
        help="Try a query on the stored papers of the last days (default 7) before subscribing.",
        usage=f"search <query> [--days 1-{MAX_DAYS}]",
        handler=search_command,
        args=(
            Arg("query", "The query, as for subscribe", rest=True),
            Arg(
                "days",
                f"How many days back to search (1-{MAX_DAYS}, default {PREVIEW_DAYS})",
                required=False,
                kind="int",
                min_value=1,
                max_value=MAX_DAYS,
            ),
        ),
        ephemeral=True,
        examples=(
            'search "diffusion model" -audio',
            "search title:(agent OR tool) --days 30",
            'search author:"Yann LeCun" upvotes>=20',
        ),
    ),
]
