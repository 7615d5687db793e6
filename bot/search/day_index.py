"""One featured day's papers as posting lists: built once, read by every search of the day.

The tokens are the matching engine's (`bot.query.text`): each text field is the stems of
its segments with SEP between them, so no phrase or run-together word crosses a segment.
A day holds a few dozen papers, so its bitsets are small ints (bit p: the day's paper p).
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from bot.papers import Paper
from bot.query.names import parse_name
from bot.query.text import TEXT_FIELDS, field_texts, stem_segments
from bot.storage.papers_repo import DayVersion

SEP = "\x00"  # between segments; no stem holds it


@dataclass(frozen=True, slots=True)
class FieldPostings:
    """One text field of the day's papers."""

    words: dict[str, int]  # stem -> papers holding it
    seqs: tuple[tuple[str, ...], ...]  # per paper: its stems in order, SEP between segments


@dataclass(frozen=True, slots=True)
class DayIndex:
    """The papers featured on one day, as stored at `version`, and their postings."""

    day: date
    version: DayVersion
    generation: int  # when this process built it: later builds hold fresher copies
    papers: tuple[Paper, ...]
    fields: dict[str, FieldPostings]
    # surname -> (given names, papers) pairs: tuples, as a dict per surname costs ~10x more
    authors: dict[str, tuple[tuple[tuple[str, ...], int], ...]]
    upvotes: tuple[int, ...]

    @property
    def full(self) -> int:
        return (1 << len(self.papers)) - 1

    def stems(self) -> set[str]:
        """Return every stem of the day's papers."""
        return {w for f in self.fields.values() for w in f.words}


def build_day(
    day: date, version: DayVersion, papers: Sequence[Paper], generation: int = 0
) -> DayIndex:
    """Index the papers of `day` (CPU work: call it in a worker thread)."""
    # Interned stems (one object per distinct stem across every cached day) and shared
    # bitsets within the day: the postings are most of what a year of days costs.
    intern = sys.intern
    fields: dict[str, FieldPostings] = {}
    texts = [field_texts(p) for p in papers]
    for name in TEXT_FIELDS:
        words: dict[str, int] = defaultdict(int)
        seqs: list[tuple[str, ...]] = []
        for p, by_field in enumerate(texts):
            seq: list[str] = []
            for string in by_field[name]:
                for segment in stem_segments(string):
                    seq += map(intern, segment)
                    seq.append(SEP)
            bit = 1 << p
            for s in set(seq):
                words[s] |= bit
            words.pop(SEP, None)
            seqs.append(tuple(seq))
        fields[name] = FieldPostings(_shared(words), tuple(seqs))
    authors: dict[str, dict[tuple[str, ...], int]] = defaultdict(lambda: defaultdict(int))
    for p, paper in enumerate(papers):
        for author in paper.authors:
            parsed = parse_name(author)
            if parsed is not None:
                authors[parsed.surname][parsed.given] |= 1 << p
    return DayIndex(
        day=day,
        version=version,
        generation=generation,
        papers=tuple(papers),
        fields=fields,
        authors={s: tuple(g.items()) for s, g in authors.items()},
        upvotes=tuple(p.upvotes for p in papers),
    )


def _shared(words: dict[str, int]) -> dict[str, int]:
    """Return `words` as a plain dict whose equal bitsets are one object (1 << p, mostly)."""
    canon: dict[int, int] = {}
    return {w: canon.setdefault(bits, bits) for w, bits in words.items()}


def days_vocabulary(days: Iterable[DayIndex]) -> set[str]:
    """Return every stem of `days`."""
    vocab: set[str] = set()
    for d in days:
        vocab |= d.stems()
    return vocab
