"""Make text from a paper source safe to store and to show.

Hugging Face passes along whatever submitters typed. A NUL cannot be stored in PostgreSQL
text, a lone surrogate (JSON allows `"\\ud800"`) cannot be encoded as UTF-8 by any driver,
and bidi controls let a title reorder what is shown around it. None of them carries meaning
in a paper's metadata, so they are dropped where the text enters paperbot.

(A shared helper for user-typed text is planned; until then sources use this one.)
"""

from __future__ import annotations

import re

# NUL, lone (unpaired) surrogates, and the bidi embeddings, overrides and isolates.
_UNSAFE_RE = re.compile("[\x00\ud800-\udfff\u202a-\u202e\u2066-\u2069]")

# PostgreSQL INTEGER columns hold counters; a larger number from the source means nothing.
MAX_COUNT = 2**31 - 1


def clean_text(text: str) -> str:
    """Drop NUL, lone surrogates and bidi controls from `text`."""
    return _UNSAFE_RE.sub("", text)


def clamp_count(value: int) -> int:
    """A counter (upvotes, comments, stars) within what every backend stores."""
    return max(0, min(value, MAX_COUNT))
