"""Ingest: bring papers from a source or saved files into the database (an upsert)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from bot.app import App
from bot.papers import Paper
from bot.sources.huggingface import parse_daily_items
from bot.storage.papers_repo import UpsertStats

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]  # (done, total, label)


@dataclass
class IngestReport:
    stats: UpsertStats = field(default_factory=UpsertStats)
    items: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, stats: UpsertStats) -> None:
        self.stats.new += stats.new
        self.stats.updated += stats.updated
        self.stats.unchanged += stats.unchanged
        self.stats.new_features.extend(stats.new_features)


async def store(app: App, papers: list[Paper]) -> UpsertStats:
    """Upsert papers and keep the title index current."""
    stats = await app.papers.upsert(papers, now=app.clock())
    if stats.titles:
        await app.index_titles(stats.titles)
    return stats


async def ingest_day(app: App, day: date) -> UpsertStats:
    """Fetch one day's list from the configured source and store it."""
    papers = await app.source.daily_papers(day)
    stats = await store(app, papers)
    await app.state.set(
        "last_ingest",
        {"at": app.clock().isoformat(), "day": day.isoformat(), "papers": len(papers)},
        now=app.clock(),
    )
    log.info("ingested %s: %d papers (%s)", day, len(papers), stats)
    return stats


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


async def ingest_days(
    app: App, days: Iterable[date], progress: Progress | None = None
) -> IngestReport:
    report = IngestReport()
    days = list(days)
    for i, day in enumerate(days, 1):
        stats = await ingest_day(app, day)
        report.add(stats)
        report.items += stats.new + stats.updated + stats.unchanged
        if progress:
            progress(i, len(days), day.isoformat())
    return report


async def ingest_files(
    app: App, paths: Iterable[Path], progress: Progress | None = None
) -> IngestReport:
    """Import saved `GET /api/daily_papers` responses (one JSON array per file)."""
    report = IngestReport()
    paths = list(paths)
    for i, path in enumerate(paths, 1):
        try:
            items = _read_items(path)
        except (OSError, ValueError) as exc:
            report.errors.append(f"{path}: {exc}")
            continue
        requested = _date_from_name(path)
        papers, skipped = parse_daily_items(items, requested)
        report.items += len(items)
        report.skipped += skipped
        report.add(await store(app, papers))
        if progress:
            progress(i, len(paths), path.name)
    return report


def _read_items(path: Path) -> list[object]:
    """The items of a saved daily_papers response; ValueError says what else the file is."""
    expected = "expected a saved GET /api/daily_papers response, a JSON array"
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"not UTF-8 text; {expected}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON (line {exc.lineno}, column {exc.colno}); {expected}") from None
    if not isinstance(items, list):
        kind = "a JSON object" if isinstance(items, dict) else f"a JSON {type(items).__name__}"
        raise ValueError(f"{kind}, not an array; {expected}")
    return items


def _date_from_name(path: Path) -> date | None:
    """Saved days are usually named YYYY-MM-DD.json; that is the day that was requested."""
    try:
        return date.fromisoformat(path.stem[:10])
    except ValueError:
        return None
