"""DM alerts: instant alerts after each ingest, and one catch-up message when a mute ends."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.delivery.digest import Occasion
from bot.delivery.quiet import is_quiet
from bot.delivery.timing import slot_stamp
from bot.storage.due_reads import Destination
from bot.storage.kinds import RunKind

INSTANT = "instant"
DAILY = "daily"
MAX_MUTE = timedelta(days=30)
_DURATION = re.compile(r"(?P<value>[0-9]+)(?P<unit>min|m|h|d|w)")
_MAX_UNITS = 1_000_000  # a million weeks still fits a timedelta


def mute_occasions(
    d: Destination,
    now: datetime,
    horizon: datetime,
    latest_seen: datetime | None,
    last_horizon: datetime | None,
) -> list[Occasion] | None:
    """What a muted or instant-alerts destination is owed now; None for ordinary digests.

    While muted nothing is posted (and nothing recorded), so the window of the catch-up,
    composed once the mute has ended, covers everything that matched meanwhile.
    """
    if d.muted_until is not None:
        if d.muted_until > now:
            return []
        return [
            Occasion(
                d, f"catchup-{slot_stamp(d.muted_until)}", RunKind.CATCHUP, due_at=d.muted_until
            )
        ]
    if is_instant(d):
        if is_quiet(now, d.quiet_start, d.quiet_end, d.timezone):
            return []  # nothing recorded: the first alert after the quiet hours takes it all
        # One batched alert per ingest that brought something new since the last one; the
        # slot names the ingest, so every process derives the same one and only one wins.
        if latest_seen is not None and (last_horizon is None or latest_seen > last_horizon):
            return [Occasion(d, f"alert-{slot_stamp(horizon)}", RunKind.ALERT, due_at=horizon)]
        return []
    return None


def is_instant(d: Destination) -> bool:
    return d.kind == "user" and d.alerts_mode == INSTANT


def parse_duration(text: str) -> timedelta | None:
    """Read "3d", "12h", "1w", "90m" (or "3 days"); None if it is not a duration.

    Only ASCII digits count ("²d" or "٣d" are not durations), and an absurd number is
    clamped to a million units, so a caller's cap check answers it instead of an overflow.
    """
    t = text.strip().lower().replace(" ", "")
    units = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    for suffix in ("minutes", "minute", "hours", "hour", "days", "day", "weeks", "week"):
        if t.endswith(suffix):
            t = t[: -len(suffix)] + suffix[0]
            break
    match = _DURATION.fullmatch(t)
    if match is None:
        return None
    digits = match["value"].lstrip("0") or "0"
    # Python refuses to convert over 4,300 digits; anything over 7 is past every cap anyway.
    value = _MAX_UNITS if len(digits) > 7 else min(int(digits), _MAX_UNITS)
    return timedelta(**{units[match["unit"]]: value}) if value > 0 else None
