"""A parsed query as plain JSON data, stored with its subscription and read back without
parsing: a cron `paperbot digest run` then never re-parses saved queries.

The form carries `VERSION`: a parser change that gives other trees bumps it, and a stored
tree of another version is parsed again from the text (`load` returns None).
"""

from __future__ import annotations

from typing import Any

from bot.query.ast import (
    HAS_WHAT,
    OPERATORS,
    And,
    Author,
    Claimed,
    Has,
    Node,
    Not,
    Or,
    Org,
    Query,
    Stars,
    Text,
    Upvotes,
)
from bot.query.names import PersonName

VERSION = 1


def dump(query: Query) -> dict[str, Any]:
    """The stored form of `query`: its tree as nested lists, and the form's version."""
    return {"v": VERSION, "tree": _dump(query.root)}


Leaves = dict[tuple[Any, ...], Node]  # a leaf's stored form -> the one object for it


def load(stored: object, text: str, canonical: str, leaves: Leaves | None = None) -> Query | None:
    """The query of a stored form, or None if it is missing, of another version or broken.

    `leaves`, kept across calls, makes equal leaves of many queries one object: a million
    subscriptions' queries hold a few thousand distinct terms, not millions of copies.
    """
    if not isinstance(stored, dict) or stored.get("v") != VERSION:
        return None
    try:
        root = _load(stored["tree"], {} if leaves is None else leaves)
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    return Query(root, text, canonical)


def _dump(node: Node) -> list[Any]:
    if isinstance(node, Text):
        return ["t", node.field, list(node.tokens), list(node.fuzzy)]
    if isinstance(node, Author):
        return ["a", list(node.name.given), node.name.surname]
    if isinstance(node, Upvotes):
        return ["u", node.op, node.value]
    if isinstance(node, Stars):
        return ["s", node.op, node.value]
    if isinstance(node, Has):
        return ["h", node.what]
    if isinstance(node, Org):
        return ["o", node.name]
    if isinstance(node, Claimed):
        return ["c", node.user]
    if isinstance(node, Not):
        return ["n", _dump(node.child)]
    return ["&" if isinstance(node, And) else "|", [_dump(c) for c in node.children]]


def _load(data: list[Any], leaves: Leaves) -> Node:
    kind = data[0]
    if kind == "&" or kind == "|":
        children = tuple([_load(c, leaves) for c in data[1]])
        return And(children) if kind == "&" else Or(children)
    if kind == "n":
        return Not(_load(data[1], leaves))
    # A leaf: looked up by its stored items as they are (most leaves were seen before), and
    # only built, each item checked and converted, the first time.
    key = (kind, *[tuple(x) if type(x) is list else x for x in data[1:]])
    leaf = leaves.get(key)
    if leaf is None:
        leaf = leaves[key] = _leaf(data)
    return leaf


def _leaf(data: list[Any]) -> Node:
    # Strict types: two stored leaves that share one object (their items are equal) must
    # be the same leaf, and 1 == 1.0 == True would otherwise read as "1", "1.0", "True".
    kind = data[0]
    if kind == "t":
        field, tokens, fuzzy = data[1:]
        if _all(str, [field, *tokens]) and _all(bool, fuzzy) and len(tokens) == len(fuzzy):
            return Text(field, tuple(tokens), tuple(fuzzy))
    elif kind == "a":
        given, surname = data[1:]
        if _all(str, [*given, surname]):
            return Author(PersonName(tuple(given), surname))
    elif kind == "u":
        op, value = data[1:]
        if type(op) is str and type(value) is int:
            return Upvotes(op, value)
    elif kind == "s":
        op, value = data[1:]
        if type(op) is str and op in OPERATORS and type(value) is int:
            return Stars(op, value)
    elif kind == "h":
        (what,) = data[1:]
        if type(what) is str and what in HAS_WHAT:
            return Has(what)
    elif kind in ("o", "c"):
        (name,) = data[1:]
        if type(name) is str and name:
            return Org(name) if kind == "o" else Claimed(name)
    raise ValueError(f"broken leaf {data!r}")


def _all(kind: type, items: list[Any]) -> bool:
    return all(type(x) is kind for x in items)
