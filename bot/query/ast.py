"""The immutable query tree and its canonical text form."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.query.names import PersonName
from bot.query.text import fuzzy_eligible

FIELD_NAMES = ("title", "abstract", "author", "keyword", "has", "org")
# What has: can test, each a fact of the Daily Papers record (bot.query.facts).
HAS_WHAT = ("code", "model", "dataset", "space")
OPERATORS = (">=", "<=", ">", "<", "=")
_RESERVED = frozenset({"and", "or", "not", "upvotes"})


@dataclass(frozen=True, slots=True)
class Text:
    """Words that must appear consecutively (as a phrase or run together) in a text field.

    `field` is "any" (title, abstract or keywords), "title", "abstract" or "keyword";
    `fuzzy[i]` says whether `tokens[i]` tolerates one typo.
    """

    field: str
    tokens: tuple[str, ...]
    fuzzy: tuple[bool, ...]

    @property
    def key(self) -> str:
        """Return the words run together, as "selfsupervised"."""
        return "".join(self.tokens)

    def __str__(self) -> str:
        prefix = "" if self.field == "any" else f"{self.field}:"
        return prefix + _render_words(self.tokens, self.fuzzy)


@dataclass(frozen=True, slots=True)
class Author:
    """A person among the paper's authors."""

    name: PersonName

    def __str__(self) -> str:
        if self.name.given:
            return f'author:"{self.name}"'
        surname = self.name.surname
        return f'author:"{surname}"' if surname in _RESERVED else f"author:{surname}"


@dataclass(frozen=True, slots=True)
class Upvotes:
    """A comparison on the paper's upvote count."""

    op: str
    value: int

    def __str__(self) -> str:
        return f"upvotes{self.op}{self.value}"

    def test(self, upvotes: int) -> bool:
        """Tell whether `upvotes` satisfies the comparison."""
        match self.op:
            case ">=":
                return upvotes >= self.value
            case ">":
                return upvotes > self.value
            case "<=":
                return upvotes <= self.value
            case "<":
                return upvotes < self.value
        return upvotes == self.value


def compare(op: str, left: int, right: int) -> bool:
    """`left op right` for the comparison operators of the language."""
    match op:
        case ">=":
            return left >= right
        case ">":
            return left > right
        case "<=":
            return left <= right
        case "<":
            return left < right
    return left == right


@dataclass(frozen=True, slots=True)
class Stars:
    """A comparison on the stars of the paper's GitHub repository (none: never holds)."""

    op: str
    value: int

    def __str__(self) -> str:
        return f"stars{self.op}{self.value}"

    def test(self, stars: int | None) -> bool:
        """Tell whether `stars` satisfies the comparison; a paper without a repo never does."""
        return stars is not None and compare(self.op, stars, self.value)


@dataclass(frozen=True, slots=True)
class Has:
    """The paper has a linked thing: `what` is one of HAS_WHAT ("code": a GitHub repo; "model",
    "dataset", "space": a Hugging Face repo of that kind citing the paper)."""

    what: str

    def __str__(self) -> str:
        return f"has:{self.what}"


@dataclass(frozen=True, slots=True)
class Org:
    """The Hugging Face organisation the paper is claimed by: its handle or its full name,
    casefolded with spaces collapsed."""

    name: str

    def __str__(self) -> str:
        return f'org:"{self.name}"' if " " in self.name else f"org:{self.name}"


@dataclass(frozen=True, slots=True)
class Claimed:
    """A Hugging Face user who claimed authorship of the paper (verified), by username,
    casefolded (Hugging Face usernames are unique regardless of case)."""

    user: str

    def __str__(self) -> str:
        return f"author:@{self.user}"


@dataclass(frozen=True, slots=True)
class Not:
    child: Node

    def __str__(self) -> str:
        return _render(self)[0]


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]

    def __str__(self) -> str:
        return _render(self)[0]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]

    def __str__(self) -> str:
        return _render(self)[0]


Node = Text | Author | Upvotes | Stars | Has | Org | Claimed | Not | And | Or
Leaf = Text | Author | Upvotes | Stars | Has | Org | Claimed
# Leaves that test one fact of the paper record rather than its words or people.
Fact = Stars | Has | Org | Claimed


@dataclass(frozen=True, eq=False)
class Query:
    """A parsed query: `root` is the tree, `text` what the user typed.

    Two queries are equal when their canonical `str()` is equal (spacing, case, operator
    spelling, redundant parentheses and the order of ANDed/ORed parts do not matter).
    """

    root: Node
    text: str = ""
    canonical: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.canonical:
            object.__setattr__(self, "canonical", str(self.root))

    def __str__(self) -> str:
        return self.canonical

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Query) and other.canonical == self.canonical

    def __hash__(self) -> int:
        return hash(self.canonical)

    def leaves(self) -> list[tuple[Leaf, bool]]:
        """Return every leaf in query order with whether it is negated."""
        return list(iter_leaves(self.root))


def iter_leaves(node: Node, negated: bool = False) -> Iterator[tuple[Leaf, bool]]:
    """Yield (leaf, negated) pairs in query order."""
    if isinstance(node, Not):
        yield from iter_leaves(node.child, not negated)
    elif isinstance(node, And | Or):
        for child in node.children:
            yield from iter_leaves(child, negated)
    else:
        yield node, negated


# (text, top operator, operands). Operands map each one's text to its (top operator,
# operands); a negation keeps its whole rendered child as "inner". Any: the type is recursive.
_Rendered = tuple[str, type | None, dict[str, Any]]


def _render(node: Node) -> _Rendered:
    """Return (text, top operator, operands) of the canonical form of `node`.

    Nested ANDs (ORs) are flattened, duplicates dropped, operands sorted, double negations
    removed, so equivalent spellings of a query render the same.
    """
    if isinstance(node, Not):
        inner = _render(node.child)
        text, top, sub = inner
        if top is Not:
            # A double negation, maybe hidden inside a group that collapsed to one operand.
            return sub["inner"]
        return (f"-({text})" if top else f"-{text}"), Not, {"inner": inner}
    if not isinstance(node, And | Or):
        return str(node), None, {}
    kind = type(node)
    items: dict[str, tuple[type | None, dict[str, Any]]] = {}
    for child in node.children:
        text, top, sub = _render(child)
        if top is kind:
            items.update(sub)
        else:
            items[text] = (top, sub)
    if len(items) == 1:
        [(text, (top, sub))] = items.items()
        return text, top, sub
    # OR binds tighter than AND, so only an AND inside an OR needs parentheses.
    parts = sorted(f"({t})" if kind is Or and top is And else t for t, (top, _) in items.items())
    return (" OR " if kind is Or else " ").join(parts), kind, items


def _render_words(tokens: tuple[str, ...], fuzzy: tuple[bool, ...]) -> str:
    """Render words so that parsing the result gives back the same tokens and flags."""
    strict = [not f and fuzzy_eligible(t) for t, f in zip(tokens, fuzzy, strict=True)]
    if not any(fuzzy) and (len(tokens) > 1 or strict[0] or tokens[0] in _RESERVED):
        return '"' + " ".join(tokens) + '"'
    return "-".join(t.upper() if s else t for t, s in zip(tokens, strict, strict=True))
