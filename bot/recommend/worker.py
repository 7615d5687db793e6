"""scikit-learn's part of the recommender, in a worker process that ends after each use.

Why a process: importing scikit-learn costs ~65 MB resident, and fitting the corpus (every
stored paper read, the vectoriser's full n-gram vocabulary before its cut) peaks ~170 MB
higher, of which the allocators kept ~110 MB after it was freed. In the bot's own process
both stayed for the rest of its life (~385 MB idle after a sweep; bench/RESULTS.md). A
process that exits gives all of it back; the bot keeps only what ranking needs (numpy and
SciPy's sparse matrices, the corpus, a few fitted readers). The results are the same
functions' results: `build_corpus` and `svm_fit` run unchanged there.

The pool is started on first use (a `spawn`ed process: forking a process with threads and an
event loop is unsafe) and shut down when the last user leaves (`session`), so a sweep that
fits many heavy readers pays the start once, and an idle bot holds no worker at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from bot.papers import Paper
    from bot.recommend.model import Corpus

log = logging.getLogger(__name__)

T = TypeVar("T")


class Worker:
    """A one-process pool, alive while some `session` is open."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()  # call() runs in threads
        self._users = 0  # open sessions; touched on the event loop only
        self.started = 0  # pools started so far (tests read it)

    @property
    def running(self) -> bool:
        return self._pool is not None

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[Worker]:
        """Keep the worker (once started) until the last session ends, then end it."""
        self._users += 1
        try:
            yield self
        finally:
            self._users -= 1
            if self._users == 0:
                await asyncio.to_thread(self.close)

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run fn(*args) in the worker process, starting it if needed (blocking: a thread's)."""
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=multiprocessing.get_context("spawn")
                )
                self.started += 1
            # Submitted under the lock: close() cannot shut this pool down in between.
            future = self._pool.submit(fn, *args)
        return future.result()

    def close(self) -> None:
        """End the worker process, if one runs."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
            log.debug("recommender worker process ended")


def corpus_from_database(url: str) -> Corpus:
    """Read every stored paper and fit the corpus: in the worker, so that the bot's process
    never holds 10,000 papers' ORM rows and texts at once (~100 MB at their peak, of which
    ~45 MB stayed fragmented after they were freed; bench/RESULTS.md)."""
    from bot.recommend.model import build_corpus
    from bot.storage.db import make_engine, make_sessionmaker
    from bot.storage.papers_repo import PaperRepo

    async def read() -> list[Paper]:
        engine = make_engine(url)
        try:
            return await PaperRepo(make_sessionmaker(engine)).all_papers()
        finally:
            await engine.dispose()

    return build_corpus(asyncio.run(read()))
