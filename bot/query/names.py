"""Person names: parse "Yann LeCun", "Y. LeCun" or "LeCun, Yann" and compare them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.query.text import fold_word

_PARTICLES = frozenset(
    {"van", "von", "der", "den", "de", "del", "della", "di", "da", "dos", "du", "la", "le"}
    | {"ten", "ter", "bin", "al"}
)
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})
_SPLIT_RE = re.compile(r"[\s.]+")


@dataclass(frozen=True, slots=True)
class PersonName:
    """A folded name: given names (or initials) in order, and the surname."""

    given: tuple[str, ...]
    surname: str

    def __str__(self) -> str:
        return " ".join((*self.given, self.surname))


def parse_name(text: str) -> PersonName | None:
    """Parse a display name; None when it holds no letters or digits."""
    if "," in text:
        last, _, first = text.partition(",")
        text = f"{first} {last}"
    # fold_word() keeps letters and digits only, so "O'Brien" -> "obrien", "García" -> "garcia".
    parts = [p for p in _SPLIT_RE.split(text) if fold_word(p)]
    while len(parts) > 1 and fold_word(parts[-1]) in _SUFFIXES:
        parts.pop()
    if not parts:
        return None
    given: list[str] = []
    for part in parts[:-1]:
        if fold_word(part) in _PARTICLES:
            continue  # "van der Maaten" is found by "Maaten"
        given.extend(g for g in (fold_word(x) for x in part.split("-")) if g)
    return PersonName(tuple(given), fold_word(parts[-1]))


def _given_match(a: str, b: str) -> bool:
    if a == b:
        return True
    return (len(a) == 1 and b.startswith(a)) or (len(b) == 1 and a.startswith(b))


def _fits(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    # Greedy in-order matching is enough: an initial never matches more than a full name does.
    i = 0
    for name in long:
        if i < len(short) and _given_match(short[i], name):
            i += 1
    return i == len(short)


def same_person(query: PersonName, author: PersonName) -> bool:
    """Tell whether an author could be the person a query names (surname + compatible initials)."""
    if query.surname != author.surname:
        return False
    if len(query.given) <= len(author.given):
        return _fits(query.given, author.given)
    return _fits(author.given, query.given)
