"""Where papers come from: Hugging Face Daily Papers, arXiv, and the bundled offline sample."""

from __future__ import annotations

from datetime import date
from typing import Protocol, runtime_checkable

from bot.papers import Paper
from bot.sources.arxiv import ArxivClient
from bot.sources.http import SourceError
from bot.sources.huggingface import (
    HuggingFaceClient,
    parse_daily_item,
    parse_daily_items,
    utc_today,
)
from bot.sources.sample import SampleSource, load_sample_papers


@runtime_checkable
class PaperSource(Protocol):
    """What the core needs from a source of Daily Papers."""

    async def daily_papers(self, day: date) -> list[Paper]:
        """Return the papers featured on `day` (UTC); raise SourceError if the source is down."""
        ...

    async def paper(self, arxiv_id: str) -> Paper | None:
        """Return one paper by arXiv id, or None if the source does not know it."""
        ...

    async def search(self, query: str, limit: int = 10) -> list[Paper]:
        """Return papers matching free text, best first."""
        ...


__all__ = [
    "ArxivClient",
    "HuggingFaceClient",
    "PaperSource",
    "SampleSource",
    "SourceError",
    "load_sample_papers",
    "parse_daily_item",
    "parse_daily_items",
    "utc_today",
]
