"""Generate Discord app commands from the core's command registry.

A plain registry command becomes a slash command; "group sub" names become a slash command
group with subcommands (`/digest time`). Names, descriptions, option types, choices, ranges,
required flags and autocomplete all come from the registry, so nothing is listed twice.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from adapters.discord.interactions import incoming_of, run_command
from bot.commands.registry import Arg, Command, Registry
from bot.delivery.timing import complete_zones
from bot.errors import UsageError

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)
Choice = app_commands.Choice
AppCommand = app_commands.Command[Any, ..., Any] | app_commands.Group
MANAGE_CHANNELS = discord.Permissions(manage_channels=True)
_NAME_RE = re.compile(r"[^-_\w]+")


def describe(text: str, limit: int = 100) -> str:
    """A description fitted to Discord's 1..100 characters."""
    text = " ".join(text.split()) or "…"
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def option_name(name: str) -> str:
    return _NAME_RE.sub("-", name.strip().lower())[:32] or "value"


def timezone_choices(current: str, zones: set[str] | None = None) -> list[Choice[str]]:
    """IANA zones containing `current` (case-insensitive), prefix matches first, at most 25."""
    # The core's cached list: rescanning the tzdata files on every keystroke took ~10 ms.
    return [Choice(name=z, value=z) for z in complete_zones(current, 25, zones)]


class CommandBuilder:
    """Build the app commands for a registry, wired to a core."""

    def __init__(self, core: Core, *, defer_after: float | None = None) -> None:
        self.core = core
        self.defer_after = defer_after

    def build(self, registry: Registry) -> list[AppCommand]:
        out: list[AppCommand] = []
        for group_name, commands in registry.groups().items():
            if len(commands) == 1 and commands[0].name == group_name:
                out.append(self.command(commands[0], name=group_name))
                continue
            group = app_commands.Group(
                name=option_name(group_name),
                description=describe(
                    f"{group_name.capitalize()}: " + ", ".join(c.words[-1] for c in commands)
                ),
            )
            if all(c.manages_channel for c in commands):
                group.default_permissions = MANAGE_CHANNELS
            for c in commands:
                group.add_command(self.command(c, name=c.words[-1]))
            out.append(group)
        return out

    def command(self, command: Command, *, name: str) -> app_commands.Command[Any, ..., Any]:
        cmd: app_commands.Command[Any, ..., Any] = app_commands.Command(
            name=option_name(name),
            description=describe(command.help),
            callback=self._callback(command),
        )
        if command.manages_channel:
            cmd.default_permissions = MANAGE_CHANNELS
        return cmd

    def _callback(self, command: Command) -> Callable[..., Coroutine[Any, Any, None]]:
        # discord.py reads the options from the callback's signature, so build one: keyword
        # parameters arg0, arg1 ... renamed to the registry's option names.
        by_param = {f"arg{i}": arg for i, arg in enumerate(command.args)}
        core, defer_after = self.core, self.defer_after

        async def callback(interaction: discord.Interaction, **values: Any) -> None:
            options = {by_param[k].name: str(v) for k, v in values.items() if v is not None}
            options = typed_flags(command, options)
            kwargs = {} if defer_after is None else {"defer_after": defer_after}
            await run_command(core, interaction, command, options, **kwargs)

        params = [
            inspect.Parameter(
                "interaction",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=discord.Interaction,
            )
        ]
        for pname, arg in by_param.items():
            params.append(
                inspect.Parameter(
                    pname,
                    inspect.Parameter.KEYWORD_ONLY,
                    annotation=_annotation(arg),
                    default=inspect.Parameter.empty if arg.required else None,
                )
            )
        callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        f: Any = callback
        f.__discord_app_commands_param_description__ = {
            p: describe(a.description) for p, a in by_param.items()
        }
        f.__discord_app_commands_param_rename__ = {
            p: option_name(a.name) for p, a in by_param.items()
        }
        # Discord takes at most 25 fixed choices; longer lists are offered by autocomplete.
        f.__discord_app_commands_param_choices__ = {
            p: [Choice(name=c, value=c) for c in a.choices]
            for p, a in by_param.items()
            if _fixed_choices(a)
        }
        f.__discord_app_commands_param_autocomplete__ = {
            p: self._completer(command, a)
            for p, a in by_param.items()
            if (a.autocomplete or a.choices) and not _fixed_choices(a)
        }
        return callback

    def _completer(
        self, command: Command, arg: Arg
    ) -> Callable[[discord.Interaction, str], Awaitable[list[Choice[Any]]]]:
        core = self.core

        async def complete(interaction: discord.Interaction, current: str) -> list[Choice[Any]]:
            typed = str(current or "")
            if arg.autocomplete == "timezone":
                return timezone_choices(typed)
            if arg.choices and not arg.autocomplete:
                hits = [c for c in arg.choices if typed.lower() in c.lower()]
                return [Choice(name=c, value=c) for c in hits[:25]]
            options = {
                k: str(v)
                for k, v in interaction.namespace.__dict__.items()
                if v is not None and k != arg.name
            }
            incoming = incoming_of(interaction, command, options)
            pairs = await core.complete(incoming, arg.name, typed)
            choices: list[Choice[Any]] = []
            for label, value in pairs[:25]:
                if arg.kind == "int":
                    if not value.lstrip("-").isdigit():
                        continue  # an integer option only accepts whole numbers
                    choices.append(Choice(name=describe(label), value=int(value)))
                else:
                    choices.append(Choice(name=describe(label), value=value[:100]))
            return choices

        return complete


def typed_flags(command: Command, options: dict[str, str]) -> dict[str, str]:
    """Read flags typed into the first text option ("agents --dm", "2412.17747 #12").

    Help and the core's hints show the typed forms (`/unsubscribe <id> --dm`,
    `/why <paper> #<id>`, `--days 30`); typed into a Discord option they would otherwise
    become query words, so "agents --dm" would subscribe the channel to "agents NOT dm".
    Only commands that read such flags (a parse_text of their own) are touched, and an
    option the user set explicitly always wins.
    """
    if type(command).parse_text is Command.parse_text or not command.args:
        return options
    first = command.args[0]
    if first.kind != "text" or not options.get(first.name):
        return options
    try:
        parsed = command.parse_text(options[first.name])
    except (UsageError, ValueError):
        return options  # the core answers with the usage when it validates
    extra = {k: str(v) for k, v in parsed.items() if k != first.name}
    if not extra or any(k in options for k in extra):
        return options
    out = {k: v for k, v in options.items() if k != first.name}
    if parsed.get(first.name) is not None:
        out[first.name] = str(parsed[first.name])
    return {**out, **extra}


def _fixed_choices(arg: Arg) -> bool:
    return arg.kind == "choice" and 0 < len(arg.choices) <= 25 and not arg.autocomplete


def _annotation(arg: Arg) -> Any:
    if arg.kind != "int":
        return str
    if arg.min_value is None and arg.max_value is None:
        return int
    return app_commands.Range[int, arg.min_value, arg.max_value]
