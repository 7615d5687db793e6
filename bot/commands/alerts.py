"""alerts … and mute: how a user gets personal matches by DM, and holding them a while."""

from __future__ import annotations

from typing import Any

from bot.commands.registry import Arg, Command, Context, shown
from bot.commands.schedule import (
    TIME,
    WEEKDAY,
    ZONE,
    destinations,
    next_sentence,
    since,
    target,
    time_and_zone,
    weekly_schedule,
    weekly_sentence,
)
from bot.delivery.alerts import DAILY, INSTANT, MAX_MUTE, parse_duration
from bot.delivery.quiet import parse_span
from bot.delivery.status import schedule
from bot.delivery.timing import TimingError, describe_local, parse_zone
from bot.errors import UsageError
from bot.messages import Notice, Reply, Tone
from bot.plural import plural
from bot.recommend.service import COLD_START
from bot.storage.feedback_repo import Person

SUGGEST_LABEL = "You may also like"

# The units parse_duration reads, as help and errors name them.
MUTE_UNITS = "minutes (90m), hours (12h), days (3d) or weeks (1w)"


async def alerts_daily_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Get your personal matches once a day by DM, at a time of your choice."""
    row, note = await target(ctx, personal=True)
    hhmm, zone = time_and_zone(args, row)
    values = since(
        ctx, row, alerts_mode=DAILY, digest_weekday=None, digest_time=hhmm, timezone=zone
    )
    row = await destinations(ctx).update(row.id, **values)
    return [
        Notice(
            f"You get one DM a day with your matches, at {schedule(row)}."
            f"{await next_sentence(ctx, row)}{note}",
            tone=Tone.SUCCESS,
            ephemeral=True,
        )
    ]


async def alerts_weekly_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Get your personal matches once a week by DM: the week's papers, most discussed first."""
    row, note = await target(ctx, personal=True)
    weekday, hhmm, zone = weekly_schedule(args, row)
    values = since(
        ctx, row, alerts_mode=DAILY, digest_weekday=weekday, digest_time=hhmm, timezone=zone
    )
    row = await destinations(ctx).update(row.id, **values)
    return [
        Notice(
            f"You get one DM a week with your matches. {weekly_sentence(row)}"
            f"{await next_sentence(ctx, row)} Back to daily: {ctx.incoming.prefix}alerts daily."
            f"{note}",
            tone=Tone.SUCCESS,
            ephemeral=True,
        )
    ]


async def alerts_instant_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Get a DM soon after new papers match your subscriptions (batched per update)."""
    row, note = await target(ctx, personal=True)
    await destinations(ctx).update(row.id, alerts_mode=INSTANT)
    minutes = ctx.app.settings.ingest_interval_minutes
    return [
        Notice(
            "You get a DM whenever new papers match your subscriptions, one message per "
            f"update (the bot checks every {plural(minutes, 'minute')}).{note}",
            tone=Tone.SUCCESS,
            ephemeral=True,
        )
    ]


async def alerts_quiet_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Hold instant alerts during quiet hours (22:00-07:00) in your zone, or off; batched after."""
    row, note = await target(ctx, personal=True)
    value = args["span"].strip().lower()
    if value in ("off", "none", "stop"):
        if args.get("zone"):
            raise UsageError("alerts quiet off takes no time zone.")
        if row.quiet_start is None:
            return [Notice(f"You have no quiet hours.{note}", ephemeral=True)]
        await destinations(ctx).update(row.id, quiet_start=None, quiet_end=None)
        return [
            Notice(
                "Quiet hours are off: instant alerts go out whenever papers match; any held "
                f"now come shortly, in one message.{note}",
                tone=Tone.SUCCESS,
                ephemeral=True,
            )
        ]
    try:
        start, end = parse_span(args["span"])
        zone = parse_zone(args["zone"]) if args.get("zone") else row.timezone
    except TimingError as exc:
        raise UsageError(str(exc)) from None
    values = since(ctx, row, timezone=zone)
    row = await destinations(ctx).update(row.id, quiet_start=start, quiet_end=end, **values)
    mode = ""
    if row.alerts_mode != INSTANT:
        mode = (
            " They apply to instant alerts; yours come "
            f"{'weekly' if row.digest_weekday is not None else 'daily'} at "
            f"{row.digest_time}, so switch with {ctx.incoming.prefix}alerts instant."
        )
    return [
        Notice(
            f"Quiet hours {start}-{end} {zone}: instant alerts that fall inside wait until "
            f"{end}, then come in one message.{mode}{note}",
            tone=Tone.SUCCESS,
            ephemeral=True,
        )
    ]


async def mute_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Pause your DMs for a while (3d, 12h, 1w) or end a mute (off); you then get a catch-up.

    A new mute replaces the current one, also when it is shorter.
    """
    value = args["duration"].strip().lower()
    row, note = await target(ctx, personal=True)
    now = ctx.app.clock()
    if value in ("off", "end", "stop", "0"):
        if row.muted_until is None or row.muted_until <= now:
            return [Notice(f"You are not muted.{note}", ephemeral=True)]
        # Ending now: the sweep sends the catch-up at its next minute.
        await destinations(ctx).update(row.id, muted_until=now)
        return [
            Notice(
                f"Unmuted. What matched while you were muted comes in one message shortly.{note}",
                tone=Tone.SUCCESS,
                ephemeral=True,
            )
        ]
    length = parse_duration(value)
    if length is None:
        duration = shown(args["duration"])
        raise UsageError(f"{duration} is not a duration; use {MUTE_UNITS}, or off.")
    if length > MAX_MUTE:
        raise UsageError(f"Mute for at most {MAX_MUTE.days} days ({MAX_MUTE.days}d).")
    # The latest /mute is what the user means now, shorter or longer: it replaces an
    # earlier one, and the reply says so, so "mute 12h" after "mute 3d" is never a no-op.
    until = now + length
    earlier = row.muted_until if row.muted_until is not None and row.muted_until > now else None
    replaced = ""
    if earlier is not None:
        replaced = f" This replaces your mute until {describe_local(earlier, row.timezone)}."
    await destinations(ctx).update(row.id, muted_until=until)
    return [
        Notice(
            f"Muted until {describe_local(until, row.timezone)}.{replaced} Then you get one "
            f"message with what matched meanwhile. End it early: {ctx.incoming.prefix}mute off."
            f"{note}",
            tone=Tone.SUCCESS,
            ephemeral=True,
        )
    ]


async def alerts_suggest_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Add up to 3 papers outside your subscriptions to your alerts ("You may also like")."""
    on = args["choice"] == "on"
    user = ctx.user
    await ctx.app.feedback.set_setting(
        user.platform, "user", user.id, suggest=on, now=ctx.app.clock()
    )
    if not on:
        return [
            Notice(
                "Your alerts list only the papers your subscriptions match.",
                tone=Tone.SUCCESS,
                ephemeral=True,
            )
        ]
    taste = await ctx.app.feedback.taste(Person(user.platform, user.id))
    text = (
        f"Your alerts end with “{SUGGEST_LABEL}”: up to 3 papers your subscriptions did not "
        "match that your ratings predict you would like, each offered once."
    )
    if taste.size < COLD_START:
        text += (
            f" With fewer than {COLD_START} ratings they are mostly the most upvoted; rate "
            f"papers with {ctx.incoming.prefix}rate <id> up|down."
        )
    return [Notice(text, tone=Tone.SUCCESS, ephemeral=True)]


COMMANDS = [
    Command(
        name="alerts daily",
        help="Get your matches by DM once a day (optionally at HH:MM in your time zone).",
        usage="alerts daily [HH:MM] [time zone]",
        handler=alerts_daily_command,
        args=(Arg("time", "Local time of day, HH:MM (24-hour)", required=False), ZONE),
        ephemeral=True,
        examples=("alerts daily 08:00 America/New_York",),
    ),
    Command(
        name="alerts weekly",
        help="Get your matches by DM once a week, on a weekday at HH:MM in your time zone.",
        usage="alerts weekly <weekday> <HH:MM> [time zone]",
        handler=alerts_weekly_command,
        args=(WEEKDAY, TIME, ZONE),
        ephemeral=True,
        examples=("alerts weekly Monday 08:00 America/New_York",),
    ),
    Command(
        name="alerts instant",
        help="Get a DM soon after new papers match your subscriptions.",
        usage="alerts instant",
        handler=alerts_instant_command,
        ephemeral=True,
    ),
    Command(
        name="alerts quiet",
        help="Hold instant alerts during quiet hours (e.g. 22:00-07:00, your zone); off ends them.",
        usage="alerts quiet <HH:MM-HH:MM | off> [time zone]",
        handler=alerts_quiet_command,
        args=(
            Arg("span", "Local start-end on a 24-hour clock (22:00-07:00), or off"),
            ZONE,
        ),
        ephemeral=True,
        examples=("alerts quiet 22:00-07:00 Europe/Berlin", "alerts quiet off"),
    ),
    Command(
        name="alerts suggest",
        help="Add up to 3 papers outside your subscriptions to your alerts, or not.",
        usage="alerts suggest <on | off>",
        handler=alerts_suggest_command,
        args=(Arg("choice", "on or off", kind="choice", choices=("on", "off")),),
        ephemeral=True,
        examples=("alerts suggest on",),
    ),
    Command(
        name="mute",
        help=(
            f"Hold your DMs for 90m, 12h, 3d or 1w (at most {MAX_MUTE.days} days); a new mute "
            "replaces the last; off ends it."
        ),
        usage="mute <3d | 12h | 1w | off>",
        handler=mute_command,
        args=(Arg("duration", f"How long: {MUTE_UNITS}, at most {MAX_MUTE.days}d; or off"),),
        ephemeral=True,
        examples=("mute 3d", "mute 12h", "mute 90m", "mute off"),
    ),
]
