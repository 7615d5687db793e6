"""Match a batch of papers against many subscriptions at once.

Each distinct query (by canonical form) is compiled once into a shared `Program`, however
many subscriptions hold it; each distinct term is evaluated once per batch against an
inverted index of the batch (term -> int bitset of papers); typo tolerance runs once per
batch against the batch's vocabulary; queries then combine bitsets with &, | and ~, and
subscriptions with the same query share one `MatchList`. Pure, synchronous and
thread-safe (a compiled `MatchEngine` only fills a cache of each query's positive terms,
the same whichever thread does it), so callers may run it in `asyncio.to_thread`.
"""

from __future__ import annotations

import gc
import logging
import threading
from array import array
from collections.abc import Generator, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass
from operator import attrgetter
from typing import overload

from bot.matching.index import BatchIndex, TypoIndex, build_index
from bot.matching.program import Program
from bot.papers import Paper
from bot.query import Author, Leaf, Query, Text, Upvotes
from bot.query.facts import FactIndex
from bot.query.names import PersonName, same_person
from bot.query.text import TEXT_FIELDS

log = logging.getLogger(__name__)
_canonical = attrgetter("canonical")

REASON_FIELDS = (
    *TEXT_FIELDS,
    "author",
    "upvotes",
    "code",
    "model",
    "dataset",
    "space",
    "stars",
    "org",
)


@dataclass(frozen=True, slots=True)
class Reason:
    """A positive term of the query (canonical text) found in one field of the paper."""

    term: str
    field: str  # one of REASON_FIELDS


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

    __slots__ = ("_batch", "_bits", "_indexes", "_reasons", "_root")

    def __init__(self, bits: int, batch: _Batch, root: int) -> None:
        self._bits = bits
        self._batch = batch
        self._root = root  # the query's instruction in the engine's program
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
        ids = self._batch.ids
        return [ids[p] for p in self._papers]

    def _match(self, p: int) -> Match:
        if self._reasons is None:  # each possible reason once, with the papers it holds for
            batch = self._batch
            self._reasons = [
                (_digits(bits), Reason(batch.texts[leaf], name))
                for leaf in batch.positives(self._root)
                for name, bits in batch.fields[leaf].items()
                if bits & self._bits
            ]
        reasons = tuple([r for digits, r in self._reasons if digits.startswith("1", p)])
        return Match(self._batch.ids[p], reasons)

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


@dataclass(frozen=True, slots=True)
class _Batch:
    """What the match lists of one batch share: paper ids and every leaf's papers by field."""

    ids: list[str]
    fields: list[dict[str, int]]  # per leaf of the engine: field -> papers
    texts: list[str]  # per leaf: its canonical text, the term a Reason names
    engine: MatchEngine

    def positives(self, root: int) -> list[int]:
        return self.engine.positive_leaves(root)


class MatchEngine:
    """Subscriptions compiled once, matched against any number of batches.

    Distinct queries (by canonical form) are compiled once into one shared `Program`;
    a subscription is just its id and its query's instruction, in two int arrays, and
    subscriptions with the same query share one `MatchList` per batch.
    """

    __slots__ = (
        "_has_facts",
        "_keys",
        "_leaf_text",
        "_positives",
        "_prefixes",
        "_program",
        "_roots",
        "_sub_ids",  # an int64 array (or a tuple of larger ints)
        "_sub_roots",
        "_typos",
    )

    def __init__(self, subscriptions: Iterable[tuple[int, Query]]) -> None:
        with _gc_paused():
            self._compile(subscriptions)

    def _compile(self, subscriptions: Iterable[tuple[int, Query]]) -> None:
        program = self._program = Program()
        # One pass over the subscriptions each, all in C (zip, map, dict, array): at a
        # million subscriptions a Python loop over them costs more than compiling.
        pairs = subscriptions if isinstance(subscriptions, list | tuple) else list(subscriptions)
        ids, queries = zip(*pairs, strict=True) if pairs else ((), ())
        del pairs
        canonical = list(map(_canonical, queries))
        # A query's canonical form -> its instruction: each distinct query compiled once.
        first = dict(zip(canonical, queries, strict=True))  # one query of each form
        by_canonical = {c: program.compile(q.root) for c, q in first.items()}
        sub_ids: array[int] | tuple[int, ...]
        try:
            sub_ids = array("q", ids)
        except (OverflowError, TypeError):  # an id beyond 64 bits: kept as they are
            sub_ids = ids
        sub_roots = array("I", map(by_canonical.__getitem__, canonical))
        del ids, queries, canonical, first
        program.freeze()
        self._sub_ids = sub_ids
        self._sub_roots = sub_roots
        self._roots = sorted(set(by_canonical.values()))  # the distinct queries' instructions
        leaves = program.leaves
        self._leaf_text = [str(leaf) for leaf in leaves]
        self._positives: dict[int, list[int]] = {}  # filled as reasons are first read
        texts = [leaf for leaf in leaves if isinstance(leaf, Text)]
        self._has_facts = any(not isinstance(leaf, Text | Author | Upvotes) for leaf in leaves)
        self._keys = frozenset(t.key for t in texts)
        self._prefixes = frozenset(k[:i] for k in self._keys for i in range(1, len(k)))
        self._typos = TypoIndex(
            tok for t in texts for tok, fz in zip(t.tokens, t.fuzzy, strict=True) if fz
        )

    def __len__(self) -> int:
        return len(self._sub_roots)

    @property
    def distinct_queries(self) -> int:
        """Return how many distinct compiled queries the subscriptions share."""
        return len(self._roots)

    def query_of(self, position: int) -> int:
        """Return the compiled query (an instruction number) of the `position`-th subscription.

        Subscriptions with equal queries (same canonical form) share one number.
        """
        return self._sub_roots[position]

    def compiled_query(self, query: int) -> Query:
        """Return compiled query `query` (see `query_of`) read back from the program."""
        return Query(self._program.tree(query))

    def positive_leaves(self, root: int) -> list[int]:
        """Return the positive leaves of compiled query `root`, sorted by their text."""
        found = self._positives.get(root)
        if found is None:  # a benign race: every thread computes the same list
            found = self._positives[root] = self._program.positive_leaves(
                root, self._leaf_text.__getitem__
            )
        return found

    def match_batch(self, papers: Sequence[Paper]) -> dict[int, MatchList]:
        """Return, for each subscription matching at least one paper, its matches in batch order."""
        if not papers or not self._sub_roots:
            return {}
        with _gc_paused():
            return self._match(papers)

    def _match(self, papers: Sequence[Paper]) -> dict[int, MatchList]:
        index = build_index(papers, self._keys, self._prefixes)
        typos = self._typos.expand(index.vocabulary())
        facts = FactIndex(papers) if self._has_facts else None
        fields = [_leaf_bits(leaf, index, typos, facts) for leaf in self._program.leaves]
        values = self._program.evaluate([_union(f.values()) for f in fields], index.full)
        batch = _Batch([paper.id for paper in papers], fields, self._leaf_text, self)
        # One MatchList per distinct query that matched, shared by its subscriptions.
        lists = {r: MatchList(values[r], batch, r) for r in self._roots if values[r]}
        del values
        get = lists.get
        out = {
            sub_id: found
            for sub_id, root in zip(self._sub_ids, self._sub_roots, strict=True)
            if (found := get(root)) is not None
        }
        log.debug("matched %s papers against %s subscriptions", len(papers), len(self))
        return out


_gc_lock = threading.Lock()
_gc_holders = 0  # threads inside _gc_paused
_gc_was_enabled = False


@contextmanager
def _gc_paused() -> Generator[None, None, None]:
    """Pause the cyclic garbage collector while compiling or matching.

    Both make millions of objects without a single reference cycle, and each collection
    walks every live object: matching 1M subscriptions took 2.5x the time with it on.
    Nested and concurrent uses keep it paused until the last one leaves.
    """
    global _gc_holders, _gc_was_enabled
    with _gc_lock:
        if _gc_holders == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_holders += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_holders -= 1
            if _gc_holders == 0 and _gc_was_enabled:
                gc.enable()


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


def _leaf_bits(
    leaf: Leaf, index: BatchIndex, typos: dict[str, set[str]], facts: FactIndex | None
) -> dict[str, int]:
    """Return the papers a leaf holds for, per field, in REASON_FIELDS order."""
    if isinstance(leaf, Upvotes):
        return {"upvotes": _union(1 << p for p, u in enumerate(index.upvotes) if leaf.test(u))}
    if not isinstance(leaf, Text | Author):
        assert facts is not None  # built whenever the program holds a fact
        return facts.bits(leaf)
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
        if has_phrase(fx.seqs[p], allowed):
            bits |= 1 << p
    return bits


def has_phrase(seq: list[str] | tuple[str, ...], allowed: Sequence[AbstractSet[str]]) -> bool:
    """Tell whether consecutive words of `seq` fit `allowed`, word for word."""
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
