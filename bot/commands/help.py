"""help: what the bot can do, generated from the registry."""

from __future__ import annotations

from typing import Any

from bot.commands.registry import Arg, Command, Context
from bot.errors import UsageError
from bot.messages import Fields, Reply


async def help_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Show the commands, or one command in detail."""
    prefix = ctx.incoming.prefix
    topic = args.get("command", "").strip().lstrip("/").lower()
    if topic:
        matches = [c for c in ctx.registry.all() if c.name == topic or c.group == topic]
        if not matches:
            raise UsageError(f"There is no command {topic!r}.")
        rows: list[tuple[str, str]] = []
        for c in matches:
            detail = c.help
            if c.examples:
                detail += "\nExamples: " + "; ".join(prefix + e for e in c.examples)
            rows.append((ctx.usage(c), detail))
        return [Fields(title=f"Help: {topic}", rows=tuple(rows), ephemeral=True)]
    # Usage lines as this user gives arguments ("[--dm]" typed, "[dm:True]" as options);
    # the examples stay typed, which a text option reads too.
    rows = [(ctx.usage(c), c.help) for c in ctx.registry.all()]
    return [
        Fields(
            title="paperbot — Hugging Face Daily Papers in chat",
            rows=tuple(rows),
            footer=f"Details and examples: {prefix}help <command>",
            ephemeral=True,
        )
    ]


COMMANDS = [
    Command(
        name="help",
        help="Show what the bot can do, or the details of one command.",
        usage="help [command]",
        handler=help_command,
        args=(Arg("command", "The command to explain", required=False),),
        ephemeral=True,
        examples=("help", "help subscribe"),
    ),
]
