"""search: a dry run of a query over the stored papers of the last days."""

from __future__ import annotations

from typing import Any

from bot.commands.args import Style
from bot.commands.registry import Arg, Command, Context
from bot.messages import Notice, PaperItem, PaperList, Reply
from bot.plural import plural
from bot.services.queries import parse_or_usage
from bot.services.search import PREVIEW_DAYS, period, reason_lines, search_recent

MAX_DAYS = 365
SHOWN = 10


async def search_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Try a query on the papers of the last days: how many match, and the top ones."""
    query = parse_or_usage(args["query"], "search", ("--days",), typed=ctx.style is Style.TYPED)
    days = args.get("days", PREVIEW_DAYS)
    result = await search_recent(ctx.app, days, query)
    if not result.papers:
        latest = await ctx.app.papers.latest_day()
        hint = f" The latest stored day is {latest.isoformat()}." if latest else ""
        again = ctx.invocation("search", query=query.text, days=MAX_DAYS)
        longer = f" Try a longer period: {again}."
        text = f"No papers are stored for {period(days)}, so there is nothing to search.{hint}"
        return [Notice(text + (longer if days < MAX_DAYS else ""), ephemeral=True)]
    found = result.found
    shown = found[:SHOWN]
    items = tuple(PaperItem(p, reasons=reason_lines(m.reasons)) for p, m in shown)
    footer = None
    if len(found) > len(shown):
        footer = f"and {len(found) - len(shown)} more; narrow the query to see fewer."
    elif found:
        footer = f"Subscribe to it: {ctx.invocation('subscribe', query=query.text)}"
    return [
        PaperList(
            title=(
                f"“{query.text}” matches {len(found)} of {plural(result.papers, 'paper')} "
                f"of {period(days)}, most upvoted first"
            ),
            items=items,
            footer=footer,
            empty_text=(
                "No paper matches. Loosen the query (fewer terms, OR, a shorter phrase) or "
                f"search a longer period with {ctx.command.arg('days').label(ctx.style)} "
                f"(up to {MAX_DAYS})."
            ),
            ephemeral=True,
        )
    ]


COMMANDS = [
    Command(
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
                flag="--days",
                example="30",
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
