"""Numbers from a paper source made safe to store (text is cleaned by `bot.text`)."""

from __future__ import annotations

# PostgreSQL INTEGER columns hold counters; a larger number from the source means nothing.
MAX_COUNT = 2**31 - 1


def clamp_count(value: int) -> int:
    """A counter (upvotes, comments, stars) within what every backend stores."""
    return max(0, min(value, MAX_COUNT))
