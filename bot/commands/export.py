"""export saved: the reader's saved papers as a file for a reference manager."""

from __future__ import annotations

from typing import Any

from bot.commands.feedback import person
from bot.commands.registry import Arg, Command, Context
from bot.export.formats import FORMATS
from bot.messages import FileReply, Notice, Reply
from bot.plural import plural


async def export_saved_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Send your saved papers as a BibTeX, RIS or JSON file."""
    fmt = FORMATS[args["format"]]
    ids = await ctx.app.feedback.saved(person(ctx))
    by_id = {p.id: p for p in await ctx.app.papers.get_many(ids)}
    papers = [by_id[pid] for pid in ids if pid in by_id]  # most recently saved first
    if not papers:
        # No empty file: a reader who opens one would think the export failed.
        return [
            Notice(
                "You have no saved papers to export. Save one with "
                f"{ctx.incoming.prefix}save <id>, then export again.",
                ephemeral=True,
            )
        ]
    return [
        FileReply(
            filename=f"paperbot-saved.{fmt.extension}",
            content=fmt.write(papers).encode("utf-8"),
            media_type=fmt.media_type,
            text=f"Your {plural(len(papers), 'saved paper')} as {fmt.label}.",
            ephemeral=True,
        )
    ]


COMMANDS = [
    Command(
        name="export saved",
        help="Send your saved papers as a file: bibtex, ris or json.",
        usage="export saved <bibtex | ris | json>",
        handler=export_saved_command,
        args=(Arg("format", "bibtex, ris or json", kind="choice", choices=tuple(FORMATS)),),
        ephemeral=True,
        examples=("export saved bibtex",),
    ),
]
