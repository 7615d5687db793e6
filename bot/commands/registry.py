"""Commands, declared once with arguments, usage and help; every adapter is generated from it.

A command and the context its handler gets refer to each other, so both live here; how one
argument is typed, shown and converted is in `args.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.commands.args import (
    MAX_REST,
    MAX_TOKEN,
    Arg,
    Style,
    convert,
    next_token,
    shown,
    take_named,
)
from bot.errors import UsageError
from bot.messages import Incoming, Place, Reply, User

if TYPE_CHECKING:
    from bot.app import App

__all__ = ["Arg", "Command", "Completer", "Context", "Handler", "Registry", "Style", "shown"]

Handler = Callable[["Context", dict[str, Any]], Awaitable[list[Reply]]]
# (context, typed prefix) -> up to 25 (label, value) choices
Completer = Callable[["Context", str], Awaitable[list[tuple[str, str]]]]


@dataclass(frozen=True)
class Command:
    name: str  # "paper", or "digest time" for a subcommand of the "digest" group
    help: str  # one line, shown to users
    usage: str  # as typed, e.g. "search <query> [--days 1-365]"; it names every flag
    handler: Handler
    args: tuple[Arg, ...] = ()
    manages_channel: bool = False  # changes a channel's subscriptions or digest settings
    # Sets the bot up to post in this channel: refused, with the adapter's reason, where the
    # bot cannot post there (a missing permission, not a member of the channel).
    posts_here: bool = False
    ephemeral: bool = False  # answers only the caller sees
    slow: bool = False  # may take over 3 s: adapters acknowledge first
    examples: tuple[str, ...] = ()
    # Offered on a chat message too, under this name (Discord's message commands): the
    # message's text goes into the command's only argument.
    message_command: str | None = None

    def __post_init__(self) -> None:
        for arg in self.args:
            typed = arg.flag or (f"{arg.ref}{arg.name}" if arg.ref else None)
            if typed and typed not in self.usage:
                raise ValueError(f"usage of {self.name!r} does not show {typed}")
        if self.message_command and len(self.args) != 1:
            raise ValueError(f"message command {self.name!r} must take exactly one argument")

    @property
    def has_personal_scope(self) -> bool:
        """It can act on the caller's own subscriptions instead of the channel's (`--dm`)."""
        return any(a.name == "dm" and a.kind == "bool" for a in self.args)

    @property
    def group(self) -> str:
        return self.name.split(" ", 1)[0]

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.name.split())

    def arg(self, name: str) -> Arg:
        for arg in self.args:
            if arg.name == name:
                return arg
        raise KeyError(f"{self.name!r} has no argument {name!r}")

    def parse_text(self, text: str) -> dict[str, Any]:
        """Split a typed argument string into this command's arguments and validate them."""
        remaining, values = take_named(self.args, text, Style.TYPED)
        remaining = remaining.strip()
        for arg in self.args:
            if not remaining:
                break
            if arg.named:
                continue
            if arg.rest:
                values[arg.name] = remaining
                remaining = ""
                break
            values[arg.name], remaining = next_token(remaining)
        if remaining:
            raise UsageError(f"Too many arguments: {shown(remaining)}.")
        return self.validate(values)

    def parse_options(self, options: Mapping[str, str]) -> dict[str, Any]:
        """Validate a platform's options, reading named arguments typed into a text option.

        Help and hints elsewhere show the typed forms ("agents --dm", "2412.17747 #12");
        typed into the option they would otherwise become query words, so "agents --dm"
        would subscribe the channel to "agents NOT dm". An option set explicitly wins.
        """
        text_arg = self._typed_into()
        raw = options.get(text_arg.name) if text_arg else None
        if text_arg is None or not isinstance(raw, str) or not raw.strip():
            return self.validate(options)
        rest, named = take_named(self.args, raw, Style.OPTIONS)
        if not named or any(options.get(k) not in (None, "") for k in named):
            return self.validate(options)
        return self.validate({**options, text_arg.name: rest, **named})

    def _typed_into(self) -> Arg | None:
        """The text option named arguments may be typed into: the last positional one."""
        positional = [a for a in self.args if not a.named]
        if not positional or positional[-1].kind != "text" or not any(a.named for a in self.args):
            return None
        return positional[-1]

    def validate(self, options: Mapping[str, str]) -> dict[str, Any]:
        """Check and convert already-split options."""
        known = {a.name for a in self.args}
        unknown = sorted(set(options) - known)
        if unknown:
            raise UsageError(f"Unknown option {unknown[0]!r}.")
        out: dict[str, Any] = {}
        for arg in self.args:
            raw = options.get(arg.name)
            raw = raw.strip() if isinstance(raw, str) else raw
            if raw in (None, ""):
                if arg.required:
                    raise UsageError(
                        f"Missing {arg.name}: {arg.description[:1].lower()}{arg.description[1:]}."
                    )
                continue
            raw = str(raw)
            limit = arg.max_length or (MAX_REST if arg.rest else MAX_TOKEN)
            if len(raw) > limit and arg.kind != "int":  # numbers get "at most N" instead
                raise UsageError(
                    f"{arg.name} is too long ({len(raw):,} characters; at most {limit:,})."
                )
            out[arg.name] = convert(arg, raw)
        return out

    def usage_in(self, style: Style) -> str:
        """The usage line in this style: "[--dm]" typed is "[dm:True]" as options."""
        if style is Style.TYPED:
            return self.usage
        line = self.usage
        for arg in self.args:
            if arg.kind == "bool" and arg.flag:
                line = line.replace(arg.flag, arg.form(style))
            elif arg.flag:
                line = line.replace(f"{arg.flag} ", f"{arg.name}:")
            elif arg.ref:
                line = line.replace(f"{arg.ref}{arg.name} ", f"{arg.name}:")
        return line

    def invocation(self, style: Style, **values: object) -> str:
        """The command with these arguments as the user writes it ("unsubscribe 7 --dm")."""
        parts = [self.name]
        for arg in sorted(self.args, key=lambda a: a.named):
            value = values.get(arg.name)
            if value is None or value is False:
                continue
            if arg.named or style is Style.OPTIONS:
                parts.append(arg.form(style, value))
            else:
                parts.append(str(value))
        return " ".join(parts)


@dataclass(frozen=True)
class Context:
    """What a command handler (or completer) gets besides its arguments."""

    app: App
    registry: Registry
    incoming: Incoming
    command: Command
    # The caller may not manage this channel, so the command acts on their personal scope
    # instead (Incoming.members_act_personally): the reply says so, and whom to ask.
    personal_fallback: bool = False

    @property
    def user(self) -> User:
        return self.incoming.user

    @property
    def place(self) -> Place:
        return self.incoming.place

    @property
    def style(self) -> Style:
        """Typed text, or a platform's options (Discord): hints are phrased for it."""
        return Style.TYPED if self.incoming.options is None else Style.OPTIONS

    def usage(self, command: Command | None = None) -> str:
        """The usage line as the user types it on this platform."""
        return self.incoming.prefix + (command or self.command).usage_in(self.style)

    def invocation(self, name: str, **values: object) -> str:
        """Command `name` with these arguments, written as this user gives them."""
        command = self.registry.get(name)
        if command is None:  # a registry without it (a test's): the bare name still reads
            return self.incoming.prefix + name
        return self.incoming.prefix + command.invocation(self.style, **values)


class Registry:
    def __init__(self, commands: Iterable[Command] = ()):
        self._commands: dict[str, Command] = {}
        self.completers: dict[str, Completer] = {}
        for c in commands:
            self.add(c)

    def add_completer(self, name: str, completer: Completer) -> None:
        self.completers[name] = completer

    def add(self, command: Command) -> None:
        if command.name in self._commands:
            raise ValueError(f"command {command.name!r} declared twice")
        if command.group in self._commands and command.group != command.name:
            raise ValueError(f"{command.group!r} is both a command and a group")
        self._commands[command.name] = command

    def all(self) -> list[Command]:
        return list(self._commands.values())

    def get(self, name: str) -> Command | None:
        return self._commands.get(name)

    def groups(self) -> dict[str, list[Command]]:
        """Commands by their first word ("digest" -> [digest time, digest max, ...])."""
        out: dict[str, list[Command]] = {}
        for c in self._commands.values():
            out.setdefault(c.group, []).append(c)
        return out

    def resolve(self, text: str) -> tuple[Command, str] | None:
        """Find the command `text` starts with (longest match); return it and the rest."""
        words = text.strip().split()
        for n in (2, 1):
            if len(words) >= n:
                name = " ".join(w.lower() for w in words[:n])
                if name in self._commands:
                    rest = text.strip()
                    for w in words[:n]:
                        rest = rest[len(w) :].lstrip()
                    return self._commands[name], rest
        return None
