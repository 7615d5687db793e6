"""Per-batch inverted index: which papers hold which word, as int bitsets."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz.distance import OSA

from bot.papers import Paper
from bot.query.names import PersonName, parse_name
from bot.query.text import MAX_CONCAT, TEXT_FIELDS, field_texts, stem_segments

SEP = "\x00"  # between segments: no stem contains it, so no phrase or run-together crosses it


def deletions(word: str) -> set[str]:
    """Return `word` and every string one deletion away from it."""
    return {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}


class TypoIndex:
    """Find, for many query words at once, the batch words within one edit of each."""

    def __init__(self, words: Iterable[str]) -> None:
        self._by_variant: dict[str, list[str]] = defaultdict(list)
        lengths = [0]
        for word in set(words):
            lengths.append(len(word))
            for variant in deletions(word):
                self._by_variant[variant].append(word)
        self._max_len = max(lengths) + 1

    def expand(self, vocabulary: Iterable[str]) -> dict[str, set[str]]:
        """Map each query word to the vocabulary words one edit (or none) away from it."""
        # Two words within one OSA edit always share a one-deletion variant, so the variant
        # table yields every candidate; rapidfuzz then confirms the distance.
        found: dict[str, set[str]] = defaultdict(set)
        if not self._by_variant:
            return found
        by_variant = self._by_variant
        for v in vocabulary:
            if len(v) > self._max_len or len(v) < 3 or not v.isalpha():
                continue
            for variant in deletions(v):
                for q in by_variant.get(variant, ()):
                    hits = found[q]
                    if v not in hits and OSA.distance(q, v, score_cutoff=1) <= 1:
                        hits.add(v)
        return found


@dataclass(frozen=True, slots=True)
class FieldIndex:
    """One text field of every paper in the batch."""

    seqs: list[list[str]]  # per paper: stems, SEP between segments
    words: dict[str, int]  # stem -> papers holding it
    joined: dict[str, int]  # 2..MAX_CONCAT consecutive stems run together -> papers


@dataclass(frozen=True, slots=True)
class BatchIndex:
    """Everything the engine asks of a batch of papers."""

    size: int
    fields: dict[str, FieldIndex]
    authors: dict[str, dict[tuple[str, ...], int]]  # surname -> given names -> papers
    initials: dict[tuple[str, str], list[tuple[str, ...]]]  # (surname, initial) -> given names
    upvotes: list[int]

    def people_to_check(self, name: PersonName) -> set[tuple[str, ...]]:
        """Return the batch's given names under `name.surname` that could be compatible."""
        # Compatible lists of given names share an initial, or one of them is empty.
        found = set(self.initials.get((name.surname, ""), ()))
        for initial in {g[0] for g in name.given}:
            found.update(self.initials.get((name.surname, initial), ()))
        return found

    @property
    def full(self) -> int:
        return (1 << self.size) - 1

    def vocabulary(self) -> set[str]:
        """Return every stem in the batch."""
        vocab: set[str] = set()
        for f in self.fields.values():
            vocab.update(f.words)
        vocab.discard(SEP)
        return vocab


def build_index(
    papers: Sequence[Paper], keys: frozenset[str], prefixes: frozenset[str]
) -> BatchIndex:
    """Index `papers`; `keys` are run-together terms to look for, `prefixes` their prefixes."""
    fields = {f: FieldIndex([], defaultdict(int), defaultdict(int)) for f in TEXT_FIELDS}
    authors: dict[str, dict[tuple[str, ...], int]] = defaultdict(lambda: defaultdict(int))
    for p, paper in enumerate(papers):
        bit = 1 << p
        for name, strings in field_texts(paper).items():
            fx = fields[name]
            seq: list[str] = []
            for string in strings:
                for segment in stem_segments(string):
                    seq += segment
                    seq.append(SEP)
            for s in set(seq):
                fx.words[s] |= bit
            _index_joined(seq, fx.joined, bit, keys, prefixes)
            fx.seqs.append(seq)
        for author in paper.authors:
            parsed = parse_name(author)
            if parsed is not None:
                authors[parsed.surname][parsed.given] |= bit
    initials: dict[tuple[str, str], list[tuple[str, ...]]] = defaultdict(list)
    for surname, people in authors.items():
        for given in people:
            for initial in {g[0] for g in given} or {""}:
                initials[(surname, initial)].append(given)
    return BatchIndex(len(papers), fields, authors, initials, [p.upvotes for p in papers])


def _index_joined(
    seq: list[str], joined: dict[str, int], bit: int, keys: frozenset[str], prefixes: frozenset[str]
) -> None:
    # Only runs that start a wanted key are extended, so this stays linear in the text.
    n = len(seq)
    for i in range(n - 1):
        run = seq[i]
        if run not in prefixes:
            continue
        for j in range(i + 1, min(i + MAX_CONCAT, n)):
            run += seq[j]
            if run in keys:
                joined[run] |= bit
            if run not in prefixes:
                break
