"""The recommender the core uses: the corpus kept current, readers fitted off the loop."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.recommend.model import Corpus, Ranked, Reader
    from bot.storage.feedback_repo import Taste
    from bot.storage.papers_repo import PaperRepo

log = logging.getLogger(__name__)

ReaderKey = tuple[str, tuple[str, ...], tuple[str, ...]]  # name, liked, disliked

# The vocabulary drifts with new papers; refitting it daily at the latest keeps it current
# (a new paper is added at once anyway: any change to the stored papers refits).
REFIT_EVERY = timedelta(days=1)
MAX_READERS = 1_000  # fitted readers kept; one refits in milliseconds
COLD_START = 5  # as bot.recommend.model.COLD_START, without importing scikit-learn


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Recommender:
    def __init__(self, papers: PaperRepo, clock: Callable[[], datetime] = _utc_now):
        self._papers = papers
        self._clock = clock
        self._corpus: Corpus | None = None
        self._mark: tuple[int, datetime | None] | None = None
        self._fitted_at: datetime | None = None
        self._lock = asyncio.Lock()
        self._readers: OrderedDict[ReaderKey, Reader] = OrderedDict()

    async def corpus(self) -> Corpus:
        """The TF-IDF corpus of every stored paper, refitted (in a thread) when they changed."""
        from bot.recommend.model import build_corpus

        async with self._lock:
            mark = (await self._papers.count(), await self._papers.titles_mark())
            now = self._clock()
            stale = self._fitted_at is None or now - self._fitted_at >= REFIT_EVERY
            if self._corpus is None or mark != self._mark or stale:
                papers = await self._papers.all_papers()
                self._corpus = await asyncio.to_thread(build_corpus, papers)
                self._mark, self._fitted_at = mark, now
                self._readers.clear()
                log.info("recommender corpus fitted over %d papers", len(papers))
            return self._corpus

    async def reader(self, name: str, taste: Taste) -> tuple[Corpus, Reader]:
        """The reader fitted on this taste, refitted only when their ratings changed."""
        from bot.recommend.model import fit_reader

        corpus = await self.corpus()
        key: ReaderKey = (name, tuple(taste.liked), tuple(taste.disliked))
        reader = self._readers.get(key)
        if reader is None:
            reader = await asyncio.to_thread(
                fit_reader, corpus, taste.liked, taste.disliked, name=name
            )
            self._readers[key] = reader
            while len(self._readers) > MAX_READERS:
                self._readers.popitem(last=False)
        else:
            self._readers.move_to_end(key)
        return corpus, reader

    async def rank(
        self, name: str, taste: Taste, candidates: Sequence[str], *, limit: int | None = None
    ) -> list[Ranked]:
        """Candidates best first for this reader, with reasons."""
        from bot.recommend.model import rank

        corpus, reader = await self.reader(name, taste)
        return await asyncio.to_thread(rank, corpus, reader, list(candidates), limit=limit)

    async def order_many(self, jobs: Sequence[tuple[str, Taste, Sequence[str]]]) -> list[list[str]]:
        """For each (reader name, taste, candidate ids): the ids best first.

        One thread call for all of them (a sweep reorders thousands of digests), fitting the
        readers not fitted yet; the cache is read and written on the loop only.
        """
        from bot.recommend.model import fit_reader, rank

        corpus = await self.corpus()
        keyed: list[tuple[ReaderKey, Taste, Sequence[str]]] = [
            ((name, tuple(t.liked), tuple(t.disliked)), t, ids) for name, t, ids in jobs
        ]
        known = {key: self._readers[key] for key, _, _ in keyed if key in self._readers}

        def work() -> tuple[list[list[str]], dict[ReaderKey, Reader]]:
            fitted = dict(known)
            orders = []
            for key, taste, ids in keyed:
                reader = fitted.get(key)
                if reader is None:
                    reader = fitted[key] = fit_reader(
                        corpus, taste.liked, taste.disliked, name=str(key[0])
                    )
                orders.append([r.paper_id for r in rank(corpus, reader, ids, explain=False)])
            return orders, fitted

        orders, fitted = await asyncio.to_thread(work)
        if corpus is self._corpus:  # not refitted meanwhile: the readers still hold
            for key, reader in fitted.items():
                self._readers[key] = reader
                self._readers.move_to_end(key)
            while len(self._readers) > MAX_READERS:
                self._readers.popitem(last=False)
        return orders

    async def similar(self, paper_id: str, limit: int) -> list[tuple[str, float]]:
        from bot.recommend.model import similar

        corpus = await self.corpus()
        return await asyncio.to_thread(similar, corpus, paper_id, limit)
