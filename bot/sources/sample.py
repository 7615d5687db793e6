"""The bundled offline sample: 76 Daily Papers titles and abstracts, for runs without network.

`sample_papers.json` was built once from a saved copy of the huggingface.co/papers page
(`seeds/daily_papers_page.txt`: a few header lines, then for each paper its title line, a blank
line and its abstract line). Each title/abstract pair became `{"title", "abstract"}` in page
order, with whitespace collapsed. Nothing else was added: the page shows no arXiv ids, authors,
dates or upvotes, so the sample has none. Papers get ids `sample-01`..`sample-76`, which are
not arXiv ids (`Paper.arxiv_id` is None for them), and upvotes 0.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import date
from importlib import resources

from bot.papers import Paper, normalize_space
from bot.sources.huggingface import utc_today

log = logging.getLogger(__name__)

SAMPLE_RESOURCE = "sample_papers.json"


def _read_entries() -> list[dict[str, str]]:
    text = resources.files("bot.sources").joinpath(SAMPLE_RESOURCE).read_text(encoding="utf-8")
    entries = json.loads(text)
    if not isinstance(entries, list):
        raise ValueError(f"{SAMPLE_RESOURCE} must hold a JSON array")
    return entries


def load_sample_papers(day: date) -> list[Paper]:
    """Return the bundled sample as papers featured on `day`, in page order."""
    return [
        Paper(
            id=f"sample-{index:02d}",
            title=normalize_space(entry["title"]),
            abstract=normalize_space(entry["abstract"]),
            featured_on=(day,),
            upvotes=0,
        )
        for index, entry in enumerate(_read_entries(), start=1)
    ]


class SampleSource:
    """A `PaperSource` that serves the bundled sample as today's (UTC) Daily Papers."""

    def __init__(self, *, today: Callable[[], date] = utc_today) -> None:
        self._today = today

    async def daily_papers(self, day: date) -> list[Paper]:
        """Return the sample for today; [] for any other day."""
        if day != self._today():
            return []
        return load_sample_papers(day)

    async def paper(self, arxiv_id: str) -> Paper | None:
        """Return None: the sample knows no arXiv ids."""
        return None

    async def search(self, query: str, limit: int = 10) -> list[Paper]:
        """Return []: the sample cannot be searched by arXiv id or on HF."""
        return []

    async def close(self) -> None:
        """Do nothing; present so callers can close any source alike."""
