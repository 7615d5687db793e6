"""Match a batch of papers against many subscriptions at once.

Each distinct term is evaluated once per batch against an inverted index of the batch
(term -> int bitset of papers); typo tolerance runs once per batch against the batch's
vocabulary; queries then combine bitsets with &, | and ~. Pure, synchronous and
thread-safe (a compiled `MatchEngine` is never mutated), so callers may run it in
`asyncio.to_thread`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

from bot.matching.index import BatchIndex, TypoIndex, build_index
from bot.papers import Paper
from bot.query import Author, Leaf, Node, Not, Query, Text, Upvotes
from bot.query.ast import And, Or
from bot.query.names import PersonName, same_person
from bot.query.text import TEXT_FIELDS

log = logging.getLogger(__name__)

REASON_FIELDS = (*TEXT_FIELDS, "author", "upvotes")
_LEAF, _NOT, _AND, _OR = range(4)


@dataclass(frozen=True, slots=True)
class Reason:
    """A positive term of the query (canonical text) found in one field of the paper."""

    term: str
    field: str  # "title" | "abstract" | "keyword" | "author" | "upvotes"


@dataclass(frozen=True, slots=True)
class Match:
    """A paper a subscription matched, with every positive term found, by term then field."""

    paper_id: str
    reasons: tuple[Reason, ...]


class MatchList(Sequence[Match]):
    """The papers one query matched, in batch order: a read-only sequence of `Match`.

    Matches and their reasons are built when read, so a batch with millions of matches
    costs little until a caller looks (a digest reads only its first few). Shared by every
    subscription with the same query; never changes after it is made.
    """

    __slots__ = ("_bits", "_fields", "_ids", "_indexes", "_leaves", "_reasons", "_texts")

    def __init__(
        self,
        bits: int,
        ids: Sequence[str],
        leaves: list[int],
        texts: list[str],
        fields: list[dict[str, int]],
    ) -> None:
        self._bits = bits
        self._ids = ids
        self._leaves = leaves  # positive leaves of the query, sorted by text
        self._texts = texts  # of every leaf of the engine
        self._fields = fields  # of every leaf: field -> papers
        self._indexes: list[int] | None = None
        self._reasons: list[tuple[str, Reason]] | None = None

    @property
    def _papers(self) -> list[int]:
        # Computed on first read (a benign race: every thread computes the same list).
        if self._indexes is None:
            self._indexes = _bit_indexes(self._bits)
        return self._indexes

    @property
    def paper_ids(self) -> list[str]:
        """Return the matched papers' ids without building reasons."""
        return [self._ids[p] for p in self._papers]

    def _match(self, p: int) -> Match:
        if self._reasons is None:  # each possible reason once, with the papers it holds for
            self._reasons = [
                (_digits(bits), Reason(self._texts[leaf], name))
                for leaf in self._leaves
                for name, bits in self._fields[leaf].items()
                if bits & self._bits
            ]
        reasons = tuple([r for digits, r in self._reasons if digits.startswith("1", p)])
        return Match(self._ids[p], reasons)

    def __len__(self) -> int:
        return self._bits.bit_count()

    @overload
    def __getitem__(self, i: int) -> Match: ...
    @overload
    def __getitem__(self, i: slice) -> list[Match]: ...
    def __getitem__(self, i: int | slice) -> Match | list[Match]:
        if isinstance(i, slice):
            top = self._indexes is None and i.start is None and i.step is None
            if top and i.stop is not None and i.stop >= 0:  # a digest's first few: scan no further
                return [self._match(p) for p in _bit_indexes(self._bits, i.stop)]
            return [self._match(p) for p in self._papers[i]]
        return self._match(self._papers[i])

    def __iter__(self) -> Iterator[Match]:
        return (self._match(p) for p in self._papers)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"MatchList({list(self)!r})"


class MatchEngine:
    """Subscriptions compiled once, matched against any number of batches."""

    def __init__(self, subscriptions: Sequence[tuple[int, Query]]) -> None:
        interned: dict[object, int] = {}
        # (op, arg), children always before parents. arg is a leaf index (_LEAF), one child's
        # index (_NOT) or a tuple of them (_AND, _OR): Any, as the op decides which.
        self._program: list[tuple[int, Any]] = []
        self._leaves: list[Leaf] = []
        self._subs = [(sub_id, self._intern(q.root, interned)) for sub_id, q in subscriptions]
        self._leaf_text = [str(leaf) for leaf in self._leaves]
        self._positives: dict[int, list[int]] = {}
        for _, root in self._subs:
            if root not in self._positives:
                self._positives[root] = self._positive_leaves(root)
        texts = [leaf for leaf in self._leaves if isinstance(leaf, Text)]
        self._keys = frozenset(t.key for t in texts)
        self._prefixes = frozenset(k[:i] for k in self._keys for i in range(1, len(k)))
        self._typos = TypoIndex(
            tok for t in texts for tok, fz in zip(t.tokens, t.fuzzy, strict=True) if fz
        )

    def __len__(self) -> int:
        return len(self._subs)

    def _intern(self, node: Node, interned: dict[object, int]) -> int:
        if isinstance(node, Not):
            key: object = (_NOT, self._intern(node.child, interned))
        elif isinstance(node, And | Or):
            kids = tuple(sorted({self._intern(c, interned) for c in node.children}))
            key = (_AND if isinstance(node, And) else _OR, kids)
        else:
            key = node
        found = interned.get(key)
        if found is not None:
            return found
        if isinstance(key, tuple):
            self._program.append(key)
        else:
            self._leaves.append(node)  # type: ignore[arg-type]
            self._program.append((_LEAF, len(self._leaves) - 1))
        interned[key] = len(self._program) - 1
        return len(self._program) - 1

    def _positive_leaves(self, root: int) -> list[int]:
        found: set[int] = set()
        stack = [(root, False)]
        while stack:
            node, negated = stack.pop()
            op, arg = self._program[node]
            if op == _LEAF:
                if not negated:
                    found.add(arg)
            elif op == _NOT:
                stack.append((arg, not negated))
            else:
                stack.extend((c, negated) for c in arg)
        return sorted(found, key=self._leaf_text.__getitem__)

    def match_batch(self, papers: Sequence[Paper]) -> dict[int, MatchList]:
        """Return, for each subscription matching at least one paper, its matches in batch order."""
        if not papers or not self._subs:
            return {}
        index = build_index(papers, self._keys, self._prefixes)
        typos = self._typos.expand(index.vocabulary())
        fields = [_leaf_bits(leaf, index, typos) for leaf in self._leaves]
        values = self._evaluate(fields, index.full)
        ids = [paper.id for paper in papers]
        shared: dict[int, MatchList] = {}
        out: dict[int, MatchList] = {}
        for sub_id, root in self._subs:
            bits = values[root]
            if not bits:
                continue
            found = shared.get(root)
            if found is None:
                positives = self._positives[root]
                found = shared[root] = MatchList(bits, ids, positives, self._leaf_text, fields)
            out[sub_id] = found
        log.debug("matched %s papers against %s subscriptions", len(papers), len(self._subs))
        return out

    def _evaluate(self, fields: list[dict[str, int]], full: int) -> list[int]:
        leaf_bits = [_union(f.values()) for f in fields]
        values = [0] * len(self._program)
        for i, (op, arg) in enumerate(self._program):
            if op == _LEAF:
                values[i] = leaf_bits[arg]
            elif op == _NOT:
                values[i] = full & ~values[arg]
            elif op == _AND:
                v = full
                for c in arg:
                    v &= values[c]
                    if not v:
                        break
                values[i] = v
            else:
                values[i] = _union(values[c] for c in arg)
        return values


def _union(bitsets: Iterable[int]) -> int:
    v = 0
    for b in bitsets:
        v |= b
    return v


def _digits(bits: int) -> str:
    """Return the binary digits of `bits`, lowest first: digit p is paper p."""
    return bin(bits)[:1:-1]


def _bit_indexes(bits: int, limit: int | None = None) -> list[int]:
    """Return the positions of the set bits (at most `limit` of them), lowest first."""
    digits = _digits(bits)
    out: list[int] = []
    i = digits.find("1")
    while i >= 0 and len(out) != limit:
        out.append(i)
        i = digits.find("1", i + 1)
    return out


def _leaf_bits(leaf: Leaf, index: BatchIndex, typos: dict[str, set[str]]) -> dict[str, int]:
    """Return the papers a leaf holds for, per field, in REASON_FIELDS order."""
    if isinstance(leaf, Upvotes):
        return {"upvotes": _union(1 << p for p, u in enumerate(index.upvotes) if leaf.test(u))}
    if isinstance(leaf, Author):
        surname = leaf.name.surname
        people = index.authors.get(surname, {})
        if not leaf.name.given:
            return {"author": _union(people.values())}
        return {
            "author": _union(
                people[given]
                for given in index.people_to_check(leaf.name)
                if same_person(leaf.name, PersonName(given, surname))
            )
        }
    names = TEXT_FIELDS if leaf.field == "any" else (leaf.field,)
    allowed = [
        (typos.get(t, set()) | {t}) if fz else {t}
        for t, fz in zip(leaf.tokens, leaf.fuzzy, strict=True)
    ]
    return {name: _text_bits(leaf, allowed, index, name) for name in names}


def _text_bits(leaf: Text, allowed: list[set[str]], index: BatchIndex, name: str) -> int:
    fx = index.fields[name]
    bits = fx.words.get(leaf.key, 0) | fx.joined.get(leaf.key, 0)
    candidates = index.full
    for choices in allowed:
        candidates &= _union(fx.words.get(word, 0) for word in choices)
        if not candidates:
            return bits
    if len(allowed) == 1:
        return bits | candidates
    for p in _bit_indexes(candidates & ~bits):  # a phrase: confirm the words are consecutive
        if _has_phrase(fx.seqs[p], allowed):
            bits |= 1 << p
    return bits


def _has_phrase(seq: list[str], allowed: list[set[str]]) -> bool:
    last = len(seq) - len(allowed)
    rest = list(enumerate(allowed))[1:]
    for first in allowed[0]:
        i = -1
        while True:
            try:
                i = seq.index(first, i + 1, last + 1)  # C-speed scan of the paper's words
            except ValueError:
                break
            if all(seq[i + k] in choices for k, choices in rest):
                return True
    return False


def match_batch(
    papers: Sequence[Paper], subscriptions: Sequence[tuple[int, Query]] | MatchEngine
) -> dict[int, MatchList]:
    """Match `papers` against subscriptions (pairs of id and query, or a compiled engine)."""
    engine = subscriptions if isinstance(subscriptions, MatchEngine) else MatchEngine(subscriptions)
    return engine.match_batch(papers)


def matches(query: Query, paper: Paper) -> bool:
    """Tell whether one paper matches one query."""
    return bool(MatchEngine([(0, query)]).match_batch([paper]))
