"""The kinds and states stored as strings in digest runs and outbox items.

`StrEnum`s: each member is its stored string, so rows written before these existed read
back the same and no migration was needed.
"""

from __future__ import annotations

from enum import StrEnum


class RunKind(StrEnum):
    """What a digest run posts."""

    DIGEST = "digest"  # the daily digest of a day, at the destination's digest time
    NOW = "now"  # `digest now`, asked for by someone there
    ALERT = "alert"  # an instant DM alert
    CATCHUP = "catchup"  # what matched while a destination was muted
    CROSSED = "crossed"  # papers that reached a trending subscription's upvote threshold


class RunStatus(StrEnum):
    """How a digest run ended."""

    QUEUED = "queued"  # its message is in the outbox, which says when it was sent
    EMPTY = "empty"  # nothing matched (and no empty digest is posted)
    SKIPPED = "skipped"  # the paper source stayed down: the slot was given up


class OutboxStatus(StrEnum):
    """Where an outbox item is."""

    PENDING = "pending"  # waiting for a (first or next) try
    SENT = "sent"  # every part posted
    FAILED = "failed"  # retries ran out; a digest or alerts command there tries again
