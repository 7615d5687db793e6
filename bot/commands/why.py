"""why: which terms of a subscription matched a paper, in which field, or why it did not."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from bot.commands.feedback import recommendation_reason
from bot.commands.registry import Arg, Command, Context
from bot.commands.subscriptions import parse_id
from bot.errors import CommandError
from bot.matching.explain import explain, render_explanation
from bot.messages import Fields, Notice, PaperItem, PaperList, Reply, Tone
from bot.papers import Paper, normalize_arxiv_id
from bot.plural import plural
from bot.query import QueryError
from bot.services.lookup import lookup_papers, not_found_text, refuse_too_long, sample_id
from bot.services.queries import read_query
from bot.services.subscriptions import rows_in_scopes
from bot.storage.models import SubscriptionRow

MAX_ROWS = 25
_SAMPLE_ID_RE = re.compile(r"sample-\d{1,3}", re.IGNORECASE)


def is_paper_id(word: str) -> bool:
    """Whether one typed word is a paper id: then a bare number after it is a subscription.

    After title words a bare trailing number stays part of the title ("GPT 4").
    """
    return bool(normalize_arxiv_id(word) or _SAMPLE_ID_RE.fullmatch(word))


async def _scope_rows(ctx: Context) -> list[SubscriptionRow]:
    """The subscriptions `why` may read here: the channel's, then the caller's own."""
    scopes = (False, True) if not ctx.place.is_dm else (True,)
    return await rows_in_scopes(ctx.app, ctx.user, ctx.place, scopes)


async def _paper(
    ctx: Context, text: str, sub: str | None
) -> tuple[Paper, str | None] | list[Reply]:
    """Resolve the paper like /paper does (with its note on a slow source), or the replies
    to show instead."""
    refuse_too_long(text)
    found = await lookup_papers(ctx.app, text)
    prefix = ctx.incoming.prefix
    if found.papers and found.confident:
        return found.papers[0], found.note
    if found.papers:
        items = tuple(
            PaperItem(p, reasons=(ctx.invocation("why", paper=p.id, subscription=sub),))
            for p in found.papers
        )
        return [
            PaperList(
                title=f"Several papers match {text!r}; pick one:", items=items, ephemeral=True
            )
        ]
    if normalize_arxiv_id(text) is None and sample_id(text) is None:
        message = (
            f"No paper matches {text!r}. Give an arXiv id, a link, or more title words "
            f"(see {prefix}paper)."
        )
    else:
        # An id was given: say it is not stored (and whom else the bot asked), not that the
        # user should give an id.
        message = not_found_text(ctx.app, text, prefix)
    return [Notice(message, tone=Tone.WARNING, ephemeral=True)]


def _explain_all(rows: list[SubscriptionRow], paper: Paper) -> list[tuple[bool, str, str]]:
    """(matched, row name, term-by-term detail) for each subscription."""
    results: list[tuple[bool, str, str]] = []
    for row in rows:
        query = read_query(row.query)
        if isinstance(query, QueryError):
            results.append((False, f"#{row.id} ✗ {row.query}", f"no longer a valid query: {query}"))
            continue
        explanation = explain(query, paper)
        verdict = "✓ matches" if explanation.matched else "✗ does not match"
        detail = render_explanation(explanation).splitlines()[1:]
        results.append(
            (
                explanation.matched,
                f"#{row.id} {verdict}: {row.query}",
                "\n".join(line.strip() for line in detail) or "no terms",
            )
        )
    return results


async def why_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Show which terms of a subscription matched a paper, in which field, or why not."""
    prefix = ctx.incoming.prefix
    raw_id = args.get("subscription")
    sub_id = parse_id(raw_id, prefix) if raw_id else None
    rows = await _scope_rows(ctx)
    if sub_id is not None:
        rows = [r for r in rows if r.id == sub_id]
        if not rows:
            where = "of yours" if ctx.place.is_dm else "in this channel or of yours"
            raise CommandError(
                f"There is no subscription #{sub_id} {where}. List them with {prefix}subscriptions."
            )
    elif not rows:
        raise CommandError(
            "There are no subscriptions here to explain. Try a query on recent papers with "
            f"{prefix}search <query>, or subscribe with {prefix}subscribe <query>."
        )
    resolved = await _paper(ctx, args["paper"].strip(), str(sub_id) if sub_id else None)
    if isinstance(resolved, list):
        return resolved
    paper, slow_note = resolved
    # Explaining re-tokenises the paper per subscription: CPU work, kept off the event loop.
    results = await asyncio.to_thread(_explain_all, rows, paper)
    # Matching subscriptions first: those are what a reader asks about most.
    results.sort(key=lambda r: not r[0])
    shown = results[:MAX_ROWS]
    footer = None
    if len(results) > len(shown):
        footer = (
            f"and {len(results) - len(shown)} more; ask about one: "
            f"{ctx.invocation('why', paper=paper.id, subscription='<id>')}"
        )
    if await ctx.app.papers.get(paper.id) is None:
        # Found on arXiv only: the explanation holds, but no digest will ever list it.
        unstored = (
            f"{paper.id} is not among the stored Daily Papers (found on arXiv), so no digest "
            "lists it."
        )
        footer = f"{unstored} {footer}" if footer else unstored
    if slow_note:
        footer = f"{slow_note} {footer}" if footer else slow_note
    hits = sum(1 for r in results if r[0])
    rows_shown = [(name, value) for _, name, value in shown]
    recommended = await recommendation_reason(ctx, paper)
    if recommended:
        rows_shown.append(("For you", recommended))
    return [
        Fields(
            title=f"Why “{paper.title}” [{paper.id}] matches {hits} of "
            f"{plural(len(results), 'subscription')}",
            rows=tuple(rows_shown),
            footer=footer,
            ephemeral=True,
        )
    ]


COMMANDS = [
    Command(
        name="why",
        help="Explain which terms of your subscriptions match a paper, in which field, or why not.",
        usage="why <paper> [#subscription id]",
        handler=why_command,
        args=(
            Arg("paper", "An arXiv id, a link, or title words", rest=True),
            Arg(
                "subscription",
                "One subscription's number (default: every one here)",
                required=False,
                autocomplete="subscription",
                ref="#",
                bare_after=is_paper_id,
            ),
        ),
        ephemeral=True,
        slow=True,
        examples=("why 2412.17747", "why 2412.17747 #12", "why deliberation in latent space #3"),
    ),
]
