"""Tokenising, normalising and light stemming shared by queries and papers."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from bot.papers import Paper, normalize_space

TEXT_FIELDS = ("title", "abstract", "keyword")
MIN_FUZZY_LEN = 5
MAX_CONCAT = 3  # a term may be spelt as up to this many consecutive words run together

_TOKEN_RE = re.compile(r"[^\W_]+")
_SPLIT_RE = re.compile(r"([^\W_]+)")
_BARRIER_CHARS = frozenset('.,;:!?()[]{}"')
_APOSTROPHES = ("'", "’")
# Irregular plurals the suffix rules would get wrong (stemming both sides keeps them equal).
_EXCEPTIONS = {
    "biases": "bias",
    "aliases": "alias",
    "atlases": "atlas",
    "canvases": "canvas",
    "lenses": "lens",
}
_INVARIANT = frozenset({"bias", "alias", "atlas", "canvas", "lens", "news", "gas", "series"})
_INVARIANT |= {"species", "always", "perhaps", "whereas"}


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a text: its stem and where it sits in the source string."""

    stem: str
    start: int
    end: int


def fold_word(word: str) -> str:
    """Lower-case `word`, strip accents and keep letters and digits ("Schölkopf" -> "scholkopf")."""
    if word.isascii() and word.isalnum():
        return word.lower()
    # NFKD splits "é" into "e" + accent and "¼" into "1⁄4"; keep letters and digits only.
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", word).casefold())
    return "".join(c for c in folded if c.isalnum())


def stem(word: str) -> str:
    """Reduce a folded word to its singular form with a few safe suffix rules."""
    if len(word) <= 2 or not word.isalpha() or word[-1] != "s":
        return word
    if word in _EXCEPTIONS:
        return _EXCEPTIONS[word]
    if word in _INVARIANT or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("sses"):
        return word[:-2]
    if word.endswith(("yses", "eses")) and len(word) > 5:
        return word[:-2] + "is"  # analyses, hypotheses
    if word.endswith(("xes", "ches", "shes")):
        return word[:-2]
    return word[:-1]


@lru_cache(maxsize=1 << 16)
def normalize_word(word: str) -> str:
    """Return the comparison form of one word: folded, then stemmed."""
    return stem(fold_word(word))


def is_acronym(word: str) -> bool:
    """Tell whether a word as typed is an acronym (RAG, ViT, LoRA): such words match exactly."""
    upper = sum(1 for c in word if c.isupper())
    return upper >= 2 or (upper == 1 and not word[0].isupper())


def fuzzy_eligible(stemmed: str) -> bool:
    """Tell whether a lower-case stem is long enough and plain enough for typo tolerance."""
    return len(stemmed) >= MIN_FUZZY_LEN and stemmed.isalpha()


def _is_barrier(sep: str) -> bool:
    # Sentence punctuation followed or preceded by a space ends a phrase; "GPT-3.5" does not.
    return any(c in _BARRIER_CHARS for c in sep) and any(c.isspace() for c in sep)


def tokenize(text: str) -> list[list[Token]]:
    """Split `text` into segments (runs of words no phrase may cross) of tokens."""
    segments: list[list[Token]] = [[]]
    prev_end = -1
    for m in _TOKEN_RE.finditer(text):
        start, end = m.span()
        word = m.group()
        stemmed = normalize_word(word)
        if not stemmed:
            continue  # nothing left after folding: part of the separator
        if prev_end >= 0:
            sep = text[prev_end:start]
            if sep in _APOSTROPHES and word in ("s", "S"):
                continue  # possessive "model's" is "model"
            if sep != " " and _is_barrier(sep):
                segments.append([])
        segments[-1].append(Token(stemmed, start, end))
        prev_end = end
    return [s for s in segments if s]


def stem_segments(text: str) -> list[list[str]]:
    """Return just the stems of `tokenize(text)`, faster (the engine needs no positions)."""
    parts = _SPLIT_RE.split(text)  # [sep, word, sep, word, ..., sep]
    segments: list[list[str]] = []
    current: list[str] = []
    started = False
    pending = ""  # skipped words count as separator text, as in tokenize()
    for k in range(1, len(parts), 2):
        sep, word = pending + parts[k - 1], parts[k]
        stemmed = normalize_word(word)
        if not stemmed or (started and sep in _APOSTROPHES and word in ("s", "S")):
            pending = sep + word
            continue
        pending = ""
        if started and sep != " " and _is_barrier(sep) and current:
            segments.append(current)
            current = []
        current.append(stemmed)
        started = True
    if current:
        segments.append(current)
    return segments


def words(text: str) -> list[tuple[str, str]]:
    """Return (stem, word as typed) for each word of a query term, ignoring punctuation."""
    out: list[tuple[str, str]] = []
    prev_end = -1
    for m in _TOKEN_RE.finditer(text):
        stemmed = normalize_word(m.group())
        if not stemmed or (
            prev_end >= 0 and text[prev_end : m.start()] in _APOSTROPHES and m.group() in ("s", "S")
        ):
            continue
        out.append((stemmed, m.group()))
        prev_end = m.end()
    return out


def field_texts(paper: Paper) -> dict[str, tuple[str, ...]]:
    """Return the searchable strings of a paper by field (each keyword on its own)."""
    return {
        "title": (normalize_space(paper.title),),
        "abstract": (paper.abstract,),
        "keyword": tuple(paper.ai_keywords),
    }
