"""Run queries over the day indexes of a window, with the matching engine's semantics.

What `bot.matching.engine.match_batch` does for one batch, this does day by day over cached
postings, term for term: a text term holds for a paper when its words appear consecutively
in the field (each fuzzy word or a word one typo away from it), or when the term's words
run together are one of the paper's stems or two to MAX_CONCAT consecutive ones; authors
compare with `same_person`; reasons list every positive term found, by term then field.
Matching a paper depends on the paper alone, so a window's matches are the union of its
days' (a paper featured on several days counts once). `tests/test_search_index.py` holds it
to `match_batch` over many queries and windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from rapidfuzz.distance import OSA

from bot.matching.engine import Match, Reason, has_phrase
from bot.papers import Paper
from bot.query import Author, Leaf, Node, Not, Query, Text, Upvotes
from bot.query.ast import And, Or, iter_leaves
from bot.query.names import PersonName, same_person
from bot.query.text import MAX_CONCAT, TEXT_FIELDS
from bot.search.day_index import DayIndex, FieldPostings


@dataclass(frozen=True, slots=True)
class _TextTerm:
    """A text leaf made ready for one window: what each word may be, how the key splits."""

    names: tuple[str, ...]  # the fields it searches
    key: str
    allowed: tuple[frozenset[str], ...]  # per word: itself and its typos seen in the window
    splits: dict[str, tuple[tuple[str, ...], ...]]  # first piece -> every split of the key


@dataclass
class _Plan:
    """One query compiled for one window."""

    leaves: list[Leaf]
    index: dict[Leaf, int]
    positives: list[int]  # positive leaves, by canonical text (then query order)
    texts: list[str]
    terms: dict[int, _TextTerm]
    people: dict[tuple[PersonName, tuple[str, ...]], bool] = field(default_factory=dict)


def typo_variants(word: str, vocab: AbstractSet[str], alphabet: AbstractSet[str]) -> set[str]:
    """Return the words of `vocab` one edit (OSA) or none away from `word` that a typo may
    stand for: letters only, 3 or more of them (the engine's typo table skips the others).

    Every such word is an edit of `word` over `alphabet` (the letters of `vocab`), so
    generating the edits finds them all with set look-ups, whatever the vocabulary's size.
    """
    n = len(word)
    edits = {word}
    edits.update(word[:i] + word[i + 1 :] for i in range(n))
    edits.update(word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(n - 1))
    for c in alphabet:
        edits.update(word[:i] + c + word[i + 1 :] for i in range(n))
        edits.update(word[:i] + c + word[i:] for i in range(n + 1))
    return {
        v
        for v in edits
        if v in vocab and len(v) >= 3 and v.isalpha() and OSA.distance(word, v, score_cutoff=1) <= 1
    }


def _splits(key: str, parts: int) -> list[tuple[str, ...]]:
    """Every way to cut `key` into exactly `parts` non-empty pieces, in order."""
    if parts == 1:
        return [(key,)] if key else []
    return [(key[:i], *rest) for i in range(1, len(key)) for rest in _splits(key[i:], parts - 1)]


def _compile(query: Query, vocab: AbstractSet[str], alphabet: AbstractSet[str]) -> _Plan:
    leaves: list[Leaf] = []
    index: dict[Leaf, int] = {}
    positive: set[int] = set()
    for leaf, negated in iter_leaves(query.root):
        i = index.setdefault(leaf, len(leaves))
        if i == len(leaves):
            leaves.append(leaf)
        if not negated:
            positive.add(i)
    texts = [str(leaf) for leaf in leaves]
    typos: dict[str, frozenset[str]] = {}
    terms: dict[int, _TextTerm] = {}
    for i, leaf in enumerate(leaves):
        if not isinstance(leaf, Text):
            continue
        allowed: list[frozenset[str]] = []
        for token, fuzzy in zip(leaf.tokens, leaf.fuzzy, strict=True):
            if not fuzzy:
                allowed.append(frozenset({token}))
                continue
            if token not in typos:
                typos[token] = frozenset(typo_variants(token, vocab, alphabet) | {token})
            allowed.append(typos[token])
        by_first: dict[str, list[tuple[str, ...]]] = {}
        for parts in range(2, MAX_CONCAT + 1):
            for split in _splits(leaf.key, parts):
                # A split with a piece no stored paper holds cannot run together anywhere.
                if all(piece in vocab for piece in split):
                    by_first.setdefault(split[0], []).append(split)
        names = TEXT_FIELDS if leaf.field == "any" else (leaf.field,)
        splits = {k: tuple(v) for k, v in by_first.items()}
        terms[i] = _TextTerm(names, leaf.key, tuple(allowed), splits)
    positives = sorted(positive, key=lambda i: (texts[i], i))
    return _Plan(leaves, index, positives, texts, terms)


def _bit_indexes(bits: int) -> list[int]:
    digits = bin(bits)[:1:-1]
    out: list[int] = []
    i = digits.find("1")
    while i >= 0:
        out.append(i)
        i = digits.find("1", i + 1)
    return out


def _union(words: dict[str, int], choices: AbstractSet[str]) -> int:
    v = 0
    for w in choices:
        v |= words.get(w, 0)
    return v


def _joined(term: _TextTerm, fx: FieldPostings, full: int) -> int:
    """The papers where 2..MAX_CONCAT consecutive stems run together spell the key."""
    bits = 0
    words = fx.words
    for first, splits in term.splits.items():
        if first not in words:
            continue
        for split in splits:
            candidates = full
            for piece in split:
                candidates &= words.get(piece, 0)
                if not candidates:
                    break
            for p in _bit_indexes(candidates & ~bits):
                if has_phrase(fx.seqs[p], [{piece} for piece in split]):
                    bits |= 1 << p
    return bits


def _text_bits(term: _TextTerm, fx: FieldPostings, full: int) -> int:
    words = fx.words
    bits = words.get(term.key, 0) | _joined(term, fx, full)
    candidates = full
    for choices in term.allowed:
        candidates &= _union(words, choices)
        if not candidates:
            return bits
    if len(term.allowed) == 1:
        return bits | candidates
    for p in _bit_indexes(candidates & ~bits):  # a phrase: the words must be consecutive
        if has_phrase(fx.seqs[p], term.allowed):
            bits |= 1 << p
    return bits


def _leaf_fields(plan: _Plan, i: int, day: DayIndex) -> dict[str, int]:
    """The day's papers leaf `i` holds for, per field, in REASON_FIELDS order."""
    leaf = plan.leaves[i]
    if isinstance(leaf, Upvotes):
        v = 0
        for p, u in enumerate(day.upvotes):
            if leaf.test(u):
                v |= 1 << p
        return {"upvotes": v}
    if isinstance(leaf, Author):
        name = leaf.name
        v = 0
        for given, bits in day.authors.get(name.surname, ()):
            if name.given:
                key = (name, given)
                same = plan.people.get(key)
                if same is None:
                    same = plan.people[key] = same_person(name, PersonName(given, name.surname))
                if not same:
                    continue
            v |= bits
        return {"author": v}
    term = plan.terms[i]
    full = day.full
    return {name: _text_bits(term, day.fields[name], full) for name in term.names}


def _evaluate(node: Node, plan: _Plan, leaf_bits: list[int], full: int) -> int:
    if isinstance(node, Not):
        return full & ~_evaluate(node.child, plan, leaf_bits, full)
    if isinstance(node, And):
        v = full
        for c in node.children:
            v &= _evaluate(c, plan, leaf_bits, full)
            if not v:
                break
        return v
    if isinstance(node, Or):
        v = 0
        for c in node.children:
            v |= _evaluate(c, plan, leaf_bits, full)
        return v
    return leaf_bits[plan.index[node]]


def _day_matches(plan: _Plan, query: Query, day: DayIndex, owned: int) -> list[tuple[Paper, Match]]:
    """The matches among the day's papers in `owned` (those no other day answers for)."""
    fields = [_leaf_fields(plan, i, day) for i in range(len(plan.leaves))]
    leaf_bits = [_union_values(f) for f in fields]
    matched = _evaluate(query.root, plan, leaf_bits, day.full) & owned
    if not matched:
        return []
    reasons = [
        (bits, Reason(plan.texts[i], name))
        for i in plan.positives
        for name, bits in fields[i].items()
        if bits & matched
    ]
    papers = day.papers
    return [
        (papers[p], Match(papers[p].id, tuple([r for bits, r in reasons if bits >> p & 1])))
        for p in _bit_indexes(matched)
    ]


def _union_values(fields: dict[str, int]) -> int:
    v = 0
    for bits in fields.values():
        v |= bits
    return v


def ranked(pairs: list[tuple[Paper, Match]]) -> list[tuple[Paper, Match]]:
    """Sort (paper, match) pairs most upvoted first, then by id (as `search` shows them)."""
    pairs.sort(key=lambda pm: (-pm[0].upvotes, pm[0].id))
    return pairs


def search_days(
    days: Sequence[tuple[DayIndex, int]],
    query: Query,
    vocab: AbstractSet[str],
    alphabet: AbstractSet[str],
) -> list[tuple[Paper, Match]]:
    """The papers of `days` (each with the papers it answers for) `query` matches, ranked."""
    plan = _compile(query, vocab, alphabet)
    pairs: list[tuple[Paper, Match]] = []
    for day, owned in days:
        if owned:
            pairs += _day_matches(plan, query, day, owned)
    return ranked(pairs)


def matched_ids(
    days: Sequence[tuple[DayIndex, int]],
    queries: Sequence[tuple[int, Query]],
    vocab: AbstractSet[str],
    alphabet: AbstractSet[str],
) -> dict[int, list[str]]:
    """For each (id, query) matching any paper of `days`: the ids it matches, ranked."""
    out: dict[int, list[str]] = {}
    by_query: dict[Query, list[str]] = {}
    for sub_id, query in queries:
        if query not in by_query:
            found = search_days(days, query, vocab, alphabet)
            by_query[query] = [p.id for p, _ in found]
        if by_query[query]:
            out[sub_id] = by_query[query]
    return out
