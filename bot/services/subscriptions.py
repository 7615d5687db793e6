"""Subscriptions as commands read them: which ones a scope holds, and what they match lately.

Shared by `subscribe` (its preview), `subscriptions` (match counts), `why` and the
subscription completer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from bot.messages import Place, User
from bot.plural import plural
from bot.query import Query, QueryError
from bot.services.queries import read_query
from bot.services.search import PREVIEW_DAYS, period, recent_papers, run_matching, search_papers
from bot.storage.models import SubscriptionRow

if TYPE_CHECKING:
    from bot.app import App

_EXAMPLES = 2
# "Nearly everything": a query that matches more than this share of a week's papers, once
# the week holds at least BROAD_MIN_PAPERS of them, gets a warning with its subscription.
BROAD_SHARE = 0.5
BROAD_MIN_PAPERS = 10


async def rows_in_scopes(
    app: App, user: User, place: Place, personal: Iterable[bool]
) -> list[SubscriptionRow]:
    """The subscriptions of each scope in turn (False: this channel, True: the user's own)."""
    rows: list[SubscriptionRow] = []
    for p in personal:
        dest = await app.destinations.find(user, place, personal=p)
        if dest is not None:
            rows.extend(await app.subscriptions.list_for(dest.id))
    return rows


async def recent_counts(
    app: App, rows: Sequence[SubscriptionRow]
) -> tuple[dict[int, Query | QueryError], dict[int, int]]:
    """Each subscription's parsed query (or its error), and its matches of the last week."""
    parsed = {r.id: read_query(r.query) for r in rows}
    papers = await recent_papers(app, PREVIEW_DAYS)
    valid = [(i, q) for i, q in parsed.items() if isinstance(q, Query)]
    found = await run_matching(papers, valid)
    return parsed, {i: len(found.get(i, ())) for i in parsed}


async def preview(app: App, query: Query) -> tuple[str, bool]:
    """Say how many recent papers a query would have matched, with a couple of titles.

    The flag is True when that is so large a share of all recent papers that the query
    is most likely too broad (the reply then warns).
    """
    papers = await recent_papers(app, PREVIEW_DAYS)
    found = await search_papers(papers, query)
    when = period(PREVIEW_DAYS)
    if not found:
        return f"It would have matched no paper in {when}.", False
    titles = ", ".join(f"“{p.title}”" for p, _ in found[:_EXAMPLES])
    text = f"It would have matched {plural(len(found), 'paper')} in {when}, e.g. {titles}."
    # A handful of stored papers says little about breadth: only judge a real week.
    broad = len(papers) >= BROAD_MIN_PAPERS and len(found) > len(papers) * BROAD_SHARE
    if broad:
        text = (
            f"It would have matched {len(found)} of all {plural(len(papers), 'paper')} of "
            f"{when} — nearly everything, e.g. {titles}."
        )
    return text, broad
