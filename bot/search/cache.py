"""The process's day indexes: checked against the database before every search, rebuilt
only for the days whose papers changed.

Several processes may share one database (a bot, a cron `paperbot ingest`), so no process
learns of another's writes by being told. Before a search, one grouped query reads each day's
`DayVersion` (paper and feature counts, the latest `updated_at`, the upvote sum); a cached
day whose version differs, or a day not cached yet, is loaded and indexed again; the others
are reused as they are. The version is read before the papers, so a write
landing in between leaves a day that looks stale next time, never one that looks fresh.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from bot.matching.engine import Match
from bot.papers import Paper
from bot.query import Query
from bot.search.day_index import DayIndex, build_day, days_vocabulary
from bot.search.evaluate import matched_ids, search_days

if TYPE_CHECKING:
    from bot.storage.papers_repo import DayVersion, PaperRepo

log = logging.getLogger(__name__)

CHUNK_PAPERS = 250  # papers loaded per query: each load is one step of the event loop
KEEP_DAYS = 400  # cached days older than this before the newest day asked for are dropped
MAX_WINDOWS = 16  # windows kept for reuse (each is a list of its days: small)


class Window:
    """The day indexes of a window at one moment: read-only, searched in worker threads."""

    def __init__(
        self, days: Sequence[DayIndex], vocab: frozenset[str], alphabet: frozenset[str]
    ) -> None:
        # A paper featured on several days answers from the day indexed last (its freshest
        # copy), and counts once.
        seen: set[str] = set()
        owned: dict[date, int] = {}
        for day in sorted(days, key=lambda d: d.generation, reverse=True):
            bits = 0
            for p, paper in enumerate(day.papers):
                if paper.id not in seen:
                    seen.add(paper.id)
                    bits |= 1 << p
            owned[day.day] = bits
        self.days = [(day, owned[day.day]) for day in days]
        self.size = len(seen)  # distinct papers
        self._vocab = vocab
        self._alphabet = alphabet

    def search(self, query: Query) -> list[tuple[Paper, Match]]:
        """The papers `query` matches, most upvoted first (CPU work: run it in a thread)."""
        return search_days(self.days, query, self._vocab, self._alphabet)

    def matched_ids(self, queries: Sequence[tuple[int, Query]]) -> dict[int, list[str]]:
        """The ids each matching (id, query) pair matches, most upvoted first (CPU work)."""
        return matched_ids(self.days, queries, self._vocab, self._alphabet)


@dataclass
class IndexStats:
    """What the cache did since start-up (for the bench, tests and logs)."""

    built: int = 0  # day indexes built (first time or rebuilt)
    reused: int = 0  # cached day indexes trusted after a version check
    dropped: int = 0  # cached days that no longer hold papers, or fell out of reach


class SearchIndex:
    """Per-day token indexes of the stored papers, kept in this process (owned by `App`)."""

    def __init__(self, papers: PaperRepo, *, chunk_papers: int = CHUNK_PAPERS) -> None:
        self._papers = papers
        self._chunk = chunk_papers
        self._days: dict[date, DayIndex] = {}
        # Every stem ever indexed and the letters of the alphabetic ones: a superset of the
        # window's (a stem no longer stored finds no paper), so it only grows.
        self._vocab: frozenset[str] = frozenset()
        self._alphabet: frozenset[str] = frozenset()
        self._generation = 0
        self._lock = asyncio.Lock()
        # The last windows handed out, while no day changed: a repeated search reuses one.
        self._windows: dict[tuple[date, date], Window] = {}
        self.stats = IndexStats()

    def __len__(self) -> int:
        return len(self._days)

    async def window(self, first: date, last: date) -> Window:
        """The indexes of the days in [first, last], brought up to date with the database."""
        async with self._lock:
            versions = await self._papers.day_versions(first, last)
            gone = [d for d in self._days if _gone(d, first, last, versions)]
            for day in gone:
                del self._days[day]
            stale = [d for d, v in sorted(versions.items()) if self._version(d) != v]
            self.stats.dropped += len(gone)
            self.stats.reused += len(versions) - len(stale)
            if gone or stale or len(self._windows) > MAX_WINDOWS:
                self._windows.clear()
            for chunk in _chunks(stale, versions, self._chunk):
                await self._rebuild(chunk, versions)
            window = self._windows.get((first, last))
            if window is None:
                days = [self._days[d] for d in sorted(versions)]
                window = await asyncio.to_thread(Window, days, self._vocab, self._alphabet)
                self._windows[(first, last)] = window
            return window

    async def _rebuild(self, chunk: list[date], versions: dict[date, DayVersion]) -> None:
        loaded = await self._papers.featured_on_days(chunk)
        generation = self._generation = self._generation + 1
        built, vocab, alphabet = await asyncio.to_thread(
            _build, chunk, versions, loaded, generation, self._vocab, self._alphabet
        )
        self._days.update((d.day, d) for d in built)
        self._vocab, self._alphabet = vocab, alphabet
        self.stats.built += len(built)
        log.debug("search index: built %d days (%s to %s)", len(built), chunk[0], chunk[-1])

    def _version(self, day: date) -> DayVersion | None:
        cached = self._days.get(day)
        return cached.version if cached else None


def _gone(day: date, first: date, last: date, versions: dict[date, DayVersion]) -> bool:
    if first <= day <= last:
        return day not in versions  # its papers were deleted
    return day < last - timedelta(days=KEEP_DAYS)


def _chunks(days: list[date], versions: dict[date, DayVersion], size: int) -> list[list[date]]:
    """Group consecutive days so that each group holds about `size` papers (at least a day)."""
    chunks: list[list[date]] = []
    current: list[date] = []
    held = 0
    for d in days:
        if current and held + versions[d].papers > size:
            chunks.append(current)
            current, held = [], 0
        current.append(d)
        held += versions[d].papers
    if current:
        chunks.append(current)
    return chunks


def _build(
    chunk: list[date],
    versions: dict[date, DayVersion],
    loaded: dict[date, list[Paper]],
    generation: int,
    vocab: frozenset[str],
    alphabet: frozenset[str],
) -> tuple[list[DayIndex], frozenset[str], frozenset[str]]:
    """Index the days of `chunk` and grow the vocabulary (in a worker thread)."""
    built = [build_day(d, versions[d], loaded.get(d, []), generation) for d in chunk]
    new = days_vocabulary(built) - vocab
    if new:
        vocab = vocab | new
        letters = {c for w in new if w.isalpha() for c in w} - alphabet
        if letters:
            alphabet = alphabet | letters
    return built, vocab, alphabet
