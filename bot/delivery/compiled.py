"""Parsed queries and compiled matching engines, kept across sweeps.

A sweep matches the papers against the queries of the destinations due now. The engine
compiled for a set of queries is kept, keyed by that set: the next sweep with the same
queries (the next day's 09:00 digests, a cron run's retry) reuses it, and a subscription
added or removed changes the set, so a stale engine is never used. Queries are read
through `read_query`: their stored parsed form when current, else parsed.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable

from bot.matching.engine import MatchEngine
from bot.query import Query, QueryError
from bot.query.stored import Leaves, load
from bot.services.queries import read_query

log = logging.getLogger(__name__)

KEEP_ENGINES = 4  # sets of queries kept compiled (a few digest times of the day)
# Smaller sets compile in microseconds and are not kept: a `digest preview` or `digest now`
# of one destination must not push a sweep's engine out.
KEEP_FROM = 50


class QueryCache:
    """Parsed subscription queries by their text, and engines compiled over sets of them.

    Each distinct text is read once (a million subscriptions share a few hundred thousand
    texts), and equal terms of different queries are one object.

    Read from the sweep's worker thread (parsing 20,000 queries is CPU work too); the lock
    keeps a `preview` in another thread from parsing the same text at the same moment.
    """

    def __init__(self, keep_from: int = KEEP_FROM) -> None:
        self._keep_from = keep_from
        self._parsed: dict[str, Query | None] = {}
        self._leaves: Leaves = {}  # equal terms of different queries: one object
        self._engines: OrderedDict[tuple[str, ...], tuple[MatchEngine, list[str]]] = OrderedDict()
        self._lock = threading.Lock()
        self.compiled = 0  # engines compiled and kept so far (tests read it)

    def get(self, text: str, stored: object = None, canonical: str = "") -> Query | None:
        """The query of `text`: from its stored form if given and current, else parsed."""
        found = self._parsed.get(text, self)  # read without the lock: the GIL makes it safe
        if found is not self:
            return found  # type: ignore[return-value]
        with self._lock:
            if text not in self._parsed:
                self._parsed[text] = self._read(text, stored, canonical)
            return self._parsed[text]

    def engine(
        self, texts: Iterable[str], stored: dict[str, tuple[object, str]] | None = None
    ) -> tuple[MatchEngine, list[str]]:
        """The engine over these query texts, and the texts in its subscription-id order.

        Subscription id n of the engine is the n-th text returned; texts that no longer
        parse are left out. `stored` maps a text to its (stored form, canonical).
        """
        key = tuple(sorted(set(texts)))
        with self._lock:
            found = self._engines.get(key)
            if found is not None:
                self._engines.move_to_end(key)
                return found
        known = stored or {}
        queries = [(t, self.get(t, *known.get(t, (None, "")))) for t in key]
        kept = [(t, q) for t, q in queries if q is not None]
        built = (MatchEngine([(n, q) for n, (_, q) in enumerate(kept)]), [t for t, _ in kept])
        if len(key) < self._keep_from:
            return built
        with self._lock:
            self.compiled += 1
            self._engines[key] = built
            while len(self._engines) > KEEP_ENGINES:
                self._engines.popitem(last=False)
        return built

    def _read(self, text: str, stored: object, canonical: str) -> Query | None:
        loaded = load(stored, text, canonical, self._leaves) if stored is not None else None
        if loaded is not None:
            return loaded
        query = read_query(text)  # no current stored form: parsed
        if isinstance(query, QueryError):
            # The language may have become stricter since it was saved; skip it, loudly.
            log.warning("stored subscription query %r no longer parses: %s", text, query)
            return None
        return query
