"""Generate Discord app commands from the core's command registry.

A plain registry command becomes a slash command; "group sub" names become a slash command
group with subcommands (`/digest time`). Names, descriptions, option types, choices, ranges,
required flags and autocomplete all come from the registry, so nothing is listed twice: a
switch such as `--dm` is a boolean option, `--days N` an integer one, a reference `#<id>` a
text one. Built through discord.py's public API: a callback whose signature lists the
options, and the `describe`, `rename`, `choices`, `autocomplete` and `default_permissions`
decorators on it.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from adapters.discord.interactions import incoming_of, run_command
from bot.commands.registry import Arg, Command, Registry

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)
Choice = app_commands.Choice
AppCommand = app_commands.Command[Any, ..., Any] | app_commands.Group | app_commands.ContextMenu
Callback = Callable[..., Coroutine[Any, Any, None]]
MANAGE_CHANNELS = discord.Permissions(manage_channels=True)
# Where a command is offered (Discord's `integration_types` and `contexts`). Look-ups and
# personal settings work wherever the user is: installed to a server (guild install) or to
# their account (user install), in servers, in the bot's DM, and in DMs and group DMs
# between people. A channel's settings only make sense where the bot is in the server, and
# in the bot's DM, where they are the user's own digest settings.
EVERYWHERE = app_commands.AppCommandContext(guild=True, dm_channel=True, private_channel=True)
ANY_INSTALL = app_commands.AppInstallationType(guild=True, user=True)
WHERE_THE_BOT_IS = app_commands.AppCommandContext(guild=True, dm_channel=True)
SERVER_INSTALL = app_commands.AppInstallationType(guild=True)
_NAME_RE = re.compile(r"[^-_\w]+")


def describe(text: str, limit: int = 100) -> str:
    """A description fitted to Discord's 1..100 characters."""
    text = " ".join(text.split()) or "…"
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def option_name(name: str) -> str:
    return _NAME_RE.sub("-", name.strip().lower())[:32] or "value"


class CommandBuilder:
    """Build the app commands for a registry, wired to a core."""

    def __init__(self, core: Core, *, defer_after: float | None = None) -> None:
        self.core = core
        self.defer_after = defer_after

    def build(self, registry: Registry) -> list[AppCommand]:
        out: list[AppCommand] = []
        for group_name, commands in registry.groups().items():
            if len(commands) == 1:
                # A group of one ("forget me") is a command of the group's name: a slash
                # group must hold subcommands, and "/forget" reads as well as "/forget me".
                out.append(self.command(commands[0], name=group_name))
                continue
            managers = all(_manager_only(c) for c in commands)
            # Contexts are a top-level command's: a group with any channel setting is offered
            # only where the bot is.
            channel = any(_manager_only(c) for c in commands)
            group = app_commands.Group(
                name=option_name(group_name),
                description=describe(
                    f"{group_name.capitalize()}: " + ", ".join(c.words[-1] for c in commands)
                ),
                default_permissions=MANAGE_CHANNELS if managers else None,
                allowed_contexts=WHERE_THE_BOT_IS if channel else EVERYWHERE,
                allowed_installs=SERVER_INSTALL if channel else ANY_INSTALL,
            )
            for c in commands:
                group.add_command(self.command(c, name=c.words[-1]))
            out.append(group)
        out.extend(self.message_command(c) for c in registry.all() if c.message_command)
        return out

    def message_command(self, command: Command) -> app_commands.ContextMenu:
        """The command on a message's Apps menu: the message's text is its one argument."""
        core, defer_after = self.core, self.defer_after
        [arg] = command.args

        async def callback(interaction: discord.Interaction, message: discord.Message) -> None:
            text = message_text(message)
            if not text:
                await interaction.response.send_message(
                    "That message has no text to look for papers in.",
                    ephemeral=True,
                    allowed_mentions=discord.AllowedMentions.none(),
                )
                return
            kwargs = {} if defer_after is None else {"defer_after": defer_after}
            await run_command(core, interaction, command, {arg.name: text}, **kwargs)

        return app_commands.ContextMenu(
            name=describe(command.message_command or command.name, 32),
            callback=callback,
            allowed_contexts=EVERYWHERE,
            allowed_installs=ANY_INSTALL,
        )

    def command(self, command: Command, *, name: str) -> app_commands.Command[Any, ..., Any]:
        callback = self._callback(command)
        if _manager_only(command):
            callback = app_commands.default_permissions(MANAGE_CHANNELS)(callback)
        channel = _manager_only(command)
        return app_commands.Command(
            name=option_name(name),
            description=describe(command.help),
            callback=callback,
            allowed_contexts=WHERE_THE_BOT_IS if channel else EVERYWHERE,
            allowed_installs=SERVER_INSTALL if channel else ANY_INSTALL,
        )

    def _callback(self, command: Command) -> Callback:
        """The command's callback, its signature and decorators declaring the options."""
        # Parameters arg0, arg1 ...: the registry's names need not be identifiers; `rename`
        # gives each option its registry name.
        by_param = {f"arg{i}": arg for i, arg in enumerate(command.args)}
        core, defer_after = self.core, self.defer_after

        async def callback(interaction: discord.Interaction, **values: Any) -> None:
            options = {by_param[k].name: str(v) for k, v in values.items() if v is not None}
            kwargs = {} if defer_after is None else {"defer_after": defer_after}
            await run_command(core, interaction, command, options, **kwargs)

        # discord.py reads the options from inspect.signature(), which honours __signature__.
        callback.__signature__ = _signature(by_param)  # type: ignore[attr-defined]
        decorate = [
            app_commands.describe(**{p: describe(a.description) for p, a in by_param.items()}),
            app_commands.rename(**{p: option_name(a.name) for p, a in by_param.items()}),
        ]
        # Discord takes at most 25 fixed choices; longer lists are offered by autocomplete.
        fixed = {
            p: [Choice(name=c, value=c) for c in a.choices]
            for p, a in by_param.items()
            if _fixed_choices(a)
        }
        completed = {
            p: self._completer(command, a)
            for p, a in by_param.items()
            if (a.autocomplete or a.choices) and not _fixed_choices(a)
        }
        if fixed:
            decorate.append(app_commands.choices(**fixed))
        if completed:
            decorate.append(app_commands.autocomplete(**completed))
        decorated: Callback = callback
        for decorator in decorate:
            decorated = decorator(decorated)
        return decorated

    def _completer(
        self, command: Command, arg: Arg
    ) -> Callable[[discord.Interaction, str], Coroutine[Any, Any, list[Choice[Any]]]]:
        core = self.core

        async def complete(interaction: discord.Interaction, current: str) -> list[Choice[Any]]:
            options = {
                k: str(v) for k, v in interaction.namespace if v is not None and k != arg.name
            }
            incoming = incoming_of(interaction, command, options)
            pairs = await core.complete(incoming, arg.name, str(current or ""))
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


def message_text(message: discord.Message) -> str:
    """What a message says: its text, then its embeds' titles and links (a bot's digest)."""
    parts = [message.content or ""]
    for embed in message.embeds:
        parts.extend(x for x in (embed.title, embed.url) if x)
    return "\n".join(p for p in parts if p).strip()[:4000]


def _manager_only(command: Command) -> bool:
    """Offered only to members with Manage Channels (server admins can change that).

    Commands with a personal scope are offered to everyone: a member without the
    permission subscribes themselves (the core's rule), so nobody needs the bot's DM first.
    """
    return command.manages_channel and not command.has_personal_scope


def _signature(by_param: dict[str, Arg]) -> inspect.Signature:
    params = [
        inspect.Parameter(
            "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
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
    return inspect.Signature(params)


def _fixed_choices(arg: Arg) -> bool:
    return arg.kind == "choice" and 0 < len(arg.choices) <= 25 and not arg.autocomplete


def _annotation(arg: Arg) -> Any:
    if arg.kind == "bool":
        return bool
    if arg.kind != "int":
        return str
    if arg.min_value is None and arg.max_value is None:
        return int
    return app_commands.Range[int, arg.min_value, arg.max_value]
