"""help: what the bot can do, generated from the registry."""

from __future__ import annotations

from typing import Any

from bot.commands.registry import Arg, Command, Context
from bot.errors import UsageError
from bot.messages import Fields, Reply, Section

# Help's sections, by command group, in the order a newcomer needs them; a group missing
# here (a new command) still shows, under MORE.
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Find papers", ("paper", "papers", "find", "search", "why")),
    ("Subscribe", ("subscribe", "unsubscribe", "subscriptions")),
    ("This channel's digest", ("digest",)),
    ("Your own alerts", ("alerts", "mute")),
    ("Your taste", ("rate", "save", "unsave", "saved", "recommend", "similar", "forget")),
    ("Status and help", ("status", "help")),
)
MORE = "More"
EXAMPLES = "Examples"
# The overview's examples: the first of each of these groups' first command.
EXAMPLE_GROUPS = ("paper", "search", "subscribe", "digest", "alerts")


async def help_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Show the commands, or one command in detail."""
    prefix = ctx.incoming.prefix
    topic = args.get("command", "").strip().lstrip("/").lower()
    if topic:
        matches = [c for c in ctx.registry.all() if c.name == topic or c.group == topic]
        if not matches:
            raise UsageError(f"There is no command {topic!r}.")
        rows: list[tuple[str, str]] = []
        sections: list[Section] = []
        for c in matches:
            detail = c.help
            if c.examples:
                detail += "\nExamples: " + "; ".join(prefix + e for e in c.examples)
            rows.append((ctx.usage(c), detail))
            entries = [(ctx.usage(c), c.help), *((prefix + e, "") for e in c.examples)]
            sections.append(Section(c.name, tuple(entries)))
        return [
            Fields(
                title=f"Help: {topic}",
                rows=tuple(rows),
                ephemeral=True,
                sections=tuple(sections),
            )
        ]
    # Usage lines as this user gives arguments ("[--dm]" typed, "[dm:True]" as options);
    # the examples stay typed, which a text option reads too.
    commands = ctx.registry.all()
    rows = [(ctx.usage(c), c.help) for c in commands]
    return [
        Fields(
            title="paperbot — Hugging Face Daily Papers in chat",
            rows=tuple(rows),
            footer=f"Details and examples: {prefix}help <command>",
            ephemeral=True,
            sections=overview(ctx, commands),
        )
    ]


def overview(ctx: Context, commands: list[Command]) -> tuple[Section, ...]:
    """Every command under its section, then a few examples to copy."""
    placed = {group for _, groups in SECTIONS for group in groups}
    out: list[Section] = []
    for title, groups in (*SECTIONS, (MORE, ())):
        entries = tuple(
            (ctx.usage(c), c.help)
            for c in commands
            if (c.group in groups) or (title == MORE and c.group not in placed)
        )
        if entries:
            out.append(Section(title, entries))
    prefix = ctx.incoming.prefix
    firsts: dict[str, str] = {}
    for c in commands:
        if c.group in EXAMPLE_GROUPS and c.examples:
            firsts.setdefault(c.group, prefix + c.examples[0])
    examples = [firsts[g] for g in EXAMPLE_GROUPS if g in firsts]
    if examples:
        out.append(Section(EXAMPLES, tuple((e, "") for e in examples)))
    return tuple(out)


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
