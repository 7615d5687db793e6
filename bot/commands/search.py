"""search: a dry run of a query over stored papers; and the helpers every query command shares."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from bot.commands.args import Style
from bot.commands.registry import Arg, Command, Context
from bot.errors import UsageError
from bot.matching import Match, Reason, match_batch
from bot.messages import Notice, PaperItem, PaperList, Reply
from bot.papers import Paper
from bot.plural import plural
from bot.query import Query, QueryError, parse_query

if TYPE_CHECKING:
    from bot.app import App

PREVIEW_DAYS = 7  # "would have matched N papers in the last 7 days"
MAX_DAYS = 365
SHOWN = 10
# The options of query commands, wherever they are typed inside a query.
_FLAG_RE = re.compile(r"(?<!\S)(--(?:days|dm))(?![\w-])", re.IGNORECASE)
_QUOTED_RE = re.compile(r'"[^"]*"')


def parse_or_usage(
    text: str, command: str, options: tuple[str, ...] = (), style: Style = Style.TYPED
) -> Query:
    """Parse a query, turning a QueryError into a UsageError with a valid example.

    A command's option left inside the query ("diffusion --days 30 video") would otherwise
    parse as a double negation and silently match nothing.
    """
    for m in _FLAG_RE.finditer(_QUOTED_RE.sub(" ", text)):
        flag = m.group(1).lower()
        if flag in options:
            where = (
                "put it after the query" if style is Style.TYPED else f"set the {flag[2:]} option"
            )
            raise UsageError(f'"{flag}" is an option, not part of the query: {where}.')
        raise UsageError(f'"{flag}" is not part of a query, and {command} has no such option.')
    try:
        return parse_query(text.strip())
    except QueryError as exc:
        raise UsageError(f"{exc}. A valid query looks like: {exc.example}") from None


def window(today: date, days: int) -> tuple[date, date]:
    """The first and last day of "the last `days` days", today included (UTC)."""
    return today - timedelta(days=days - 1), today


async def recent_papers(app: App, days: int) -> list[Paper]:
    """Papers featured in the last `days` days, most upvoted first."""
    first, last = window(app.clock().date(), days)
    return await app.papers.featured_between(first, last)


def _matched_ids(
    papers: Sequence[Paper], subscriptions: Sequence[tuple[int, Query]]
) -> dict[int, list[str]]:
    return {sub: found.paper_ids for sub, found in match_batch(papers, subscriptions).items()}


async def run_matching(
    papers: Sequence[Paper], subscriptions: Sequence[tuple[int, Query]]
) -> dict[int, list[str]]:
    """The ids of the papers each subscription matches, in batch order.

    Matched in a worker thread (CPU-bound); the lists are built there too, as nothing lazy
    may come back for the event loop to expand.
    """
    if not papers or not subscriptions:
        return {}
    return await asyncio.to_thread(_matched_ids, papers, subscriptions)


def _search(papers: Sequence[Paper], query: Query) -> list[tuple[Paper, Match]]:
    found: Sequence[Match] = match_batch(papers, [(0, query)]).get(0, [])
    by_id = {p.id: p for p in papers}
    # Every Match (with its reasons) is built here, in the thread: a year of papers and a
    # broad query are thousands of them.
    pairs = [(by_id[m.paper_id], m) for m in found]
    pairs.sort(key=lambda pm: (-pm[0].upvotes, pm[0].id))
    return pairs


async def search_papers(papers: Sequence[Paper], query: Query) -> list[tuple[Paper, Match]]:
    """The papers `query` matches, most upvoted first, each with its match."""
    if not papers:
        return []
    return await asyncio.to_thread(_search, list(papers), query)


def reason_lines(reasons: Sequence[Reason]) -> tuple[str, ...]:
    """Say which term matched in which field: "diffusion in title, abstract"."""
    by_term: dict[str, list[str]] = {}
    for r in reasons:
        by_term.setdefault(r.term, []).append(r.field)
    return tuple(
        term if fields == ["upvotes"] else f"{term} in {', '.join(fields)}"
        for term, fields in by_term.items()
    )


def period(days: int) -> str:
    return "today" if days == 1 else f"the last {days} days"


async def search_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Try a query on the papers of the last days: how many match, and the top ones."""
    query = parse_or_usage(args["query"], "search", ("--days",), ctx.style)
    days = args.get("days", PREVIEW_DAYS)
    papers = await recent_papers(ctx.app, days)
    if not papers:
        latest = await ctx.app.papers.latest_day()
        hint = f" The latest stored day is {latest.isoformat()}." if latest else ""
        again = ctx.invocation("search", query=query.text, days=MAX_DAYS)
        longer = f" Try a longer period: {again}."
        text = f"No papers are stored for {period(days)}, so there is nothing to search.{hint}"
        return [Notice(text + (longer if days < MAX_DAYS else ""), ephemeral=True)]
    found = await search_papers(papers, query)
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
                f"“{query.text}” matches {len(found)} of {plural(len(papers), 'paper')} "
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
