"""Typo correction of query words against the indexed words, by one-deletion neighbourhoods."""

from __future__ import annotations

from rapidfuzz import fuzz

FUZZY_MIN_LEN = 4  # shorter unknown words ("3d", "xyz") are not corrected: too many neighbours
MAX_SUGGESTIONS = 3


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


class Vocabulary:
    """Index words by each one-letter deletion, so a typo finds its word in a few dict hits.

    Two words sharing a deletion variant (or one being a deletion of the other) are at most
    one substitution, insertion, deletion or transposition apart (SymSpell's idea). Scanning
    all words with rapidfuzz instead costs milliseconds per query word at 100k titles.
    """

    def __init__(self) -> None:
        self._by_variant: dict[str, list[str]] = {}

    def add(self, word: str) -> None:
        """Make `word` a possible correction (call once per new word)."""
        if len(word) >= FUZZY_MIN_LEN:
            for variant in _deletions(word) | {word}:
                self._by_variant.setdefault(variant, []).append(word)

    def discard(self, word: str) -> None:
        """Forget `word` (call when no title holds it any more)."""
        if len(word) >= FUZZY_MIN_LEN:
            for variant in _deletions(word) | {word}:
                words = self._by_variant[variant]
                words.remove(word)
                if not words:
                    del self._by_variant[variant]

    def similar(self, token: str) -> list[tuple[str, float]]:
        """Return up to MAX_SUGGESTIONS known words one edit from `token`, similarity 0–1."""
        if len(token) < FUZZY_MIN_LEN:
            return []
        found: set[str] = set()
        for variant in _deletions(token) | {token}:
            found.update(self._by_variant.get(variant, ()))
        # One edit in a 4–5 letter word is already a big change; demand a close ratio anyway.
        cutoff = 75 if len(token) <= 5 else 80
        scored = [(word, fuzz.ratio(token, word, score_cutoff=cutoff)) for word in found]
        scored = [(word, sim / 100) for word, sim in scored if sim]
        scored.sort(key=lambda pair: (-pair[1], pair[0]))
        return scored[:MAX_SUGGESTIONS]
