"""What digest and alert settings share: the destination a setting applies to, its time.

A channel's digest (`digests.py`) and a user's DM alerts (`alerts.py`) are both settings
of one destination; each command re-enables a disabled destination, reads a local time
and zone the same way, and ends with the same "Next: …" sentence.
"""

from __future__ import annotations

from typing import Any

from bot.commands.registry import Arg, Context
from bot.delivery.status import next_at
from bot.delivery.timing import (
    WEEKDAYS,
    TimingError,
    complete_zones,
    parse_hhmm,
    parse_weekday,
    parse_zone,
)
from bot.errors import UsageError
from bot.messages import Notice, Reply, Tone
from bot.services.destinations import ready_destination
from bot.storage.destinations_repo import USER, DestinationRepo
from bot.storage.models import DestinationRow

TIME = Arg("time", "Local time of day, HH:MM (24-hour)")
ZONE = Arg("zone", "IANA time zone, e.g. Europe/Berlin", required=False, autocomplete="timezone")
WEEKDAY = Arg("weekday", "Day of the week, e.g. Monday (or Mon)")


def destinations(ctx: Context) -> DestinationRepo:
    """The repository every scheduling command writes to."""
    return ctx.app.destinations


async def target(ctx: Context, *, personal: bool = False) -> tuple[DestinationRow, str]:
    """The destination a setting applies to, re-enabled if it was disabled, and a note."""
    row, stopped = await ready_destination(ctx.app, ctx.user, ctx.place, personal=personal)
    note = f" Posting is enabled again (it had stopped: {stopped})." if stopped else ""
    if not row.subscriptions:
        where = "you have" if row.kind == USER else "this channel has"
        note += f" Note: {where} no subscriptions yet; add one with {ctx.incoming.prefix}subscribe."
    return row, note


def ok(text: str) -> list[Reply]:
    """One success notice."""
    return [Notice(text, tone=Tone.SUCCESS)]


def time_and_zone(args: dict[str, Any], row: DestinationRow) -> tuple[str, str]:
    """The time and zone typed, each defaulting to the destination's current one."""
    try:
        hhmm = parse_hhmm(args["time"]) if args.get("time") else row.digest_time
        zone = parse_zone(args["zone"]) if args.get("zone") else row.timezone
    except TimingError as exc:
        raise UsageError(str(exc)) from None
    return hhmm, zone


def weekly_schedule(args: dict[str, Any], row: DestinationRow) -> tuple[int, str, str]:
    """The weekday, time and zone of `digest weekly` / `alerts weekly`."""
    try:
        weekday = parse_weekday(args["weekday"])
    except TimingError as exc:
        raise UsageError(str(exc)) from None
    hhmm, zone = time_and_zone(args, row)
    return weekday, hhmm, zone


def weekly_sentence(row: DestinationRow) -> str:
    """What a weekly digest holds, said once for both commands."""
    assert row.digest_weekday is not None
    return (
        f"Every {WEEKDAYS[row.digest_weekday]} at {row.digest_time} {row.timezone}: the "
        "week's matching papers, best first, under the week's 3 most upvoted."
    )


def since(ctx: Context, row: DestinationRow, **schedule: Any) -> dict[str, Any]:
    """The settings to store; a changed schedule starts now (earlier times are not owed)."""
    if any(getattr(row, k) != v for k, v in schedule.items()):
        return {**schedule, "schedule_since": ctx.app.clock()}
    return schedule


async def next_sentence(ctx: Context, row: DestinationRow) -> str:
    """The "Next: …" sentence, from the same schedule and slots the sweep follows."""
    if row.paused:
        return f" Digests are paused here; {ctx.incoming.prefix}digest resume posts them again."
    return f" Next: {await next_at(ctx.app, row)}."


async def complete_timezone(ctx: Context, typed: str) -> list[tuple[str, str]]:
    """Offer IANA zones containing what was typed."""
    return [(n, n) for n in complete_zones(typed)]


COMPLETERS = {"timezone": complete_timezone}
