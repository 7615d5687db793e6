"""Quiet hours of instant alerts: a local span of the day (it may cross midnight) when no
alert goes out. What matched inside waits: the alert window keeps growing from the last
alert, so the first alert after the end carries all of it, in one message."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.delivery.timing import TimingError, at_local, local_date, parse_hhmm

_SPAN_RE = re.compile(r"\s*([^\s-]+)\s*(?:-|–|—|to)\s*([^\s-]+)\s*", re.IGNORECASE)


def parse_span(text: str) -> tuple[str, str]:
    """Read "22:00-07:00" as ("22:00", "07:00"); a TimingError says how to write it."""
    m = _SPAN_RE.fullmatch(text)
    if m is None:
        raise TimingError(
            f"{text.strip()!r} is not a span of the day; write start-end on a 24-hour clock, "
            "e.g. 22:00-07:00."
        )
    start, end = parse_hhmm(m.group(1)), parse_hhmm(m.group(2))
    if start == end:
        raise TimingError(
            f"Quiet hours {start}-{end} would be empty (or the whole day); give a start and "
            "an end that differ, e.g. 22:00-07:00."
        )
    return start, end


def is_quiet(now: datetime, start: str | None, end: str | None, zone: str) -> bool:
    """Whether `now` falls in the quiet hours [start, end) of local wall-clock time in `zone`.

    Compared on the wall clock, so DST needs nothing special: 22:00-07:00 ends at 07:00
    local on the day the clocks change too (after 8 or after 10 hours).
    """
    if not start or not end:
        return False
    local = now.astimezone(ZoneInfo(zone)).strftime("%H:%M")
    if start < end:
        return start <= local < end
    return local >= start or local < end  # crosses midnight


def quiet_until(now: datetime, end: str, zone: str) -> datetime:
    """The UTC instant the quiet hours that hold at `now` end: the next `end` on the wall
    clock (today's, or tomorrow's once today's has passed)."""
    today = local_date(now, zone)
    for day in (today, today + timedelta(days=1)):
        at = at_local(day, end, zone)
        if at > now:
            return at
    return at_local(today + timedelta(days=2), end, zone)  # unreachable: a day has an end
