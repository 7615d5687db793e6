"""Typo correction of query words against the indexed words."""

from __future__ import annotations

import threading

from rapidfuzz import fuzz, process

FUZZY_MIN_LEN = 4  # shorter unknown words ("3d", "xyz") are not corrected: too many neighbours
SCAN_MIN_LEN = 7  # below this two edits change a word too much to guess it back
MAX_SUGGESTIONS = 3


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))} | {word}


class Vocabulary:
    """Find the indexed words one or two typos away from a query word.

    One edit: every word is filed under each of its one-letter deletions, so two words sharing
    a variant are at most one substitution, insertion, deletion or transposition apart
    (SymSpell's idea): a few dict hits, where scanning all words with rapidfuzz costs
    milliseconds per query word at 100k titles. Two edits ("TfxtArenua"): only when one edit
    finds nothing, rapidfuzz scans the words of near length.

    The deletion variants of the words of one length are filed when a query first needs
    them (a word of length n shares a variant only with words of length n-1 to n+1): filing
    every word's variants up front was a third of building the index, which a one-shot
    `paperbot lookup` pays in full and whose query needs no correction at all most times.
    """

    def __init__(self) -> None:
        self._by_variant: dict[str, list[str]] = {}
        self._by_length: dict[int, dict[str, str]] = {}
        self._filed: set[int] = set()  # lengths whose words' variants are in _by_variant
        # Searches run concurrently in threads (under the index's read lock) and may file
        # lengths: one files a length while the others wait, so none reads it half filed.
        # Filing length n touches only variants of length n-1 and n, which a query word
        # reads only once its own lengths are filed in full.
        self._filing = threading.Lock()

    def add(self, word: str) -> None:
        """Make `word` a possible correction (call once per new word)."""
        if len(word) >= FUZZY_MIN_LEN:
            if len(word) in self._filed:
                self._file(word)
            self._by_length.setdefault(len(word), {})[word] = word

    def discard(self, word: str) -> None:
        """Forget `word` (call when no title holds it any more)."""
        if len(word) >= FUZZY_MIN_LEN:
            if len(word) in self._filed:
                for variant in _deletions(word):
                    words = self._by_variant[variant]
                    words.remove(word)
                    if not words:
                        del self._by_variant[variant]
            del self._by_length[len(word)][word]

    def _file(self, word: str) -> None:
        for variant in _deletions(word):
            self._by_variant.setdefault(variant, []).append(word)

    def _file_lengths(self, lengths: range) -> None:
        with self._filing:
            for length in lengths:
                if length not in self._filed:
                    for word in self._by_length.get(length, {}):
                        self._file(word)
                    self._filed.add(length)

    def similar(self, token: str) -> list[tuple[str, float]]:
        """Return up to MAX_SUGGESTIONS known words close to `token`, similarity 0–1."""
        if len(token) < FUZZY_MIN_LEN:
            return []
        self._file_lengths(range(len(token) - 1, len(token) + 2))
        # One edit in a 4–5 letter word is already a big change; demand a close ratio anyway.
        cutoff = 75 if len(token) <= 5 else 80
        found: set[str] = set()
        for variant in _deletions(token):
            found.update(self._by_variant.get(variant, ()))
        scored = [(word, fuzz.ratio(token, word, score_cutoff=cutoff)) for word in found]
        if not found and len(token) >= SCAN_MIN_LEN:
            for length in range(len(token) - 2, len(token) + 3):
                words = self._by_length.get(length)
                if words:
                    scored += [
                        (word, sim)
                        for word, sim, _ in process.extract(
                            token, words, scorer=fuzz.ratio, score_cutoff=cutoff, limit=3
                        )
                    ]
        ranked = sorted(((w, s / 100) for w, s in scored if s), key=lambda p: (-p[1], p[0]))
        return ranked[:MAX_SUGGESTIONS]
