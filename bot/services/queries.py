"""Subscription queries as text: parsed as typed (or a usage error) and as stored.

The one place a saved subscription's text becomes a `Query`: commands, the CLI and
delivery all read stored queries through `read_query`.
"""

from __future__ import annotations

import re

from bot.errors import UsageError
from bot.lookup.text import STOP_WORDS
from bot.query import And, Node, Not, Or, Query, QueryError, Text, parse_query
from bot.query.stored import load

# The options of query commands, wherever they are typed inside a query.
# Any word of the form --name: a query never means one (it would read as a double
# negation), so a mistyped option ("--when-crosed") is answered, not silently saved.
_FLAG_RE = re.compile(r"(?<!\S)(--[a-z][a-z0-9-]*)(?![\w-])", re.IGNORECASE)
_QUOTED_RE = re.compile(r'"[^"]*"')


def parse_or_usage(
    text: str, command: str, options: tuple[str, ...] = (), *, typed: bool = True
) -> Query:
    """Parse a query, turning a QueryError into a UsageError with a valid example.

    A command's option left inside the query ("diffusion --days 30 video") would otherwise
    parse as a double negation and silently match nothing. `typed`: the query was typed as
    text (so the advice is where to type the option), not given as a platform's option.
    """
    for m in _FLAG_RE.finditer(_QUOTED_RE.sub(" ", text)):
        flag = m.group(1).lower()
        if flag in options:
            where = "put it after the query" if typed else f"set the {flag[2:]} option"
            raise UsageError(f'"{flag}" is an option, not part of the query: {where}.')
        raise UsageError(f'"{flag}" is not part of a query, and {command} has no such option.')
    try:
        return parse_query(text.strip())
    except QueryError as exc:
        raise UsageError(f"{exc}. A valid query looks like: {exc.example}") from None


def read_query(text: str, stored: object = None, canonical: str = "") -> Query | QueryError:
    """A saved query: from its stored parsed form when that is current, else its text parsed,
    or the error parsing raises.

    A stored query may no longer parse (the language may have become stricter since it
    was saved): callers say so or skip it, rather than fail a whole listing or sweep.
    """
    loaded = load(stored, text, canonical) if stored is not None else None
    if loaded is not None:
        return loaded
    try:
        return _parse_saved(text)
    except QueryError as exc:
        return exc


def _parse_saved(text: str) -> Query:
    # Its own name, so a test can tell a saved query being parsed again from a typed one.
    return parse_query(text)


def _needs_real_word(node: Node, negated: bool = False) -> bool:
    """Tell whether `node` can only hold when a word other than a stop word is present.

    Like the parser's check that refuses "-diffusion", with words such as "the" or "of"
    counting as no term at all: nearly every abstract contains them.
    """
    if isinstance(node, Not):
        return _needs_real_word(node.child, not negated)
    if isinstance(node, And | Or):
        as_and = isinstance(node, And) != negated
        needs = (_needs_real_word(c, negated) for c in node.children)
        return any(needs) if as_and else all(needs)
    if isinstance(node, Text) and all(t in STOP_WORDS for t in node.tokens):
        return False
    return not negated


def refuse_stop_words(query: Query) -> None:
    """Refuse a query only stop words hold up ("the", "a OR of"), as "-diffusion" is refused."""
    if not _needs_real_word(query.root):
        raise UsageError(
            f"The query would match almost every paper: {query.text.strip()!r} is only common "
            "words (the, of, a, …); add a word it must contain. "
            "A valid query looks like: diffusion -audio"
        )
