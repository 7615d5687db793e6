"""A day's Daily Papers: reading the day a user names, and the papers stored for it.

Shared by the `papers` command and `paperbot papers`.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import TYPE_CHECKING

from bot.errors import CommandError, UsageError
from bot.papers import Paper
from bot.services.ingest import ingest_day
from bot.sources import SourceError

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


def parse_day(text: str, today: date) -> date:
    """Read "today", "yesterday" or YYYY-MM-DD (days are UTC, as on Hugging Face)."""
    t = text.strip().lower()
    if t in ("", "today"):
        return today
    if t == "yesterday":
        return today - timedelta(days=1)
    try:
        day = date.fromisoformat(t)
    except ValueError:
        raise UsageError(f"{text!r} is not a day; use today, yesterday or YYYY-MM-DD.") from None
    if day > today:
        raise UsageError(
            f"{day.isoformat()} is in the future; Daily Papers has no list for it yet."
        )
    return day


async def day_papers(app: App, day: date, today: date) -> list[Paper]:
    """The papers featured on `day`, fetched first when the database holds none for it.

    Offline (the bundled sample) only today can be fetched: the sample is today's list.
    """
    papers = await app.papers.featured_on(day)
    if papers or not (app.online or day == today):
        return papers
    try:
        await ingest_day(app, day)
    except SourceError as exc:
        log.warning("fetching the Daily Papers of %s failed: %s", day, exc)
        # The error names the service and what went wrong once; say only what we wanted.
        raise CommandError(
            f"Could not fetch the Daily Papers of {day.isoformat()}: {exc.message.rstrip('.')}. "
            "Try again in a few minutes."
        ) from exc
    return await app.papers.featured_on(day)
