"""The in-memory title index: word postings for candidates, rapidfuzz for the final order."""

from __future__ import annotations

import heapq
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass

from bot.lookup.rwlock import RWLock
from bot.lookup.scoring import score
from bot.lookup.text import TitleForms, TitleQuery, parse_title_query, title_forms
from bot.lookup.vocab import Vocabulary

log = logging.getLogger(__name__)

MIN_SCORE = 60.0  # below this a title is not a hit at all
CONFIDENT_SCORE = 80.0  # the best hit must reach this to be shown alone...
CONFIDENT_MARGIN = 4.0  # ...and beat the runner-up by this much
AMBIGUOUS_SCORE = 90.0  # ...unless the runner-up fits the whole query too (see _confident)...
WHOLE_TITLE_SCORE = 99.0  # ...where only a (near-)exact whole title or name is shown alone
CANDIDATES = 100  # titles rescored per query
POSTING_BUDGET = 5_000  # postings walked per query before rarer words must do the work
MAX_LIMIT = 50


@dataclass(frozen=True, slots=True)
class Hit:
    """One title the query may mean."""

    paper_id: str
    title: str
    score: float  # 0–100


@dataclass(frozen=True, slots=True)
class LookupResult:
    """The hits for a query, and the one hit that clearly wins, if any."""

    best: Hit | None  # set only when the command may show one card
    hits: list[Hit]  # best first; empty means "no match"


@dataclass(frozen=True, slots=True)
class _Entry:
    paper_id: str
    title: str
    forms: TitleForms

    @property
    def name_key(self) -> str:
        """The head or name-like first word with spaces dropped ("deepseekv3"), else ""."""
        return (self.forms.head or self.forms.name).replace(" ", "")


class TitleIndex:
    """Fuzzy look-up of paper titles; reads run concurrently, writes exclusively."""

    def __init__(self) -> None:
        self._lock = RWLock()
        self._entries: list[_Entry | None] = []  # slot -> entry; None marks a free slot
        self._free: list[int] = []
        self._slot_of: dict[str, int] = {}
        self._postings: dict[str, list[int]] = {}
        self._vocab = Vocabulary()
        # A name such as "FAST" or "Atlas" is also a common word; its titles must reach the
        # rescoring even when thousands of other titles hold the word.
        self._by_name: dict[str, list[int]] = {}

    @classmethod
    def build(cls, entries: Iterable[tuple[str, str]]) -> TitleIndex:
        """Index (paper_id, title) pairs; a later pair with the same id replaces the earlier."""
        index = cls()
        with index._lock.write():
            for paper_id, title in entries:
                index._add(paper_id, title)
        log.info("title index built: %s titles, %s words", len(index), len(index._postings))
        return index

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, paper_id: object) -> bool:
        return paper_id in self._slot_of

    def add(self, paper_id: str, title: str) -> None:
        """Index a title, replacing the paper's previous title if it had one."""
        with self._lock.write():
            self._add(paper_id, title)

    def remove(self, paper_id: str) -> bool:
        """Drop a paper from the index; return whether it was there."""
        with self._lock.write():
            return self._remove(paper_id)

    def search(self, query: str, limit: int = 5) -> list[Hit]:
        """Return up to `limit` titles scoring at least MIN_SCORE, best first."""
        return self._ranked(parse_title_query(query))[: max(0, min(limit, MAX_LIMIT))]

    def lookup(self, query: str, limit: int = 5) -> LookupResult:
        """Return the short list for `query` and, when one title clearly wins, that title."""
        ranked = self._ranked(parse_title_query(query))
        return LookupResult(_confident(ranked), ranked[: max(0, min(limit, MAX_LIMIT))])

    def best_match(self, query: str) -> Hit | None:
        """Return the one title `query` clearly means, or None (no match, or a close call)."""
        return _confident(self._ranked(parse_title_query(query)))

    def entries(self) -> list[tuple[str, str, TitleForms]] | None:
        """(paper id, title, folded forms) of every title in slot order, or None if some slot
        is free: what `from_entries` rebuilds the very same index from, without folding."""
        if self._free:
            return None
        return [(e.paper_id, e.title, e.forms) for e in self._entries if e is not None]

    @classmethod
    def from_entries(cls, entries: Iterable[tuple[str, str, TitleForms]]) -> TitleIndex:
        """Rebuild an index from what `entries` gave: the same slots, postings and words."""
        index = cls()
        with index._lock.write():
            for paper_id, title, forms in entries:
                if paper_id in index._slot_of or not forms.tokens:
                    raise ValueError(f"not what entries() gives: {paper_id!r}")
                index._insert(_Entry(paper_id, title, forms))
        return index

    def _add(self, paper_id: str, title: str) -> None:
        self._remove(paper_id)
        forms = title_forms(title)
        if not forms.tokens:
            log.warning("title of %s has no words, not indexed: %r", paper_id, title[:80])
            return
        self._insert(_Entry(paper_id, " ".join(title.split()), forms))

    def _insert(self, entry: _Entry) -> None:
        paper_id, forms = entry.paper_id, entry.forms
        slot = self._free.pop() if self._free else len(self._entries)
        if slot == len(self._entries):
            self._entries.append(entry)
        else:
            self._entries[slot] = entry
        self._slot_of[paper_id] = slot
        if entry.name_key:
            self._by_name.setdefault(entry.name_key, []).append(slot)
        for token in forms.tokens:
            postings = self._postings.get(token)
            if postings is None:
                self._postings[token] = [slot]
                self._vocab.add(token)
            else:
                postings.append(slot)

    def _remove(self, paper_id: str) -> bool:
        slot = self._slot_of.pop(paper_id, None)
        if slot is None:
            return False
        entry = self._entries[slot]
        assert entry is not None
        if entry.name_key:
            named = self._by_name[entry.name_key]
            named.remove(slot)
            if not named:
                del self._by_name[entry.name_key]
        for token in entry.forms.tokens:
            postings = self._postings[token]
            postings.remove(slot)
            if not postings:
                del self._postings[token]
                self._vocab.discard(token)
        self._entries[slot] = None
        self._free.append(slot)
        return True

    def _ranked(self, query: TitleQuery) -> list[Hit]:
        if query.empty:
            return []
        with self._lock.read():
            entries = self._candidates(query)
        hits = [
            Hit(e.paper_id, e.title, round(s, 2))
            for e in entries
            if (s := score(query.text, e.forms)) >= MIN_SCORE
        ]
        hits.sort(key=lambda h: (-h.score, len(h.title), h.paper_id))
        return hits

    def _candidates(self, query: TitleQuery) -> list[_Entry]:
        """Return the titles sharing the most (IDF-weighted, typo-tolerant) words with `query`."""
        total = len(self._slot_of)
        terms: list[tuple[int, float, str]] = []  # (document frequency, weight, indexed word)
        for token in query.tokens:
            for word, similarity in self._expand(token):
                df = len(self._postings[word])
                terms.append((df, math.log1p(total / df) * similarity * similarity, word))
        terms.sort()
        acc: dict[int, float] = {}
        walked = rare = 0
        for df, weight, word in terms:
            if walked and walked + df > POSTING_BUDGET:
                break
            walked += df
            rare += 1
            if not acc:  # the rarest word may still be common: fill in C
                acc = dict.fromkeys(self._postings[word], weight)
                continue
            for slot in self._postings[word]:
                acc[slot] = acc.get(slot, 0.0) + weight
        # The commoner words only re-rank the titles the rarer words found: walking their
        # postings would cost most of the query time and find titles that rank low anyway.
        acc = _best(acc, 4 * CANDIDATES)
        entries = self._entries
        for _, weight, word in terms[rare:]:
            for slot in acc:
                if word in entries[slot].forms.tokens:  # type: ignore[union-attr]
                    acc[slot] += weight
        acc = _best(acc, CANDIDATES)
        n_words = len(query.tokens)

        def rank(slot: int) -> float:
            # Among equal word matches prefer titles of about the query's length.
            size = len(entries[slot].forms.tokens)  # type: ignore[union-attr]
            return acc[slot] - 1e-3 * abs(size - n_words)

        chosen = self._by_name.get(query.text.replace(" ", ""), [])[:CANDIDATES]
        chosen += [s for s in heapq.nlargest(CANDIDATES, acc, key=rank) if s not in chosen]
        return [entries[slot] for slot in chosen]  # type: ignore[misc]

    def _expand(self, token: str) -> list[tuple[str, float]]:
        """Return the indexed words `token` may stand for, with similarities 0–1."""
        if token in self._postings:
            return [(token, 1.0)]
        return self._vocab.similar(token)


def _best(acc: dict[int, float], n: int) -> dict[int, float]:
    """Keep the entries of `acc` weighing at least its n-th largest weight (ties stay)."""
    if len(acc) <= n:
        return acc
    floor = heapq.nlargest(n, acc.values())[-1]  # in C, unlike a keyed sort
    return {slot: weight for slot, weight in acc.items() if weight >= floor}


def _confident(ranked: list[Hit]) -> Hit | None:
    if not ranked or ranked[0].score < CONFIDENT_SCORE:
        return None
    if len(ranked) > 1:
        best, runner_up = ranked[0].score, ranked[1].score
        if best - runner_up < CONFIDENT_MARGIN:
            return None
        # A runner-up this good holds the whole query too, as its opening words or all of
        # them: "selecting influential samples for" starts several titles, and the shortest
        # scoring highest by coverage is no reason to pick it. Only a whole title wins.
        if runner_up >= AMBIGUOUS_SCORE and best < WHOLE_TITLE_SCORE:
            return None
    return ranked[0]
