"""digest …: when and how a channel (or a DM) gets its daily digest."""

from __future__ import annotations

from typing import Any

from bot.commands.registry import Arg, Command, Context
from bot.commands.schedule import (
    TIME,
    WEEKDAY,
    ZONE,
    destinations,
    next_sentence,
    ok,
    since,
    target,
    time_and_zone,
    weekly_schedule,
    weekly_sentence,
)
from bot.delivery.status import schedule
from bot.delivery.sweep import Sweeper
from bot.errors import CommandError
from bot.messages import Notice, Reply, Tone
from bot.plural import plural
from bot.storage.destinations_repo import describe

MAX_DIGEST = 50


async def digest_time_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Set when the daily digest is posted here: a local time and an IANA time zone."""
    row, note = await target(ctx)
    hhmm, zone = time_and_zone(args, row)
    row = await destinations(ctx).update(row.id, **since(ctx, row, digest_time=hhmm, timezone=zone))
    nxt = await next_sentence(ctx, row)
    return ok(f"The digest for {describe(row)} is posted at {schedule(row)}.{nxt}{note}")


async def digest_daily_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Post the digest daily (the default cadence), optionally at a new time and zone."""
    row, note = await target(ctx)
    hhmm, zone = time_and_zone(args, row)
    values = since(ctx, row, digest_weekday=None, digest_time=hhmm, timezone=zone)
    row = await destinations(ctx).update(row.id, **values)
    nxt = await next_sentence(ctx, row)
    return ok(f"The digest for {describe(row)} is posted at {schedule(row)}.{nxt}{note}")


async def digest_weekly_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Post one digest a week instead of daily: the week's papers, the most discussed first."""
    row, note = await target(ctx)
    weekday, hhmm, zone = weekly_schedule(args, row)
    values = since(ctx, row, digest_weekday=weekday, digest_time=hhmm, timezone=zone)
    row = await destinations(ctx).update(row.id, **values)
    back = f" Back to daily: {ctx.incoming.prefix}digest daily."
    return ok(
        f"Weekly digest for {describe(row)}. {weekly_sentence(row)}"
        f"{await next_sentence(ctx, row)}{back}{note}"
    )


async def digest_max_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Set how many papers a digest lists at most (the rest are counted at the end)."""
    row, note = await target(ctx)
    row = await destinations(ctx).update(row.id, digest_max=args["count"])
    return ok(f"Digests for {describe(row)} list up to {plural(row.digest_max, 'paper')}.{note}")


async def digest_min_upvotes_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Leave papers with fewer upvotes out of the digest."""
    row, note = await target(ctx)
    row = await destinations(ctx).update(row.id, min_upvotes=args["upvotes"])
    what = (
        "list every matching paper"
        if row.min_upvotes == 0
        else f"only list papers with at least {plural(row.min_upvotes, 'upvote')}"
    )
    return ok(f"Digests for {describe(row)} {what}.{note}")


async def _weekdays(ctx: Context, only: bool) -> list[Reply]:
    row, note = await target(ctx)
    # Days of the week are a daily cadence's: choosing them switches a weekly one back.
    values = since(ctx, row, weekdays_only=only, digest_weekday=None)
    row = await destinations(ctx).update(row.id, **values)
    extra = " Monday's digest includes the weekend's papers." if only else ""
    return ok(
        f"The digest for {describe(row)} is posted at {schedule(row)}.{extra}"
        f"{await next_sentence(ctx, row)}{note}"
    )


async def digest_weekdays_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Post the digest on weekdays only (Monday's includes the weekend)."""
    return await _weekdays(ctx, True)


async def digest_everyday_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Post the digest every day, weekends included."""
    return await _weekdays(ctx, False)


async def digest_pause_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Stop posting digests here until `digest resume`."""
    row, note = await target(ctx)
    await destinations(ctx).update(row.id, paused=True)
    return ok(
        f"Digests for {describe(row)} are paused. Resume with "
        f"{ctx.incoming.prefix}digest resume.{note}"
    )


async def digest_resume_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Post digests here again."""
    row, note = await target(ctx)
    # Digest times that passed while paused are not owed: the next is the next scheduled one.
    row = await destinations(ctx).update(row.id, **since(ctx, row, paused=False))
    return ok(f"Digests for {describe(row)} resume.{await next_sentence(ctx, row)}{note}")


async def digest_threads_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Post each digest's papers in a thread under its header (on), or in the channel (off)."""
    on = args["mode"] == "on"
    if ctx.place.is_dm:
        raise CommandError(
            "Threads are for channels: in direct messages each digest stays one message. "
            f"Run {ctx.incoming.prefix}digest threads on in the channel that gets the digest."
        )
    if on and ctx.place.cannot_thread:
        raise CommandError(ctx.place.cannot_thread)
    row, note = await target(ctx)
    row = await destinations(ctx).update(row.id, threads=on)
    if on:
        what = (
            f"Digests for {describe(row)} post their header here and each paper in a thread "
            "under it, from the next digest on."
        )
    else:
        what = f"Digests for {describe(row)} post their papers in the channel again."
    return ok(f"{what}{note}")


async def digest_preview_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Show what a digest posted now would list (posts and records nothing)."""
    row = await destinations(ctx).find(ctx.user, ctx.place)
    if row is None or not row.subscriptions:
        raise CommandError(
            "There are no subscriptions here, so a digest would be empty. "
            f"Add one with {ctx.incoming.prefix}subscribe <query>."
        )
    return [await Sweeper(ctx.app).preview(row)]


async def digest_now_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Post a digest of everything new here now, without waiting for the digest time."""
    row, note = await target(ctx)
    if not row.subscriptions:
        raise CommandError(
            f"There are no subscriptions here; add one with {ctx.incoming.prefix}subscribe "
            "<query> first."
        )
    recorded = await Sweeper(ctx.app).compose_now(row)
    if recorded is None or recorded.outbox_id is None:
        return [
            Notice(
                "Nothing new matches the subscriptions here since the last digest, so there "
                f"is nothing to post.{note}",
                tone=Tone.INFO,
            )
        ]
    return ok(f"Posting a digest of {plural(recorded.listed, 'paper')} here in a moment.{note}")


COMMANDS = [
    Command(
        name="digest time",
        help="Set when the daily digest is posted: local time and time zone.",
        usage="digest time <HH:MM> [time zone]",
        handler=digest_time_command,
        args=(TIME, ZONE),
        manages_channel=True,
        posts_here=True,
        examples=("digest time 09:30 Europe/Berlin", "digest time 8:00"),
    ),
    Command(
        name="digest daily",
        help="Post the digest every day (the default), optionally at HH:MM in a time zone.",
        usage="digest daily [HH:MM] [time zone]",
        handler=digest_daily_command,
        args=(Arg("time", "Local time of day, HH:MM (24-hour)", required=False), ZONE),
        manages_channel=True,
        posts_here=True,
        examples=("digest daily", "digest daily 09:30 Europe/Berlin"),
    ),
    Command(
        name="digest weekly",
        help="Post one digest a week (the week's papers, most discussed first) instead of daily.",
        usage="digest weekly <weekday> <HH:MM> [time zone]",
        handler=digest_weekly_command,
        args=(WEEKDAY, TIME, ZONE),
        manages_channel=True,
        posts_here=True,
        examples=("digest weekly Monday 09:00 Europe/Berlin", "digest weekly fri 16:30"),
    ),
    Command(
        name="digest max",
        help=f"Set how many papers a digest lists (default 10, at most {MAX_DIGEST}).",
        usage="digest max <count>",
        handler=digest_max_command,
        args=(Arg("count", "Papers per digest", kind="int", min_value=1, max_value=MAX_DIGEST),),
        manages_channel=True,
        examples=("digest max 15",),
    ),
    Command(
        name="digest min-upvotes",
        help="Only list papers with at least this many upvotes (0 lists all).",
        usage="digest min-upvotes <number>",
        handler=digest_min_upvotes_command,
        args=(Arg("upvotes", "Minimum upvotes", kind="int", min_value=0, max_value=100000),),
        manages_channel=True,
        examples=("digest min-upvotes 5",),
    ),
    Command(
        name="digest weekdays",
        help="Post the digest Monday to Friday only; Monday's includes the weekend.",
        usage="digest weekdays",
        handler=digest_weekdays_command,
        manages_channel=True,
    ),
    Command(
        name="digest everyday",
        help="Post the digest every day, weekends included.",
        usage="digest everyday",
        handler=digest_everyday_command,
        manages_channel=True,
    ),
    Command(
        name="digest pause",
        help="Stop posting digests until resumed.",
        usage="digest pause",
        handler=digest_pause_command,
        manages_channel=True,
    ),
    Command(
        name="digest resume",
        help="Post digests again (also re-enables posting after an error).",
        usage="digest resume",
        handler=digest_resume_command,
        manages_channel=True,
        posts_here=True,
    ),
    Command(
        name="digest threads",
        help="Post each digest's papers in a thread under its header (on) or not (off).",
        usage="digest threads <on|off>",
        handler=digest_threads_command,
        args=(Arg("mode", "on or off", kind="choice", choices=("on", "off")),),
        manages_channel=True,
        posts_here=True,
        examples=("digest threads on", "digest threads off"),
    ),
    Command(
        name="digest preview",
        help="Show what a digest posted now would list; posts nothing.",
        usage="digest preview",
        handler=digest_preview_command,
        ephemeral=True,
        slow=True,
    ),
    Command(
        name="digest now",
        help="Post a digest of everything new now, without waiting for the digest time.",
        usage="digest now",
        handler=digest_now_command,
        manages_channel=True,
        posts_here=True,
        slow=True,
    ),
]
