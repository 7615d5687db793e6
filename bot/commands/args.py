"""A command's arguments: how each is declared, typed, shown in hints and converted.

Positional arguments are typed in order ("digest time 09:30 Europe/Berlin"). Named ones are
declared with the form a user types: a switch (`flag="--dm"`, kind "bool"), a value after a
flag (`flag="--days"`: "--days 30" or "--days=30") or a reference (`ref="#"`: "#12"). Typed,
they are read off the end of the line, where the usage line puts them (a switch may also
lead it: "--dm diffusion"); in their middle they are words of the query. On a platform with
options (Discord) each is an option of its own, and hints name that option instead.
"""

from __future__ import annotations

import io
import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from bot.errors import UsageError

ArgKind = Literal["text", "int", "choice", "bool"]
# No time, zone, id, day or flag comes near 100 characters, and no query or title near 1,000
# (queries stop at 300, with their own message): longer input is refused before any parser
# sees it, in a line that names the cap rather than echoing pages back.
MAX_TOKEN = 100
MAX_REST = 1000
_TRUE, _FALSE = ("true", "yes", "1"), ("false", "no", "0")


class Style(StrEnum):
    """How a user gives arguments, so hints and usage lines read the way they type them."""

    TYPED = "typed"  # one line of text (Slack, the console): "unsubscribe 7 --dm"
    OPTIONS = "options"  # one field per argument (Discord): "unsubscribe id:7 dm:True"


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
    flag: str | None = None  # typed as "--dm" (a "bool" switch) or "--days 30" (a value)
    ref: str | None = None  # typed as "#12"
    example: str = ""  # a value for hints ("--days needs a number of days, as in --days 30")
    # A reference typed without its "#" after exactly one word this accepts ("why <id> 12").
    bare_after: Callable[[str], bool] | None = None

    def __post_init__(self) -> None:
        if self.kind == "bool" and (self.flag is None or self.required):
            raise ValueError(f"switch {self.name!r} needs a flag and cannot be required")
        if self.flag is not None and not self.flag.startswith("--"):
            raise ValueError(f"flag {self.flag!r} of {self.name!r} must start with --")

    @property
    def named(self) -> bool:
        """Typed by name (a flag or a reference) rather than by position."""
        return self.flag is not None or self.ref is not None

    def form(self, style: Style, value: object = None) -> str:
        """This argument as the user writes it: "--days 30" typed, "days:30" as an option."""
        if style is Style.OPTIONS:
            shown_value = "True" if self.kind == "bool" else value
            return f"{self.name}:{shown_value}"
        if self.kind == "bool":
            return self.flag or ""
        if self.flag is not None:
            return f"{self.flag} {value}"
        return f"{self.ref or ''}{value}"

    def label(self, style: Style) -> str:
        """What to call it in a sentence: "--days" typed, "the days option" with options."""
        if style is Style.OPTIONS:
            return f"the {self.name} option"
        return self.flag or f"{self.ref or ''}<{self.name}>"

    def advice(self, style: Style) -> str:
        """How to give this argument: "add --dm" typed, "set the dm option" with options."""
        if style is Style.OPTIONS:
            return f"set {self.label(style)}"
        return f"add {self.form(style, self.example or f'<{self.name}>')}"


def is_true(raw: object) -> bool:
    """A switch's value as options carry it ("True", "true", True)."""
    return str(raw).strip().lower() in _TRUE


def shown(raw: str, limit: int = 40) -> str:
    """`raw` quoted for an error message, shortened: a user's typo is echoed, not a novel."""
    return repr(raw if len(raw) <= limit else raw[: limit - 1] + "…")


def take_named(args: Sequence[Arg], text: str, style: Style) -> tuple[str, dict[str, str]]:
    """Read the named arguments typed at the ends of `text`; return the rest and them."""
    named = [a for a in args if a.named]
    if not named:
        return text, {}
    stripped = text.strip()
    spans = [(m.start(), m.end()) for m in re.finditer(r"\S+", stripped)]
    words = [stripped[a:b] for a, b in spans]
    lo, hi = 0, len(words)
    found: dict[str, str] = {}
    while hi > lo:
        got = _trailing(named, words[lo:hi], found, style)
        if got is None:
            break
        arg, value, used = got
        found[arg.name] = value
        hi -= used
    switches = {a.flag: a for a in named if a.kind == "bool" and a.flag}
    while hi > lo and (switch := switches.get(words[lo].lower())) and switch.name not in found:
        found[switch.name] = "true"
        lo += 1
    if not found:
        return text, {}
    return (stripped[spans[lo][0] : spans[hi - 1][1]] if hi > lo else ""), found


def _trailing(
    named: list[Arg], words: list[str], found: dict[str, str], style: Style
) -> tuple[Arg, str, int] | None:
    """The named argument the last word(s) hold: (it, its value, how many words), or None."""
    last = words[-1]
    for arg in named:
        if arg.name in found:
            continue
        if arg.kind == "bool" and last.lower() == arg.flag:
            return arg, "true", 1
        if arg.ref and re.fullmatch(re.escape(arg.ref) + r"\d{1,18}", last):
            return arg, last[len(arg.ref) :], 1
        bare = arg.ref and arg.bare_after and len(words) == 2 and words[1].isdigit()
        if bare and arg.bare_after is not None and arg.bare_after(words[0]):
            return arg, last, 1
        if arg.kind != "bool" and arg.flag:
            flag = arg.flag
            if last.lower().startswith(flag + "="):
                return arg, _needs_value(arg, last[len(flag) + 1 :], style), 1
            if last.lower() == flag:
                _needs_value(arg, "", style)
            if len(words) > 1 and words[-2].lower() == flag:
                return arg, last, 2
    return None


def _needs_value(arg: Arg, value: str, style: Style) -> str:
    if value:
        return value
    what = f"a number of {arg.name}" if arg.kind == "int" else "a value"
    example = arg.example or f"<{arg.name}>"
    if style is Style.OPTIONS:
        raise UsageError(
            f"{arg.flag} needs {what}: {arg.advice(style)}, as in {arg.form(style, example)}."
        )
    raise UsageError(f"{arg.flag} needs {what}, as in {arg.form(style, example)}.")


def next_token(text: str) -> tuple[str, str]:
    """The first argument of `text` (quotes group words) and what follows it."""
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


def convert(arg: Arg, raw: str) -> Any:
    """Check one argument's text and convert it to its kind."""
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
    if arg.kind == "bool":
        lowered = raw.lower()
        if lowered not in _TRUE + _FALSE:
            raise UsageError(f"{arg.name} must be true or false, not {shown(raw)}.")
        return lowered in _TRUE
    return raw
