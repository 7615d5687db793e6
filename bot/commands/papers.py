"""paper and papers: look up one paper, list a day's Daily Papers."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from bot.commands.registry import Arg, Command, Context
from bot.errors import UsageError
from bot.messages import Notice, PaperCard, PaperItem, PaperList, Reply, Tone
from bot.plural import plural
from bot.services.lookup import MAX_QUERY, lookup_papers, not_found_text, refuse_too_long
from bot.services.papers import DEFAULT_LIMIT, MAX_LIMIT, day_papers, parse_day
from bot.services.references import find_references, title_in

MAX_FOUND = 3  # cards "find" answers with, at most


async def paper_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Show one paper: by arXiv id, arXiv or Hugging Face URL, or title words."""
    query = args["query"].strip()
    refuse_too_long(query)
    found = await lookup_papers(ctx.app, query)
    if found.papers and found.confident:
        paper = found.papers[0]
        # A slow Hugging Face explains the missing Daily Papers data better than "not
        # featured" would: it may well be featured.
        note = found.note or (
            None if paper.featured_on else "Not featured on Hugging Face Daily Papers."
        )
        return [PaperCard(paper, note=note)]
    prefix = ctx.incoming.prefix
    if found.papers:
        items = tuple(PaperItem(p, reasons=(f"{prefix}paper {p.id}",)) for p in found.papers)
        return [
            PaperList(
                title=f"Several papers match {query!r}; pick one:",
                items=items,
                footer=found.note,
                ephemeral=True,
                pick="paper",
            )
        ]
    text = not_found_text(ctx.app, query, prefix)
    return [Notice(text, tone=Tone.WARNING, ephemeral=True)]


async def find_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Find the papers a text names: arXiv ids, arXiv or Hugging Face links, else a title."""
    text = args["text"]
    ids = find_references(text)
    prefix = ctx.incoming.prefix
    if ids:
        out: list[Reply] = []
        missing: list[str] = []
        for arxiv_id in ids[:MAX_FOUND]:
            found = await lookup_papers(ctx.app, arxiv_id)
            if found.papers:
                out.append(PaperCard(found.papers[0], note=found.note, ephemeral=True))
            else:
                missing.append(arxiv_id)
        notes = []
        if missing:
            notes.append(f"No paper found for {', '.join(missing)}.")
        if len(ids) > MAX_FOUND:
            rest = ", ".join(ids[MAX_FOUND:])
            notes.append(
                f"The text names {len(ids)} papers; the others: {rest} ({prefix}paper <id>)."
            )
        if notes:
            tone = Tone.WARNING if not out else Tone.INFO
            out.append(Notice(" ".join(notes), tone=tone, ephemeral=True))
        return out
    title = title_in(text)
    if title is None:
        return [
            Notice(
                "There is no arXiv id, arXiv or Hugging Face link, or title in that text.",
                tone=Tone.WARNING,
                ephemeral=True,
            )
        ]
    if len(title) > MAX_QUERY:
        return [
            Notice(
                "That text has no arXiv id or arXiv/Hugging Face link, and it is too long to be "
                f"a title. Look a paper up with {prefix}paper <title words>.",
                tone=Tone.WARNING,
                ephemeral=True,
            )
        ]
    replies = await paper_command(ctx, {"query": title})
    # A look-up's card answers publicly; what "find" answers only the asker sees, a paper
    # picked from its choice too (find with the id gives the card, privately).
    return [
        dataclasses.replace(r, ephemeral=True, pick="find")
        if isinstance(r, PaperList)
        else dataclasses.replace(r, ephemeral=True)
        for r in replies
    ]


async def papers_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """List a day's Daily Papers, most upvoted first."""
    app = ctx.app
    when = args.get("day", "today")
    limit = args.get("limit")
    if limit is None and re.fullmatch(r"\d{1,3}", str(when)):
        when, limit = "today", int(when)  # "/papers 20" means today's top 20
    if limit is None:
        limit = DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise UsageError(f"limit must be from 1 to {MAX_LIMIT}.")
    today = app.clock().date()
    day = parse_day(str(when), today)
    papers = await day_papers(app, day, today)
    label = f"{day.strftime('%A')} {day.isoformat()}"
    if not papers:
        latest = await app.papers.latest_day()
        hint = ""
        if latest and latest != day:
            hint = (
                f" The latest day with papers is {latest.isoformat()}: "
                f"try {ctx.incoming.prefix}papers {latest.isoformat()}."
            )
        weekend = " (Daily Papers has no list on weekends)" if day.weekday() >= 5 else ""
        return [Notice(f"No Daily Papers for {label} yet{weekend}.{hint}", tone=Tone.INFO)]
    shown = papers[:limit]
    more = len(papers) - len(shown)
    footer = (
        f"and {more} more — "
        f"{ctx.incoming.prefix}papers {day.isoformat()} {min(len(papers), MAX_LIMIT)}"
        if more
        else None
    )
    return [
        PaperList(
            title=f"Daily Papers — {label} ({plural(len(papers), 'paper')})",
            items=tuple(PaperItem(p) for p in shown),
            footer=footer,
        )
    ]


COMMANDS = [
    Command(
        name="paper",
        help="Show one paper: by arXiv id, arXiv/Hugging Face link, or title words.",
        usage="paper <arXiv id | URL | title words>",
        handler=paper_command,
        args=(
            Arg("query", "An arXiv id, an arXiv or Hugging Face link, or title words", rest=True),
        ),
        slow=True,
        examples=("paper 2412.17747", "paper deliberation in latent space"),
    ),
    Command(
        name="find",
        help="Find the papers a text names: arXiv ids, arXiv/Hugging Face links, or a title.",
        usage="find <text>",
        handler=find_command,
        args=(
            Arg(
                "text",
                "A message or any text with arXiv ids, links, or a paper's title",
                rest=True,
                max_length=4000,
            ),
        ),
        ephemeral=True,
        slow=True,
        examples=("find see arxiv.org/abs/2412.17747 and 2501.00001",),
        # On Discord also a message command: right-click a message → Apps → Find paper.
        message_command="Find paper",
    ),
    Command(
        name="papers",
        help="List a day's Daily Papers, most upvoted first.",
        usage="papers [today | yesterday | YYYY-MM-DD] [limit]",
        handler=papers_command,
        args=(
            Arg("day", "today, yesterday or YYYY-MM-DD (UTC)", required=False),
            Arg(
                "limit",
                f"How many papers to show (1-{MAX_LIMIT})",
                required=False,
                kind="int",
                min_value=1,
                max_value=MAX_LIMIT,
            ),
        ),
        slow=True,
        examples=("papers today", "papers 2025-01-15 20"),
    ),
]
