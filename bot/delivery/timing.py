"""Local digest times: parsing HH:MM and IANA zones, and when a destination's digest is due."""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

_HHMM_RE = re.compile(r"^(\d{1,2})[:.h](\d{2})$")


class TimingError(ValueError):
    """A time or zone the user typed is not valid; `str()` says how to fix it."""


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# What people type for a weekday: the full name, its first three letters, and the usual
# longer abbreviations ("tues", "thurs").
_WEEKDAY_NAMES = {
    **{name.lower(): n for n, name in enumerate(WEEKDAYS)},
    **{name[:3].lower(): n for n, name in enumerate(WEEKDAYS)},
    "tues": 1,
    "weds": 2,
    "thur": 3,
    "thurs": 3,
}


def parse_weekday(text: str) -> int:
    """Read "monday", "Mon" or "thurs" as a weekday number (0 Monday .. 6 Sunday)."""
    n = _WEEKDAY_NAMES.get(text.strip().lower().rstrip("."))
    if n is None:
        shown = text.strip()[:20]
        raise TimingError(
            f"{shown!r} is not a day of the week; use Monday to Sunday (or Mon, Tue, ...)."
        )
    return n


def parse_hhmm(text: str) -> str:
    """Read "9:30", "09:30" or "21.05" as a canonical "HH:MM"."""
    m = _HHMM_RE.match(text.strip().lower())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise TimingError(
            f"{text!r} is not a time of day; use HH:MM on a 24-hour clock, e.g. 09:30."
        )
    return f"{int(m.group(1)):02d}:{int(m.group(2)):02d}"


@cache
def zone_names() -> tuple[str, ...]:
    """Every IANA zone name, sorted: read once, as `available_timezones` walks the tzdata
    files on each call (tens of milliseconds, too slow for every autocomplete keystroke)."""
    return tuple(sorted(available_timezones()))


@cache
def _zone_keys() -> dict[str, str]:
    return {name.lower(): name for name in zone_names()}


@cache
def _completion_pool() -> tuple[tuple[str, str], ...]:
    return _fold(zone_names())


def _fold(zones: Iterable[str]) -> tuple[tuple[str, str], ...]:
    # Regional names ("Europe/Berlin") before bare aliases ("CET", "EST5EDT"), then A-Z.
    return tuple((z.lower(), z) for z in sorted(zones, key=lambda z: ("/" not in z, z)))


def complete_zones(typed: str, limit: int = 25, zones: Iterable[str] | None = None) -> list[str]:
    """Zones containing `typed` (case-insensitive, a space read as "_"), prefix matches first.

    A filter over the list folded once, so a keystroke costs a few hundred substring tests;
    `zones` replaces the IANA list (tests).
    """
    needle = typed.strip().lower().replace(" ", "_")
    pool = _completion_pool() if zones is None else _fold(zones)
    first = [z for folded, z in pool if folded.startswith(needle)]
    if len(first) < limit:
        first += [z for folded, z in pool if needle in folded and not folded.startswith(needle)]
    return first[:limit]


def parse_zone(text: str) -> str:
    """Return the IANA name for `text` (case-insensitive), or say which zones are close."""
    key = text.strip().lower()
    if key in ("utc", "z", "gmt"):
        # Before the zone list: reading it walks the tzdata files, and DEFAULT_TIMEZONE=UTC
        # (the default) is checked at every `paperbot` start.
        return "UTC"
    names = _zone_keys()
    if key in names:
        name = names[key]
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
        else:
            return name
    from rapidfuzz import process  # only for a zone that is not one: a start-up needs none

    close = [names[c] for c, _, _ in process.extract(key, list(names), limit=3, score_cutoff=60)]
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    raise TimingError(
        f"{text!r} is not a time zone I know.{hint} Use an IANA name such as Europe/Berlin, "
        "America/New_York or UTC."
    )


def at_local(day: date, hhmm: str, zone: str) -> datetime:
    """The UTC instant of `hhmm` on local `day` in `zone`.

    On a DST gap (02:30 that does not exist) zoneinfo reads the wall time with the offset
    before the change, i.e. one hour later in real time; on a fold the first occurrence wins.
    """
    hh, mm = (int(x) for x in hhmm.split(":"))
    local = datetime.combine(day, time(hh, mm), tzinfo=ZoneInfo(zone))
    return local.astimezone(UTC)


def local_date(now: datetime, zone: str) -> date:
    return now.astimezone(ZoneInfo(zone)).date()


def slot_stamp(t: datetime) -> str:
    """A moment as it appears in a run's slot name ("alert-20250203T090000"), always in UTC.

    Slots are unique per destination across processes: the same moment must give the same
    name whatever zone the datetime carries.
    """
    return t.astimezone(UTC).strftime("%Y%m%dT%H%M%S")


# How many local days before today a weekly digest may still be owed: the reach of a
# catch-up is at most 48 hours (`CATCH_UP_HOURS`), and a DST change adds one.
WEEKLY_LOOKBACK = 3
WEEKLY_SLOT = "week-"  # the slot prefix of a weekly digest's run


def digest_slot(day: date, weekly: bool) -> str:
    """The run slot of a digest on local `day`: its date, with "week-" for a weekly one.

    Distinct names, so a weekly digest on a day a daily one was posted (the cadence changed
    that day) is its own run, not taken by the daily one.
    """
    return f"{WEEKLY_SLOT}{day.isoformat()}" if weekly else day.isoformat()


@dataclass(frozen=True)
class Schedule:
    """When a destination's daily (or weekly) digest is owed."""

    hhmm: str  # local time of day
    zone: str  # IANA zone
    weekdays_only: bool
    # When this schedule was set (the destination created, its time changed, resumed): a
    # digest time before it is not owed. Only digests missed while the bot was down are
    # caught up, never one that was due before anyone asked for it.
    since: datetime
    weekday: int | None = None  # the weekly cadence's day (0 Monday); None: daily

    @property
    def weekly(self) -> bool:
        return self.weekday is not None

    def slot(self, day: date) -> str:
        return digest_slot(day, self.weekly)


def owed(
    schedule: Schedule, now: datetime, reach: timedelta, *, days_ahead: int = 8
) -> Iterator[tuple[date, datetime]]:
    """(local date, UTC time) of every digest still owed at `now`, oldest first.

    That is each digest time from yesterday (local) on that is at or after `since` and
    less than `reach` ago: a bot that was down at digest time still posts it on start.
    Whether one was posted already (its slot taken) is for the caller to say. Days up to
    `days_ahead` after today are looked at (a weekend and a DST change fit in a week).
    A weekly schedule owes its weekday only, and looks back `WEEKLY_LOOKBACK` days: a
    weekly digest missed by a downtime is caught up as long as `reach` allows, whichever
    local day that is (a daily one is caught up by the next day's at the latest).
    """
    today = local_date(now, schedule.zone)
    back = WEEKLY_LOOKBACK if schedule.weekly else 1
    for offset in range(-back, days_ahead + 1):
        day = today + timedelta(days=offset)
        if schedule.weekly:
            if day.weekday() != schedule.weekday:
                continue
        elif schedule.weekdays_only and day.weekday() >= 5:
            continue
        at = at_local(day, schedule.hhmm, schedule.zone)
        if at >= schedule.since and now <= at + reach:
            yield day, at


def due_slots(schedule: Schedule, now: datetime, reach: timedelta) -> list[tuple[date, datetime]]:
    """The owed digests whose time has come, oldest first: what the sweep considers.

    Only yesterday and today (local) can have come for a daily schedule (the last few
    days for a weekly one): the sweep asks this for every due destination, so it looks no
    further.
    """
    return [(day, at) for day, at in owed(schedule, now, reach, days_ahead=0) if at <= now]


def next_digest(
    schedule: Schedule, now: datetime, reach: timedelta, done: Container[date] = ()
) -> datetime:
    """The UTC time of the next digest: the first owed one whose local date is not `done`.

    It is in the past when a digest is due and not composed yet (the sweep is about to,
    or it waits for the paper source). The sweep composes exactly these (`due_slots`),
    one slot per local date, so `status` and every reply say what will happen.
    """
    for day, at in owed(schedule, now, reach):
        if day not in done:
            return at
    raise AssertionError("a digest is due within a week")


def describe_local(when: datetime, zone: str) -> str:
    """Read `when` as people there do: "Tue 2024-12-24 09:00 CET"."""
    local = when.astimezone(ZoneInfo(zone))
    return local.strftime("%a %Y-%m-%d %H:%M ") + (local.tzname() or zone)
