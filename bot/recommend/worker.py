"""scikit-learn's part of the recommender, in a worker process that ends after each use.

Why a process: importing scikit-learn costs ~50 MB resident, and fitting the TF-IDF
vocabulary over 10,000 papers allocates millions of short-lived n-gram strings whose freed
memory the interpreter's allocator keeps. In the bot's own process both stayed for the rest
of its life (~300 MB idle after the first ranking; bench/RESULTS.md). A process that exits
gives all of it back; the bot keeps only what ranking needs (numpy and SciPy's sparse
matrices, the corpus, a few fitted readers). The results are the same functions' results:
`build_corpus` and `svm_fit` run unchanged there.

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
from typing import Any, TypeVar

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
