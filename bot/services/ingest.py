"""Ingest: bring papers from a source or saved files into the database (an upsert)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path

from bot.app import App
from bot.papers import Paper
from bot.sources import SourceError
from bot.sources.huggingface import parse_daily_items
from bot.storage.papers_repo import UpsertStats
from bot.storage.state_repo import IngestStatus

log = logging.getLogger(__name__)

KEEP_DAYS = 8  # per-day successes are kept this long: a round never reaches further back
MAX_SKIPPED_SHOWN = 5  # refused papers kept in the status, for `status` to show

Progress = Callable[[int, int, str], None]  # (done, total, label)


@dataclass
class IngestReport:
    stats: UpsertStats = field(default_factory=UpsertStats)
    items: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)  # what went wrong, one line each
    failed_days: list[date] = field(default_factory=list)
    source_errors: list[str] = field(default_factory=list)  # days the source failed on
    refused: list[str] = field(default_factory=list)  # papers the database did not take

    def add(self, stats: UpsertStats, where: str) -> None:
        self.stats.add(stats)
        refused = [f"{where}: paper {pid}: {why}" for pid, why in stats.failed]
        self.refused += refused
        self.errors += refused


async def store(app: App, papers: list[Paper]) -> UpsertStats:
    """Upsert papers and keep the title index current."""
    stats = await app.papers.upsert(papers, now=app.clock())
    if stats.titles:
        await app.index_titles(stats.titles)
    return stats


async def ingest_day(app: App, day: date) -> UpsertStats:
    """Fetch one day's list from the configured source and store it.

    This records no poll round: a look-up of one day (`papers 2025-01-06`) says nothing
    about whether today's list is in. Rounds are `poll_round`'s.
    """
    papers = await app.source.daily_papers(day)
    stats = await store(app, papers)
    log.info("ingested %s: %d papers (%s)", day, len(papers), stats)
    return stats


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


async def poll_round(
    app: App, days: Iterable[date], progress: Progress | None = None
) -> IngestReport:
    """Fetch and store each day, then record the round's outcome once (`IngestStatus`).

    A day that fails does not stop the others: Hugging Face has failed on one date's list
    only. Digests wait for a round in which the recent days all succeeded.
    """
    days = list(days)
    report = IngestReport()
    done: dict[date, datetime] = {}
    error: tuple[str, datetime] | None = None
    for i, day in enumerate(days, 1):
        try:
            stats = await ingest_day(app, day)
        except SourceError as exc:
            error = (f"list of {day.isoformat()}: {str(exc).rstrip('.')}", app.clock())
            report.errors.append(error[0])
            report.source_errors.append(error[0])
            report.failed_days.append(day)
            log.warning("paper source failed for %s: %s Digests wait for it.", day, exc)
        else:
            done[day] = app.clock()
            report.add(stats, where=day.isoformat())
            report.items += stats.new + stats.updated + stats.unchanged
        if progress:
            progress(i, len(days), day.isoformat())
    before = await app.state.ingest_status()
    status = round_status(before, days, done, error, report, app.clock())
    await app.state.save_ingest_status(status, now=app.clock())
    return report


async def refresh_round(app: App, days: Iterable[date]) -> int:
    """Fetch past days' lists again for their upvotes; how many days were refreshed.

    Not a poll round: nothing is recorded in the ingest status, so a failing refresh never
    holds a digest back; a day that fails is logged and refreshed by the next poll.
    """
    refreshed = 0
    for day in days:
        try:
            await ingest_day(app, day)
        except SourceError as exc:
            log.warning("refreshing the upvotes of %s failed: %s", day, exc)
        else:
            refreshed += 1
    return refreshed


def round_status(
    before: IngestStatus,
    days: list[date],
    done: dict[date, datetime],
    error: tuple[str, datetime] | None,
    report: IngestReport,
    now: datetime,
) -> IngestStatus:
    """The status after a round that polled `days` and stored those in `done`."""
    recent = {d for d in days if d >= now.date() - timedelta(days=1)}
    complete = recent <= set(done)
    day_ok = {**dict(before.day_ok), **done}
    oldest = now.date() - timedelta(days=KEEP_DAYS)
    return replace(
        before,
        last_complete_round_at=now if complete else before.last_complete_round_at,
        last_round_days=tuple(days) if complete else before.last_round_days,
        last_error=error[0] if error else before.last_error,
        last_error_at=error[1] if error else before.last_error_at,
        failing_since=_failing_since(before, error),
        day_ok=tuple(sorted((d, t) for d, t in day_ok.items() if d >= oldest)),
        retry_days=tuple(d for d in days if d not in done and d >= oldest),
        skipped_items=tuple(report.refused[:MAX_SKIPPED_SHOWN]),
    )


def _failing_since(before: IngestStatus, error: tuple[str, datetime] | None) -> datetime | None:
    if error is None:
        return before.failing_since
    return before.failing_since if before.failing else error[1]


async def ingest_days(
    app: App, days: Iterable[date], progress: Progress | None = None
) -> IngestReport:
    """`paperbot ingest --date/--since`: a poll round of those days."""
    return await poll_round(app, days, progress)


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
        report.add(await store(app, papers), where=str(path))
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
