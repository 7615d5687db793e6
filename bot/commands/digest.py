"""digest …, alerts …, mute and status: when and how a channel or a user gets papers."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.commands.registry import Arg, Command, Context, shown
from bot.delivery.alerts import DAILY, INSTANT, MAX_MUTE, parse_duration
from bot.delivery.status import (
    next_at,
    own_alert_rows,
    own_alert_summary,
    schedule,
    status_fields,
)
from bot.delivery.sweep import Sweeper
from bot.delivery.timing import (
    TimingError,
    complete_zones,
    describe_local,
    parse_hhmm,
    parse_zone,
)
from bot.errors import CommandError, UsageError
from bot.messages import Notice, Reply, Tone
from bot.plural import plural
from bot.storage.destinations_repo import USER, DestinationRepo, describe
from bot.storage.models import DestinationRow

MAX_DIGEST = 50
# The units parse_duration reads, as help and errors name them.
MUTE_UNITS = "minutes (90m), hours (12h), days (3d) or weeks (1w)"


def _repo(ctx: Context) -> DestinationRepo:
    return ctx.app.destinations


async def _target(ctx: Context, *, personal: bool = False) -> tuple[DestinationRow, str]:
    """The destination a setting applies to, re-enabled if it was disabled, and a note."""
    repo = _repo(ctx)
    row = await repo.get_or_create(ctx.user, ctx.place, personal=personal, now=ctx.app.clock())
    note = ""
    if row.disabled_reason:
        note = f" Posting is enabled again (it had stopped: {row.disabled_reason})."
        row = await repo.update(row.id, disabled_reason=None, disabled_at=None)
    # Messages waiting after errors (or given up on) are tried again now.
    await ctx.app.outbox.retry_now(row.id, ctx.app.clock())
    if not row.subscriptions:
        where = "you have" if row.kind == USER else "this channel has"
        note += f" Note: {where} no subscriptions yet; add one with {ctx.incoming.prefix}subscribe."
    return row, note


def _ok(text: str) -> list[Reply]:
    return [Notice(text, tone=Tone.SUCCESS)]


def _time_and_zone(args: dict[str, Any], row: DestinationRow) -> tuple[str, str]:
    try:
        hhmm = parse_hhmm(args["time"]) if args.get("time") else row.digest_time
        zone = parse_zone(args["zone"]) if args.get("zone") else row.timezone
    except TimingError as exc:
        raise UsageError(str(exc)) from None
    return hhmm, zone


def _since(ctx: Context, row: DestinationRow, **schedule: Any) -> dict[str, Any]:
    """The settings to store; a changed schedule starts now (earlier times are not owed)."""
    if any(getattr(row, k) != v for k, v in schedule.items()):
        return {**schedule, "schedule_since": ctx.app.clock()}
    return schedule


async def _next(ctx: Context, row: DestinationRow) -> str:
    """The "Next: …" sentence, from the same schedule and slots the sweep follows."""
    if row.paused:
        return f" Digests are paused here; {ctx.incoming.prefix}digest resume posts them again."
    return f" Next: {await next_at(ctx.app, row)}."


async def digest_time_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Set when the daily digest is posted here: a local time and an IANA time zone."""
    row, note = await _target(ctx)
    hhmm, zone = _time_and_zone(args, row)
    row = await _repo(ctx).update(row.id, **_since(ctx, row, digest_time=hhmm, timezone=zone))
    return _ok(
        f"The digest for {describe(row)} is posted at {schedule(row)}.{await _next(ctx, row)}{note}"
    )


async def digest_max_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Set how many papers a digest lists at most (the rest are counted at the end)."""
    row, note = await _target(ctx)
    row = await _repo(ctx).update(row.id, digest_max=args["count"])
    return _ok(f"Digests for {describe(row)} list up to {plural(row.digest_max, 'paper')}.{note}")


async def digest_min_upvotes_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Leave papers with fewer upvotes out of the digest."""
    row, note = await _target(ctx)
    row = await _repo(ctx).update(row.id, min_upvotes=args["upvotes"])
    what = (
        "list every matching paper"
        if row.min_upvotes == 0
        else f"only list papers with at least {plural(row.min_upvotes, 'upvote')}"
    )
    return _ok(f"Digests for {describe(row)} {what}.{note}")


async def _weekdays(ctx: Context, only: bool) -> list[Reply]:
    row, note = await _target(ctx)
    row = await _repo(ctx).update(row.id, **_since(ctx, row, weekdays_only=only))
    extra = " Monday's digest includes the weekend's papers." if only else ""
    return _ok(
        f"The digest for {describe(row)} is posted at {schedule(row)}.{extra}"
        f"{await _next(ctx, row)}{note}"
    )


async def digest_weekdays_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Post the digest on weekdays only (Monday's includes the weekend)."""
    return await _weekdays(ctx, True)


async def digest_everyday_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Post the digest every day, weekends included."""
    return await _weekdays(ctx, False)


async def digest_pause_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Stop posting digests here until `digest resume`."""
    row, note = await _target(ctx)
    await _repo(ctx).update(row.id, paused=True)
    return _ok(
        f"Digests for {describe(row)} are paused. Resume with "
        f"{ctx.incoming.prefix}digest resume.{note}"
    )


async def digest_resume_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Post digests here again."""
    row, note = await _target(ctx)
    # Digest times that passed while paused are not owed: the next is the next scheduled one.
    row = await _repo(ctx).update(row.id, **_since(ctx, row, paused=False))
    return _ok(f"Digests for {describe(row)} resume.{await _next(ctx, row)}{note}")


async def digest_preview_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Show what a digest posted now would list (posts and records nothing)."""
    row = await _repo(ctx).find(ctx.user, ctx.place)
    if row is None or not row.subscriptions:
        raise CommandError(
            "There are no subscriptions here, so a digest would be empty. "
            f"Add one with {ctx.incoming.prefix}subscribe <query>."
        )
    return [await Sweeper(ctx.app).preview(row)]


async def digest_now_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Post a digest of everything new here now, without waiting for the digest time."""
    row, note = await _target(ctx)
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
    return _ok(f"Posting a digest of {plural(recorded.listed, 'paper')} here in a moment.{note}")


async def alerts_daily_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Get your personal matches once a day by DM, at a time of your choice."""
    row, note = await _target(ctx, personal=True)
    hhmm, zone = _time_and_zone(args, row)
    values = _since(ctx, row, alerts_mode=DAILY, digest_time=hhmm, timezone=zone)
    row = await _repo(ctx).update(row.id, **values)
    return [
        Notice(
            f"You get one DM a day with your matches, at {schedule(row)}."
            f"{await _next(ctx, row)}{note}",
            tone=Tone.SUCCESS,
            ephemeral=True,
        )
    ]


async def alerts_instant_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Get a DM soon after new papers match your subscriptions (batched per update)."""
    row, note = await _target(ctx, personal=True)
    await _repo(ctx).update(row.id, alerts_mode=INSTANT)
    minutes = ctx.app.settings.ingest_interval_minutes
    return [
        Notice(
            "You get a DM whenever new papers match your subscriptions, one message per "
            f"update (the bot checks every {plural(minutes, 'minute')}).{note}",
            tone=Tone.SUCCESS,
            ephemeral=True,
        )
    ]


async def mute_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Pause your DMs for a while (3d, 12h, 1w) or end a mute (off); you then get a catch-up.

    A new mute replaces the current one, also when it is shorter.
    """
    value = args["duration"].strip().lower()
    row, note = await _target(ctx, personal=True)
    now = ctx.app.clock()
    if value in ("off", "end", "stop", "0"):
        if row.muted_until is None or row.muted_until <= now:
            return [Notice(f"You are not muted.{note}", ephemeral=True)]
        # Ending now: the sweep sends the catch-up at its next minute.
        await _repo(ctx).update(row.id, muted_until=now)
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
    await _repo(ctx).update(row.id, muted_until=until)
    return [
        Notice(
            f"Muted until {describe_local(until, row.timezone)}.{replaced} Then you get one "
            f"message with what matched meanwhile. End it early: {ctx.incoming.prefix}mute off."
            f"{note}",
            tone=Tone.SUCCESS,
            ephemeral=True,
        )
    ]


async def status_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Show subscriptions, next digest, last ingest and delivery, and any problem here."""
    app, prefix = ctx.app, ctx.incoming.prefix
    row = await _repo(ctx).find(ctx.user, ctx.place)
    fields = await status_fields(app, row, prefix)
    now = app.clock()
    extra: list[tuple[str, str]] = []
    if ctx.place.is_dm and row is None:
        # Nothing set up yet: the defaults are still what the user's alerts would follow.
        zone = app.settings.default_timezone
        extra = own_alert_rows(None, now, prefix, default_zone=zone)
    elif not ctx.place.is_dm:
        # The status is the channel's, but only the caller sees it: their own alerts too.
        mine = await _repo(ctx).find(ctx.user, ctx.place, personal=True)
        if mine is not None:
            extra = [("Your DM alerts", own_alert_summary(mine, now))]
    if not extra:
        return [fields]
    # Own rows go before "Paper source": they are about the reader, the source is global.
    rows = list(fields.rows)
    at = next((i for i, (k, _) in enumerate(rows) if k == "Paper source"), len(rows))
    rows[at:at] = extra
    return [replace(fields, rows=tuple(rows))]


async def complete_timezone(ctx: Context, typed: str) -> list[tuple[str, str]]:
    """Offer IANA zones containing what was typed."""
    return [(n, n) for n in complete_zones(typed)]


TIME = Arg("time", "Local time of day, HH:MM (24-hour)")
ZONE = Arg("zone", "IANA time zone, e.g. Europe/Berlin", required=False, autocomplete="timezone")

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
        name="alerts instant",
        help="Get a DM soon after new papers match your subscriptions.",
        usage="alerts instant",
        handler=alerts_instant_command,
        ephemeral=True,
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
    Command(
        name="status",
        help="Show subscriptions, next digest, last update and delivery, and any problem.",
        usage="status",
        handler=status_command,
        ephemeral=True,
    ),
]
COMPLETERS = {"timezone": complete_timezone}
