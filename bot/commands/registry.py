"""Commands, declared once with arguments, usage and help; every adapter is generated from it."""

from __future__ import annotations

import io
import re
import shlex
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from bot.errors import UsageError

if TYPE_CHECKING:
    from bot.commands.context import Context
    from bot.messages import Reply

ArgKind = Literal["text", "int", "choice"]
# No time, zone, id, day or flag comes near 100 characters, and no query or title near 1,000
# (queries stop at 300, with their own message): longer input is refused before any parser
# sees it, in a line that names the cap rather than echoing pages back.
MAX_TOKEN = 100
MAX_REST = 1000
Handler = Callable[["Context", dict[str, Any]], Awaitable["list[Reply]"]]
# (context, typed prefix) -> up to 25 (label, value) choices
Completer = Callable[["Context", str], Awaitable[list[tuple[str, str]]]]


@dataclass(frozen=True)
class Arg:
    name: str
    description: str
    required: bool = True
    kind: ArgKind = "text"
    choices: tuple[str, ...] = ()
    rest: bool = False  # the last argument may swallow the rest of the line ("title words")
    autocomplete: str | None = None  # "subscription" | "timezone"
    min_value: int | None = None
    max_value: int | None = None
    max_length: int | None = None  # default: MAX_TOKEN, or MAX_REST for a `rest` argument


@dataclass(frozen=True)
class Command:
    name: str  # "paper", or "digest time" for a subcommand of the "digest" group
    help: str  # one line, shown to users
    usage: str  # e.g. "paper <arXiv id | URL | title words>"
    handler: Handler
    args: tuple[Arg, ...] = ()
    manages_channel: bool = False  # changes a channel's subscriptions or digest settings
    # Sets the bot up to post in this channel: refused, with the adapter's reason, where the
    # bot cannot post there (a missing permission, not a member of the channel).
    posts_here: bool = False
    ephemeral: bool = False  # answers only the caller sees
    slow: bool = False  # may take over 3 s: adapters acknowledge first
    examples: tuple[str, ...] = ()

    @property
    def group(self) -> str:
        return self.name.split(" ", 1)[0]

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.name.split())

    def parse_text(self, text: str) -> dict[str, Any]:
        """Split a typed argument string into this command's arguments and validate them."""
        values: dict[str, str] = {}
        remaining = text.strip()
        for arg in self.args:
            if not remaining:
                break
            if arg.rest:
                values[arg.name] = remaining
                remaining = ""
                break
            token, remaining = _next_token(remaining)
            values[arg.name] = token
        if remaining:
            raise UsageError(f"Too many arguments: {shown(remaining)}.")
        return self.validate(values)

    def validate(self, options: Mapping[str, str]) -> dict[str, Any]:
        """Check and convert already-split options (Discord's, or parse_text's)."""
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
            out[arg.name] = _convert(arg, raw)
        return out


def _next_token(text: str) -> tuple[str, str]:
    if text[0] in "\"'":
        try:
            # Our own stream, to read the rest from: shlex types its instream as read(1) only.
            stream = io.StringIO(text)
            lexer = shlex.shlex(stream, posix=True)
            lexer.whitespace_split = True
            token = lexer.get_token() or ""
            return token, stream.read().strip()
        except ValueError:
            raise UsageError("A quote is not closed.") from None
    # Any whitespace separates, as it does between the command's own words (resolve()).
    head, *tail = text.split(None, 1)
    return head, tail[0].strip() if tail else ""


_INT = re.compile(r"[+-]?[0-9]+")
_MAX_DIGITS = 18


def shown(raw: str, limit: int = 40) -> str:
    """`raw` quoted for an error message, shortened: a user's typo is echoed, not a novel."""
    return repr(raw if len(raw) <= limit else raw[: limit - 1] + "…")


def _convert(arg: Arg, raw: str) -> Any:
    if arg.kind == "int":
        # ASCII digits only: int() would also take "٣", "1_000" and " 7 ", and raise on
        # 4,301 digits; a number too long to matter is as good as "too large".
        if not _INT.fullmatch(raw):
            raise UsageError(f"{arg.name} must be a whole number, not {shown(raw)}.")
        digits = raw.lstrip("+-").lstrip("0")
        if len(digits) > _MAX_DIGITS:
            value = -(10**_MAX_DIGITS) if raw.startswith("-") else 10**_MAX_DIGITS
        else:
            value = int(raw)
        if arg.min_value is not None and value < arg.min_value:
            raise UsageError(f"{arg.name} must be at least {arg.min_value}.")
        if arg.max_value is not None and value > arg.max_value:
            raise UsageError(f"{arg.name} must be at most {arg.max_value}.")
        return value
    if arg.kind == "choice":
        lowered = raw.lower()
        if lowered not in arg.choices:
            raise UsageError(f"{arg.name} must be one of: {', '.join(arg.choices)}.")
        return lowered
    return raw


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
