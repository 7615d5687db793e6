"""The recommender the core uses: the corpus kept current, readers fitted off the loop."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.recommend.release import release_freed_memory
from bot.recommend.worker import Worker, corpus_from_database

if TYPE_CHECKING:
    import numpy as np
    from scipy import sparse

    from bot.recommend.model import Corpus, Ranked, Reader
    from bot.storage.feedback_repo import Taste
    from bot.storage.papers_repo import PaperRepo

log = logging.getLogger(__name__)

ReaderKey = tuple[str, tuple[str, ...], tuple[str, ...]]  # name, liked, disliked

# The vocabulary drifts with new papers; refitting it daily at the latest keeps it current
# (a new paper is added at once anyway: any change to the stored papers refits).
REFIT_EVERY = timedelta(days=1)
# Fitted readers kept for interactive use (recommend, why, alerts): one refits in
# milliseconds, and one of 20 ratings holds ~35 KB of weights. A sweep's readers are not
# kept: each destination's digest comes once a day, and the corpus (so every fit) is
# refitted whenever papers arrive, so caching them only held ~50 MB for 1,000 readers.
MAX_READERS = 200
COLD_START = 5  # as bot.recommend.model.COLD_START, without importing scikit-learn


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Recommender:
    def __init__(
        self,
        papers: PaperRepo,
        clock: Callable[[], datetime] = _utc_now,
        worker: Worker | None = None,
        database_url: str | None = None,
    ):
        self._papers = papers
        # Where the worker reads the papers itself (see corpus_from_database); None: here.
        self._database_url = database_url
        # scikit-learn's part (the vectoriser, the many-ratings SVM) runs there; see worker.py.
        self.worker = worker or Worker()
        self._clock = clock
        self._corpus: Corpus | None = None
        self._mark: tuple[int, datetime | None] | None = None
        self._fitted_at: datetime | None = None
        self._lock = asyncio.Lock()
        self._readers: OrderedDict[ReaderKey, Reader] = OrderedDict()

    async def corpus(self) -> Corpus:
        """The TF-IDF corpus of every stored paper, refitted (in the worker) when they changed."""
        from bot.recommend.model import build_corpus

        async with self._lock, self.worker.session():
            mark = (await self._papers.count(), await self._papers.titles_mark())
            now = self._clock()
            stale = self._fitted_at is None or now - self._fitted_at >= REFIT_EVERY
            if self._corpus is None or mark != self._mark or stale:
                self._corpus = None  # the old one goes before the new one arrives
                self._readers.clear()
                if self._database_url is not None:
                    self._corpus = await asyncio.to_thread(
                        self.worker.call, corpus_from_database, self._database_url
                    )
                else:
                    papers = await self._papers.all_papers()
                    self._corpus = await asyncio.to_thread(self.worker.call, build_corpus, papers)
                    del papers
                self._mark, self._fitted_at = mark, now
                await asyncio.to_thread(release_freed_memory)
                log.info("recommender corpus fitted over %d papers", self._corpus.size)
            return self._corpus

    def _svm(
        self, x: sparse.csr_matrix, y: np.ndarray, weight: np.ndarray
    ) -> tuple[np.ndarray, float]:
        """The many-ratings fit, in the worker process (called from a thread)."""
        from bot.recommend.model import svm_fit

        return self.worker.call(svm_fit, x, y, weight)

    async def reader(self, name: str, taste: Taste) -> tuple[Corpus, Reader]:
        """The reader fitted on this taste, refitted only when their ratings changed."""
        from bot.recommend.model import fit_reader

        # One session for the corpus and the fit: a worker started for one serves both.
        async with self.worker.session():
            corpus = await self.corpus()
            key: ReaderKey = (name, tuple(taste.liked), tuple(taste.disliked))
            reader = self._readers.get(key)
            if reader is None:
                reader = await asyncio.to_thread(
                    fit_reader, corpus, taste.liked, taste.disliked, name=name, svm=self._svm
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
        readers not fitted yet; the cache is read on the loop only, and the readers fitted
        here are not kept (see MAX_READERS): once done, their memory goes back to the system.
        """
        # One session: a worker started for the corpus also fits the heavy readers.
        async with self.worker.session():
            return await self._order_many(jobs)

    async def _order_many(
        self, jobs: Sequence[tuple[str, Taste, Sequence[str]]]
    ) -> list[list[str]]:
        from bot.recommend.model import fit_reader, rank

        corpus = await self.corpus()
        keyed: list[tuple[ReaderKey, Taste, Sequence[str]]] = [
            ((name, tuple(t.liked), tuple(t.disliked)), t, ids) for name, t, ids in jobs
        ]
        known = {key: self._readers[key] for key, _, _ in keyed if key in self._readers}

        def work() -> list[list[str]]:
            # A reader named twice in one sweep is fitted once.
            fitted = dict(known)
            orders = []
            for key, taste, ids in keyed:
                reader = fitted.get(key)
                if reader is None:
                    reader = fitted[key] = fit_reader(
                        corpus, taste.liked, taste.disliked, name=str(key[0]), svm=self._svm
                    )
                orders.append([r.paper_id for r in rank(corpus, reader, ids, explain=False)])
            fitted.clear()
            # The fitted readers are garbage now; hand their pages back (glibc; see release).
            release_freed_memory()
            return orders

        return await asyncio.to_thread(work)

    @property
    def cached_readers(self) -> int:
        """How many fitted readers are kept for the next interactive ranking."""
        return len(self._readers)

    async def similar(self, paper_id: str, limit: int) -> list[tuple[str, float]]:
        from bot.recommend.model import similar

        corpus = await self.corpus()
        return await asyncio.to_thread(similar, corpus, paper_id, limit)
