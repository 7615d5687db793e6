"""Match a batch of papers against many subscriptions at once.

Each distinct term is evaluated once per batch against an inverted index of the batch
(term -> int bitset of papers); typo tolerance runs once per batch against the batch's
vocabulary; queries then combine bitsets with &, | and ~. Pure, synchronous and
thread-safe (a compiled `MatchEngine` is never mutated), so callers may run it in
`asyncio.to_thread`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot.papers import Paper
from bot.query import And, Author, Leaf, Node, Not, Or, Query, Text, Upvotes
from bot.query.index import BatchIndex, TypoIndex, build_index
from bot.query.names import same_person
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


class MatchEngine:
    """Subscriptions compiled once, matched against any number of batches."""

    def __init__(self, subscriptions: Sequence[tuple[int, Query]]) -> None:
        self._interned: dict[object, int] = {}
        self._program: list[tuple[int, object]] = []
        self._leaves: list[Leaf] = []
        self._subs: list[tuple[int, int]] = []
        for sub_id, query in subscriptions:
            self._subs.append((sub_id, self._intern(query.root)))
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
        self._leaf_by_node = {i: arg for i, (op, arg) in enumerate(self._program) if op == _LEAF}
        del self._interned  # only needed while compiling

    def __len__(self) -> int:
        return len(self._subs)

    def _intern(self, node: Node) -> int:
        if isinstance(node, Not):
            key: object = (_NOT, self._intern(node.child))
        elif isinstance(node, And | Or):
            kids = tuple(sorted({self._intern(c) for c in node.children}))
            key = (_AND if isinstance(node, And) else _OR, kids)
        else:
            key = node
        found = self._interned.get(key)
        if found is not None:
            return found
        if isinstance(key, tuple):
            self._program.append(key)
        else:
            self._leaves.append(node)  # type: ignore[arg-type]
            self._program.append((_LEAF, len(self._leaves) - 1))
        self._interned[key] = len(self._program) - 1
        return len(self._program) - 1

    def _positive_leaves(self, root: int) -> list[int]:
        found: set[int] = set()
        stack = [(root, False)]
        while stack:
            node, negated = stack.pop()
            op, arg = self._program[node]
            if op == _LEAF:
                if not negated:
                    found.add(arg)  # type: ignore[arg-type]
            elif op == _NOT:
                stack.append((arg, not negated))  # type: ignore[arg-type]
            else:
                stack.extend((c, negated) for c in arg)  # type: ignore[union-attr]
        return sorted(found, key=lambda i: str(self._leaves[i]))

    def match_batch(self, papers: Sequence[Paper]) -> dict[int, list[Match]]:
        """Return, for each subscription matching at least one paper, its matches in batch order."""
        if not papers or not self._subs:
            return {}
        index = build_index(papers, self._keys, self._prefixes)
        typos = self._typos.expand(index.vocabulary())
        fields = [_leaf_bits(leaf, index, typos) for leaf in self._leaves]
        values = self._evaluate(fields, index.full)
        cache: dict[int, list[Match]] = {}
        out: dict[int, list[Match]] = {}
        for sub_id, root in self._subs:
            bits = values[root]
            if not bits:
                continue
            matches = cache.get(root)
            if matches is None:
                matches = cache[root] = self._matches(bits, root, fields, papers)
            out[sub_id] = list(matches)
        log.debug("matched %s papers against %s subscriptions", len(papers), len(self._subs))
        return out

    def _evaluate(self, fields: list[dict[str, int]], full: int) -> list[int]:
        leaf_bits = [sum_bits(f) for f in fields]
        values = [0] * len(self._program)
        for i, (op, arg) in enumerate(self._program):
            if op == _LEAF:
                values[i] = leaf_bits[arg]  # type: ignore[index]
            elif op == _NOT:
                values[i] = full & ~values[arg]  # type: ignore[index]
            elif op == _AND:
                v = full
                for c in arg:  # type: ignore[union-attr]
                    v &= values[c]
                    if not v:
                        break
                values[i] = v
            else:
                v = 0
                for c in arg:  # type: ignore[union-attr]
                    v |= values[c]
                values[i] = v
        return values

    def _matches(
        self, bits: int, root: int, fields: list[dict[str, int]], papers: Sequence[Paper]
    ) -> list[Match]:
        positives = [(str(self._leaves[i]), fields[i]) for i in self._positives[root]]
        out: list[Match] = []
        while bits:
            low = bits & -bits
            bits ^= low
            reasons = tuple(
                Reason(term, name)
                for term, by_field in positives
                for name, b in by_field.items()
                if b & low
            )
            out.append(Match(papers[low.bit_length() - 1].id, reasons))
        return out


def sum_bits(by_field: dict[str, int]) -> int:
    """OR together a leaf's per-field bitsets."""
    v = 0
    for b in by_field.values():
        v |= b
    return v


def _leaf_bits(leaf: Leaf, index: BatchIndex, typos: dict[str, set[str]]) -> dict[str, int]:
    """Return the papers a leaf holds for, per field, in REASON_FIELDS order."""
    if isinstance(leaf, Upvotes):
        return {"upvotes": sum(1 << p for p, u in enumerate(index.upvotes) if leaf.test(u))}
    if isinstance(leaf, Author):
        bits = 0
        for p, name in index.authors.get(leaf.name.surname, ()):
            if same_person(leaf.name, name):
                bits |= 1 << p
        return {"author": bits}
    names = TEXT_FIELDS if leaf.field == "any" else (leaf.field,)
    allowed = [
        (typos.get(t, set()) | {t}) if fz else {t}
        for t, fz in zip(leaf.tokens, leaf.fuzzy, strict=True)
    ]
    return {name: _text_bits(leaf, allowed, index, name) for name in names}


def _text_bits(leaf: Text, allowed: list[set[str]], index: BatchIndex, name: str) -> int:
    fx = index.fields[name]
    key = leaf.key
    bits = fx.words.get(key, 0) | fx.joined.get(key, 0)
    candidates = index.full
    for choices in allowed:
        b = 0
        for word in choices:
            b |= fx.words.get(word, 0)
        candidates &= b
        if not candidates:
            return bits
    if len(allowed) == 1:
        return bits | candidates
    candidates &= ~bits
    while candidates:  # a phrase: confirm the words are consecutive
        low = candidates & -candidates
        candidates ^= low
        p = low.bit_length() - 1
        if _has_phrase(fx.seqs[p], fx.positions[p], allowed):
            bits |= low
    return bits


def _has_phrase(seq: list[str], positions: dict[str, list[int]], allowed: list[set[str]]) -> bool:
    last = len(seq) - len(allowed)
    for first in allowed[0]:
        for i in positions.get(first, ()):
            if i <= last and all(seq[i + k] in allowed[k] for k in range(1, len(allowed))):
                return True
    return False


def match_batch(
    papers: Sequence[Paper], subscriptions: Sequence[tuple[int, Query]] | MatchEngine
) -> dict[int, list[Match]]:
    """Match `papers` against subscriptions (pairs of id and query, or a compiled engine)."""
    engine = subscriptions if isinstance(subscriptions, MatchEngine) else MatchEngine(subscriptions)
    return engine.match_batch(papers)


def matches(query: Query, paper: Paper) -> bool:
    """Tell whether one paper matches one query."""
    return bool(MatchEngine([(0, query)]).match_batch([paper]))
