"""Counted nouns in replies: "1 paper", "2 papers", never "1 papers" or "paper(s)"."""

from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """Return `n` with `word`, made plural unless `n` is 1 ("1 comment", "3 comments").

    `many` is the plural form where adding "s" is wrong ("entry" -> "entries").
    """
    return f"{n} {word if n == 1 else many or word + 's'}"
