"""Recursive-descent parser: query text to an immutable `Query`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.query.ast import (
    HAS_WHAT,
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
from bot.query.lexer import EXAMPLES, Lexeme, QueryError, lex
from bot.query.names import parse_name
from bot.query.text import fuzzy_eligible, is_acronym, words


@dataclass(frozen=True)
class Limits:
    """Safety limits on one query."""

    max_chars: int = 300
    max_terms: int = 30
    max_depth: int = 5


DEFAULT_LIMITS = Limits()
# Hugging Face usernames and organisation handles: letters, digits, "-", "_" and ".".
_HANDLE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
_STOP = frozenset({"RP", "OR", "AND"})


def parse_query(text: str, limits: Limits = DEFAULT_LIMITS) -> Query:
    """Parse `text` into a `Query`, or raise `QueryError` naming the first mistake."""
    if len(text) > limits.max_chars:
        raise QueryError(
            f"Query is too long ({len(text)} characters; the limit is {limits.max_chars})",
            limits.max_chars + 1,
            EXAMPLES["limits"],
        )
    if not text.strip():
        raise QueryError("The query is empty", 1, EXAMPLES["general"])
    parser = _Parser(lex(text), limits)
    root = parser.parse()
    if _only_excludes(root):
        raise QueryError(
            "The query would match almost every paper; add a word it must contain",
            1,
            EXAMPLES["not"],
        )
    return Query(root, text)


def _only_excludes(node: Node) -> bool:
    return not _needs_term(node, negated=False)


def _needs_term(node: Node, negated: bool) -> bool:
    """Tell whether `node` (or its negation) can only hold when some term is present."""
    if isinstance(node, Not):
        return _needs_term(node.child, not negated)
    if isinstance(node, And | Or):
        # De Morgan: NOT (a AND b) behaves like an OR, NOT (a OR b) like an AND.
        as_and = isinstance(node, And) != negated
        needs = (_needs_term(c, negated) for c in node.children)
        return any(needs) if as_and else all(needs)
    return not negated


class _Parser:
    def __init__(self, lexemes: list[Lexeme], limits: Limits) -> None:
        self.lx = lexemes
        self.i = 0
        self.limits = limits
        self.terms = 0

    def peek(self) -> Lexeme | None:
        return self.lx[self.i] if self.i < len(self.lx) else None

    def take(self) -> Lexeme:
        lexeme = self.lx[self.i]
        self.i += 1
        return lexeme

    def parse(self) -> Node:
        node = self.parse_and("any", 0)
        extra = self.peek()
        if extra is not None:  # only a ")" can stop the top level early
            raise QueryError('Unbalanced ")"', extra.pos, EXAMPLES["paren"])
        return node

    def parse_and(self, field: str, depth: int) -> Node:
        items: list[Node] = []
        while (lx := self.peek()) is not None and lx.kind != "RP":
            if lx.kind in ("OR", "AND"):
                # parse_or eats every OR that follows a term, so an OR here has none before it
                if not items or lx.kind == "OR":
                    raise QueryError(f'Nothing before "{lx.value}"', lx.pos, EXAMPLES[_ex(lx)])
                self.take()
                self._need_operand(lx)
            items.append(self.parse_or(field, depth))
        return items[0] if len(items) == 1 else And(tuple(items))

    def parse_or(self, field: str, depth: int) -> Node:
        items = [self.parse_unary(field, depth)]
        while (lx := self.peek()) is not None and lx.kind == "OR":
            self.take()
            self._need_operand(lx)
            items.append(self.parse_unary(field, depth))
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_unary(self, field: str, depth: int) -> Node:
        lx = self.peek()
        if lx is not None and lx.kind == "NOT":
            self.take()
            self._need_operand(lx)
            return Not(self.parse_unary(field, depth))
        return self.parse_primary(field, depth)

    def parse_primary(self, field: str, depth: int) -> Node:
        lx = self.take()
        if lx.kind == "LP":
            return self._group(lx, field, depth)
        if lx.kind == "FIELD":
            if field != "any":
                raise QueryError(
                    f'Field "{lx.value}:" inside a {field}:(...) group', lx.pos, EXAMPLES["field"]
                )
            nxt = self.peek()
            if nxt is None or nxt.kind not in ("WORD", "PHRASE", "LP"):
                raise QueryError(
                    f'Expected a word, "phrase" or (group) after "{lx.value}:"',
                    nxt.pos if nxt else lx.pos,
                    EXAMPLES["field"],
                )
            if lx.value in ("has", "org"):
                return self._fact(lx, self.take())
            return self.parse_primary(lx.value, depth)
        if lx.kind == "STARS":
            if field != "any":
                raise QueryError(f"stars inside {field}:", lx.pos, EXAMPLES["stars"])
            self._count(lx)
            return Stars(lx.value, lx.number)
        if lx.kind == "CMP":
            if field != "any":
                raise QueryError(f"upvotes inside {field}:", lx.pos, EXAMPLES["upvotes"])
            self._count(lx)
            return Upvotes(lx.value, lx.number)
        if lx.kind in ("WORD", "PHRASE"):
            self._count(lx)
            return self._leaf(lx, field)
        raise QueryError(f'Unexpected "{lx.value}"', lx.pos, EXAMPLES["general"])

    def _group(self, lp: Lexeme, field: str, depth: int) -> Node:
        if depth + 1 > self.limits.max_depth:
            raise QueryError(
                f"Parentheses nested too deeply (the limit is {self.limits.max_depth})",
                lp.pos,
                EXAMPLES["paren"],
            )
        if (nxt := self.peek()) is not None and nxt.kind == "RP":
            raise QueryError("Empty parentheses", lp.pos, EXAMPLES["paren"])
        node = self.parse_and(field, depth + 1)
        if self.peek() is None:
            raise QueryError('Unclosed "("', lp.pos, EXAMPLES["paren"])
        self.take()
        return node

    def _fact(self, field: Lexeme, lx: Lexeme) -> Node:
        """has:<what> or org:<name>, whose value is one word (an org's full name: a phrase)."""
        self._count(lx)
        if field.value == "has":
            what = lx.value.lower()
            if lx.kind != "WORD" or what not in HAS_WHAT:
                *rest, last = (f"has:{w}" for w in HAS_WHAT)
                known = f"{', '.join(rest)} or {last}" if rest else last
                # "has:models" is the likeliest slip: name the singular it meant.
                meant = what.removesuffix("s")
                hint = f"did you mean has:{meant}?" if meant in HAS_WHAT else f"use {known}"
                raise QueryError(
                    f'Unknown "has:{lx.value}" ({hint})',
                    lx.pos,
                    EXAMPLES["has"],
                )
            return Has(what)
        name = " ".join(lx.value.split()).casefold()
        if lx.kind == "LP" or not name or (lx.kind == "WORD" and not _HANDLE_RE.fullmatch(name)):
            raise QueryError(
                'org: takes an organisation\'s handle or "full name", as org:ByteDance-Seed',
                lx.pos,
                EXAMPLES["org"],
            )
        return Org(name)

    def _leaf(self, lx: Lexeme, field: str) -> Node:
        if field == "author" and lx.kind == "WORD" and lx.value.startswith("@"):
            user = lx.value[1:]
            if not _HANDLE_RE.fullmatch(user):
                raise QueryError(
                    f'"{lx.value}" is not a Hugging Face username (letters, digits, - _ .)',
                    lx.pos,
                    EXAMPLES["claimed"],
                )
            return Claimed(user.casefold())
        if field == "author":
            name = parse_name(lx.value)
            if name is None:
                raise QueryError(f'No name in "{lx.value}"', lx.pos, EXAMPLES["field"])
            return Author(name)
        found = words(lx.value)
        if not found:
            raise QueryError(
                f'Nothing to search for in "{lx.value}" (use letters or digits)',
                lx.pos,
                EXAMPLES["general"],
            )
        quoted = lx.kind == "PHRASE"
        tokens = tuple(s for s, _ in found)
        fuzzy = tuple(
            not quoted and not is_acronym(typed) and fuzzy_eligible(s) for s, typed in found
        )
        return Text(field, tokens, fuzzy)

    def _count(self, lx: Lexeme) -> None:
        self.terms += 1
        if self.terms > self.limits.max_terms:
            raise QueryError(
                f"Too many terms (the limit is {self.limits.max_terms})", lx.pos, EXAMPLES["limits"]
            )

    def _need_operand(self, op: Lexeme) -> None:
        nxt = self.peek()
        if nxt is None or nxt.kind in _STOP:
            raise QueryError(f'Nothing after "{op.value}"', op.pos, EXAMPLES[_ex(op)])


def _ex(lx: Lexeme) -> str:
    return {"OR": "or", "AND": "and", "NOT": "not"}[lx.kind]
