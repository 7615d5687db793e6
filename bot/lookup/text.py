"""Fold titles and queries into the comparable forms the title index works on."""

from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass

# Dropped from the candidate stage only (they still count when rescoring): they occur in most
# titles, so a posting walk over them costs much and tells little.
STOP_WORDS = frozenset(
    {"a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "how", "in", "into", "is"}
    | {"it", "its", "of", "on", "or", "the", "to", "via", "vs", "with"}
)
MAX_QUERY_CHARS = 300  # a pasted abstract is not a title; longer queries are cut at a word
_APOSTROPHES = re.compile(r"['’`´]")
_SEPARATORS = re.compile(r"[\W_]+")
_CHUNK_SPLIT = re.compile(r"\s+")


def fold_title(text: str) -> str:
    """Return `text` lower-cased, accent-free, with every run of punctuation made one space."""
    decomposed = unicodedata.normalize("NFKD", text)
    # Nearly every title is ASCII, which has no combining marks: skipping the per-character
    # filter then makes building the index over 10,000 titles several times faster.
    bare = (
        decomposed
        if decomposed.isascii()
        else "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    )
    # "Wilson's" and "Wilsons" should meet; a space there would leave a stray "s" token.
    bare = _APOSTROPHES.sub("", bare.casefold())
    return _SEPARATORS.sub(" ", bare).strip()


_NAME_LIKE = re.compile(r"\d|[a-z][A-Z]|[A-Z]{2}")


def _looks_like_name(chunk: str) -> bool:
    """Tell whether a title's first word is a model or method name ("DeepSeek-V3", "GPT-4o").

    Camel case, capitals in a row or a digit make a name; "High-Fidelity" is no name.
    """
    return len(chunk) >= 2 and bool(_NAME_LIKE.search(chunk))


@dataclass(frozen=True, slots=True)
class TitleForms:
    """The folded views of one title that scoring compares a query against."""

    full: str  # the whole title
    head: str  # before the first ":" ("selfpose3d"), else ""
    tail: str  # after the first ":" (the subtitle), else ""
    name: str  # a name-like first word without a colon ("deepseek v3"), else ""
    tokens: tuple[str, ...]  # distinct words, plus compounds joined ("multiview"); interned


def title_forms(title: str) -> TitleForms:
    """Fold a raw title into its comparable forms."""
    full = fold_title(title)
    head = tail = name = ""
    before, colon, after = title.partition(":")
    if colon and fold_title(before) and fold_title(after):
        head, tail = fold_title(before), fold_title(after)
    else:
        first = _CHUNK_SPLIT.split(title.strip(), maxsplit=1)[0]
        if _looks_like_name(first) and fold_title(first) != full:
            name = fold_title(first)
    # Interned: 100k titles share a few tens of thousands of distinct words. A tuple, as a
    # frozenset costs four times the memory and is only searched on a few hundred titles.
    tokens = tuple(dict.fromkeys(sys.intern(token) for token in index_tokens(title)))
    return TitleForms(full, head, tail, name, tokens)


def index_tokens(text: str) -> list[str]:
    """Return the words of `text`, plus each compound ("Multi-View") joined ("multiview")."""
    tokens: list[str] = []
    for chunk in _CHUNK_SPLIT.split(text.strip()):
        parts = fold_title(chunk).split()
        tokens.extend(parts)
        if len(parts) > 1:
            tokens.append("".join(parts))
    return tokens


@dataclass(frozen=True, slots=True)
class TitleQuery:
    """A user's query, folded and cut to a sane length."""

    text: str  # folded, at most MAX_QUERY_CHARS
    tokens: tuple[str, ...]  # distinct content words, in query order

    @property
    def empty(self) -> bool:
        return not self.tokens


def parse_title_query(raw: str) -> TitleQuery:
    """Fold a raw query; a query of only stop words or punctuation has no tokens."""
    text = fold_title(raw[: MAX_QUERY_CHARS * 4])
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS].rsplit(" ", 1)[0]
    seen: dict[str, None] = {}
    for token in text.split():
        if token not in STOP_WORDS:
            seen.setdefault(token, None)
    return TitleQuery(text, tuple(seen))
