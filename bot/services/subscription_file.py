"""The subscriptions file: what `subscriptions export` writes and `subscriptions import` reads.

Format, version 1 (plain UTF-8 text, documented in the README):

    # paperbot subscriptions v1
    # of: #papers
    # digest: 09:00 Europe/Berlin, every day, at most 10 papers, min upvotes 0
    diffusion -audio
    "world model" upvotes>=20

One query a line, in the query language `subscribe` takes. Lines starting with "#" are
comments: the header names the version, the others record the scope and its settings for a
reader (import restores queries only; settings have their own commands). Text is the format,
not JSON, so the same thing can be pasted back: chat apps keep lines, and where a command
option cannot hold a line break (Discord) queries may be separated by ";" instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.delivery.timing import WEEKDAYS
from bot.delivery.trending import FLAG, threshold
from bot.errors import UsageError
from bot.query import Query, QueryError, parse_query
from bot.services.queries import refuse_stop_words
from bot.storage.destinations_repo import USER
from bot.storage.models import DestinationRow, SubscriptionRow

VERSION = 1
HEADER = f"# paperbot subscriptions v{VERSION}"
_HEADER_RE = re.compile(r"#\s*paperbot subscriptions v(\d{1,6})\s*", re.IGNORECASE)
# A code fence around pasted text (Discord and Slack show an export's copy as one).
_FENCE_RE = re.compile(r"`{3}[A-Za-z]*")
# Most invalid lines a reply lists one by one; the rest are counted.
MAX_LISTED = 10


@dataclass(frozen=True)
class Invalid:
    """A line that is not a query: its number (1-based), its text and the one-line reason."""

    line: int
    text: str
    reason: str


@dataclass(frozen=True)
class Parsed:
    """An import's lines read: the queries (with their line numbers) and the invalid lines."""

    queries: tuple[tuple[int, Query], ...]
    invalid: tuple[Invalid, ...]
    trending: frozenset[int] = frozenset()  # line numbers of `--when-crossed` queries


def settings_lines(dest: DestinationRow) -> list[str]:
    """The scope and its delivery settings, as comment lines of an export."""
    if dest.kind == USER:
        lines = ["# of: you personally (alerts by DM)"]
        if dest.alerts_mode == "instant":
            lines.append("# alerts: instant")
        elif dest.digest_weekday is not None:
            day = WEEKDAYS[dest.digest_weekday]
            lines.append(f"# alerts: weekly on {day} at {dest.digest_time} {dest.timezone}")
        else:
            lines.append(f"# alerts: daily at {dest.digest_time} {dest.timezone}")
        return lines
    days = "weekdays" if dest.weekdays_only else "every day"
    if dest.digest_weekday is not None:
        days = f"weekly on {WEEKDAYS[dest.digest_weekday]}"
    name = f"#{dest.name}" if dest.name else "this channel"
    return [
        f"# of: {name}",
        f"# digest: {dest.digest_time} {dest.timezone}, {days}, at most {dest.digest_max} "
        f"papers, min upvotes {dest.min_upvotes}" + (", paused" if dest.paused else ""),
    ]


def export_text(dest: DestinationRow, rows: list[SubscriptionRow]) -> str:
    """The whole file for this destination's subscriptions, oldest first."""
    lines = [HEADER, *settings_lines(dest)]
    # One line a query: a saved query never holds a line break, but say so rather than trust.
    lines.extend(" ".join(r.query.split()) + (f" {FLAG}" if r.when_crossed else "") for r in rows)
    return "\n".join(lines) + "\n"


def parts(text: str, limit: int) -> list[str]:
    """Split a file into pieces of whole lines, each at most `limit` characters."""
    out: list[str] = []
    current = ""
    for line in text.splitlines():
        if current and len(current) + 1 + len(line) > limit:
            out.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        out.append(current)
    return out


def entries(text: str) -> list[tuple[int, str]]:
    """The (line number, text) of each query-or-comment entry, in order.

    Lines break at line breaks, and at ";" outside double quotes (a phrase may hold one).
    A ";"-separated entry is numbered as the next line, as if it had been written on one.
    """
    out: list[tuple[int, str]] = []
    for raw_line in text.splitlines():
        stripped = raw_line.strip()
        if stripped.startswith("#"):
            out.append((len(out) + 1, stripped))  # a comment may hold ";" freely
            continue
        piece: list[str] = []
        quoted = False
        for ch in raw_line:
            if ch == '"' or ch in "“”":
                quoted = not quoted
            if ch == ";" and not quoted:
                out.append((len(out) + 1, "".join(piece).strip()))
                piece = []
            else:
                piece.append(ch)
        out.append((len(out) + 1, "".join(piece).strip()))
    return out


def read(text: str) -> Parsed:
    """Read pasted queries or an export; a file of a newer version is refused whole."""
    queries: list[tuple[int, Query]] = []
    invalid: list[Invalid] = []
    trending: set[int] = set()
    for number, entry in entries(text):
        if not entry or _FENCE_RE.fullmatch(entry):
            continue
        if entry.startswith("#"):
            header = _HEADER_RE.fullmatch(entry)
            if header and int(header.group(1)) > VERSION:
                raise UsageError(
                    f"This file is format v{header.group(1)}, from a newer paperbot; this one "
                    f"reads v{VERSION}. Paste its queries alone, one a line."
                )
            continue
        typed = entry
        crossed = entry.lower().endswith(" " + FLAG)
        if crossed:
            entry = entry[: -len(FLAG)].rstrip()
        try:
            query = parse_query(entry)
            refuse_stop_words(query)
            if crossed and threshold(query) is None:
                raise UsageError(f"{FLAG} needs an upvote threshold (upvotes>=N) ANDed in.")
        except (QueryError, UsageError) as exc:
            invalid.append(Invalid(number, typed, _first_sentence(str(exc))))
            continue
        queries.append((number, query))
        if crossed:
            trending.add(number)
    return Parsed(tuple(queries), tuple(invalid), frozenset(trending))


def _first_sentence(reason: str) -> str:
    """One line: the reason without the advice after it."""
    line = reason.splitlines()[0] if reason else "not a query"
    return line.split(". A valid query", 1)[0].rstrip(".")
