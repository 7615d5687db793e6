"""A paper source that also saves each day's answer as it came, for later imports and benches."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from bot.papers import Paper
from bot.sources.huggingface import HuggingFaceClient, parse_daily_items


class SavingSource:
    """Hugging Face, with every day's `GET /api/daily_papers` items written to `folder`.

    Each day goes to `YYYY-MM-DD.json`, the JSON array Hugging Face answered (its pages
    joined), which is what `paperbot ingest --from-file` and the benchmarks' `--data` read.
    Look-ups and searches go straight to Hugging Face.
    """

    def __init__(self, inner: HuggingFaceClient, folder: Path) -> None:
        self._inner = inner
        self._folder = folder

    async def daily_papers(self, day: date) -> list[Paper]:
        items = await self._inner.daily_items(day)
        if items:  # a weekend's empty list is not worth a file
            self._folder.mkdir(parents=True, exist_ok=True)
            path = self._folder / f"{day.isoformat()}.json"
            # Written whole, then renamed: an interrupted run leaves no half file to import.
            partial = path.with_suffix(".json.partial")
            partial.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
            partial.replace(path)
        papers, _ = parse_daily_items(items, day)
        return papers

    async def paper(self, arxiv_id: str) -> Paper | None:
        return await self._inner.paper(arxiv_id)

    async def search(self, query: str, limit: int = 10) -> list[Paper]:
        return await self._inner.search(query, limit)

    async def close(self) -> None:
        await self._inner.close()
