"""The process's Prometheus metrics, in a registry of its own: one per App, never global.

Tests run many Apps in one process, and two bots in one process must not add up their
counts, so nothing here touches prometheus_client's default registry. Labels take only
values from small fixed sets (platform, outcome, command name, run kind): never user text,
ids or reasons as typed.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter, Histogram

# Digests are due at a minute and may wait hours for Hugging Face: seconds to a day.
LAG_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400)
COMMAND_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
SWEEP_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
# Sent items whose lag is measured at the next scrape (see `PostedItem`); beyond this many
# unscraped ones the oldest are dropped, so a bot nobody scrapes keeps bounded memory.
MAX_PENDING_LAGS = 10_000


class SendOutcome(StrEnum):
    """What became of one post, as the `outcome` label of paperbot_messages_total."""

    SENT = "sent"  # the platform accepted the message
    RETRIED = "retried"  # a passing failure (5xx, timeout, long 429): tried again later
    REJECTED = "rejected"  # the platform refused this message (tried a few times, given up)
    FAILED = "failed"  # given up: the destination is gone (disabled), or retries ran out
    HALTED = "halted"  # the platform refused the bot's credentials: the platform stopped


@dataclass(frozen=True)
class PostedItem:
    """An outbox item whose every part was posted, waiting to have its lag measured.

    The scheduled time is the run's (a digest's local date at the destination's digest
    time), read in one query per scrape rather than one per item on the sending path.
    """

    run_id: int
    platform: str
    digest_time: str
    timezone: str
    posted_at: datetime


class Metrics:
    """Counters and histograms the core updates as it works."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock  # seconds, monotonic: what the duration histograms measure with
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages = Counter(
            "paperbot_messages",
            "Digest and alert messages by platform and outcome; a message posted in "
            "several parts counts once (its parts: paperbot_message_parts_total).",
            ["platform", "outcome"],
            registry=r,
        )
        self.message_parts = Counter(
            "paperbot_message_parts",
            "Parts posted, by platform: a long digest goes out as several posts.",
            ["platform"],
            registry=r,
        )
        self.rate_limited = Counter(
            "paperbot_rate_limited",
            "Rate-limit answers (429), by platform: those the chat library waited out "
            "itself and those handed back to the delivery layer, each once.",
            ["platform"],
            registry=r,
        )
        self.digest_lag = Histogram(
            "paperbot_digest_lag_seconds",
            "Seconds from a digest's scheduled time (an alert's or digest now's queueing) "
            "to its last message posted, by platform and run kind.",
            ["platform", "kind"],
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.ingest_polls = Counter(
            "paperbot_ingest_polls",
            "Poll rounds of the paper source by result (ok, partial, error).",
            ["result"],
            registry=r,
        )
        self.command_seconds = Histogram(
            "paperbot_command_duration_seconds",
            "Time to answer a command, by platform and command.",
            ["platform", "command"],
            buckets=COMMAND_BUCKETS,
            registry=r,
        )
        self.sweep_seconds = Histogram(
            "paperbot_sweep_duration_seconds",
            "Time one whole digest sweep took: reading what is due, matching, recording.",
            buckets=SWEEP_BUCKETS,
            registry=r,
        )
        self.matching_seconds = Histogram(
            "paperbot_matching_duration_seconds",
            "Time a digest sweep spent matching papers to subscriptions and ranking them "
            "(sweeps with nothing due match nothing and are not counted).",
            buckets=SWEEP_BUCKETS,
            registry=r,
        )
        self.pending_lags: deque[PostedItem] = deque(maxlen=MAX_PENDING_LAGS)

    def posted(self, platform: str) -> None:
        """One message (every part of it) posted."""
        self.messages.labels(platform=platform, outcome=SendOutcome.SENT).inc()

    def part_posted(self, platform: str) -> None:
        self.message_parts.labels(platform=platform).inc()

    def post_failed(self, platform: str, outcome: SendOutcome) -> None:
        self.messages.labels(platform=platform, outcome=outcome).inc()

    def limited(self, platform: str) -> None:
        self.rate_limited.labels(platform=platform).inc()

    def item_done(self, item: PostedItem) -> None:
        self.pending_lags.append(item)

    def polled(self, result: str) -> None:
        self.ingest_polls.labels(result=result).inc()

    @contextmanager
    def command(self, platform: str, name: str) -> Iterator[None]:
        """Time one command; `name` must come from the registry (a bounded set)."""
        with self._timed(self.command_seconds.labels(platform=platform, command=name)):
            yield

    def sweep(self) -> AbstractContextManager[None]:
        """Time one whole digest sweep."""
        return self._timed(self.sweep_seconds)

    def matching(self) -> AbstractContextManager[None]:
        """Time the matching of one sweep (not its reads and writes around it)."""
        return self._timed(self.matching_seconds)

    @contextmanager
    def _timed(self, histogram: Histogram) -> Iterator[None]:
        started = self.clock()
        try:
            yield
        finally:
            histogram.observe(self.clock() - started)

    def take_pending_lags(self) -> list[PostedItem]:
        items = list(self.pending_lags)
        self.pending_lags.clear()
        return items
