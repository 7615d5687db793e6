"""What `status` shows about a channel or a user: schedule, source, deliveries, problems."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.app import App
from bot.delivery.alerts import DAILY, INSTANT
from bot.delivery.halts import halt_reason
from bot.delivery.planning import reach, schedule_of
from bot.delivery.timing import WEEKDAYS, describe_local, local_date, next_digest, owed
from bot.messages import Fields
from bot.plural import plural
from bot.storage.destinations_repo import USER, describe
from bot.storage.models import DestinationRow


def schedule(row: DestinationRow) -> str:
    if row.digest_weekday is not None:
        return f"{row.digest_time} {row.timezone}, weekly on {WEEKDAYS[row.digest_weekday]}"
    days = "on weekdays" if row.weekdays_only else "every day"
    return f"{row.digest_time} {row.timezone}, {days}"


@dataclass(frozen=True)
class NextDigest:
    """When a destination's next daily digest goes out, as the sweep will decide it."""

    at: datetime
    due: bool  # its time has come; it goes out once the day's papers are in
    # Today's (local) digest was had already, which put this one on a later day although
    # the digest time today is still to come (one digest a day).
    had_today: bool


async def next_digest_of(app: App, row: DestinationRow) -> NextDigest:
    """The next digest of `row`: the same schedule and the same taken slots the sweep uses."""
    now, schedule, window = app.clock(), schedule_of(row), reach(app.settings)
    days = {day: at for day, at in owed(schedule, now, window)}
    taken = await app.deliveries.taken_slots((row.id, schedule.slot(d)) for d in days)
    done = {d for d in days if (row.id, schedule.slot(d)) in taken}
    at = next_digest(schedule, now, window, done)
    today = local_date(now, row.timezone)
    had_today = today in done and today in days and days[today] > now
    return NextDigest(at=at, due=at <= now, had_today=had_today)


async def next_at(app: App, row: DestinationRow) -> str:
    """The next digest, as people where it is posted read it."""
    n = await next_digest_of(app, row)
    when = describe_local(n.at, row.timezone)
    if n.due:
        return f"due since {when}; it goes out as soon as the day's papers are in"
    if n.had_today:
        if row.digest_weekday is not None:
            return f"{when} (today's weekly digest is done already)"
        return f"{when} (today's digest is done already: one digest a day)"
    return when


async def status_fields(app: App, row: DestinationRow | None, prefix: str) -> Fields:
    """The status table of a destination (None: nothing set up there yet)."""
    now = app.clock()
    ingest = await source_line(app)
    if row is None:
        return Fields(
            title="Status",
            rows=(
                ("Subscriptions", f"none yet — try {prefix}subscribe <query>"),
                ("Paper source", ingest),
            ),
            ephemeral=True,
        )
    tz = row.timezone
    subs = ", ".join(s.query for s in row.subscriptions[:10]) or "none"
    if len(row.subscriptions) > 10:
        subs += f" and {len(row.subscriptions) - 10} more"
    rows: list[tuple[str, str]] = [(f"Subscriptions ({len(row.subscriptions)})", subs)]
    digest = f"{schedule(row)}; up to {plural(row.digest_max, 'paper')}"
    if row.min_upvotes:
        digest += f", at least {plural(row.min_upvotes, 'upvote')}"
    if row.kind == USER:
        rows.extend(own_alert_rows(row, now, prefix, digest=digest))
    else:
        if row.threads:
            digest += "; papers in a thread under the header"
        rows.append(("Digest", digest))
    if row.paused:
        rows.append(("Next digest", f"paused — {prefix}digest resume"))
    elif row.kind != USER or row.alerts_mode == DAILY:
        rows.append(("Next digest", await next_at(app, row)))
    rows.append(("Paper source", ingest))
    delivery = app.outbox
    last = await delivery.last_sent(row.id)
    rows.append(
        (
            "Last delivery",
            describe_local(last.sent_at, tz) if last and last.sent_at else "nothing posted yet",
        )
    )
    waiting = await delivery.waiting(row.id)
    if waiting:
        w = waiting[0]
        state = f"{plural(len(waiting), 'message')} not sent yet"
        if w.last_error:
            state += f"; last error: {w.last_error}"
            if w.status == "pending" and not row.disabled_reason:
                state += f"; next try {describe_local(w.next_attempt_at, tz)}"
            elif w.status == "failed":
                state += (
                    f"; gave up retrying — any digest or alerts command here (e.g. "
                    f"{prefix}digest resume) tries again"
                )
        rows.append(("Waiting", state))
    halt = await halt_reason(app.state, row.platform)
    if halt is not None:
        reason, at = halt
        rows.append(
            (
                "Sending stopped",
                f"on this platform since {describe_local(at, tz)}: {reason}. Nothing is lost: "
                "messages wait and are posted once the bot's credentials work again.",
            )
        )
    if row.disabled_reason:
        since = describe_local(row.disabled_at, tz) if row.disabled_at else "?"
        rows.append(
            (
                "Disabled",
                f"since {since}: {row.disabled_reason}. Fix that, then any digest or alerts "
                f"command here (e.g. {prefix}digest resume) turns posting back on.",
            )
        )
    return Fields(title=f"Status of {describe(row)}", rows=tuple(rows), ephemeral=True)


def own_alert_rows(
    row: DestinationRow | None,
    now: datetime,
    prefix: str,
    *,
    digest: str | None = None,
    default_zone: str = "UTC",
) -> list[tuple[str, str]]:
    """A user's own alert time, time zone and mute, as rows of `status`.

    `row` is the user's personal destination (None: never set up, so the defaults apply);
    `digest` is the fuller schedule line, when the status is of that destination itself.
    """
    if row is None:
        return [
            ("Alerts", f"daily at 09:00 (the default); set yours: {prefix}alerts daily HH:MM"),
            ("Time zone", f"{default_zone} (the default)"),
            ("Muted", f"no — {prefix}mute 3d holds your DMs"),
        ]
    if row.alerts_mode == INSTANT:
        alerts = "instant: a DM after each update that brings a match"
        if row.quiet_start and row.quiet_end:
            alerts += f"; quiet {row.quiet_start}-{row.quiet_end} (held, then batched)"
    elif row.digest_weekday is not None:
        alerts = f"weekly, {digest or schedule(row)}"
    else:
        alerts = f"daily, {digest or schedule(row)}"
    muted = ("Muted", f"no — {prefix}mute 3d holds your DMs")
    if row.muted_until is not None and row.muted_until > now:
        until = describe_local(row.muted_until, row.timezone)
        muted = ("Muted until", f"{until} — {prefix}mute off ends it")
    return [("Alerts", alerts), ("Time zone", row.timezone), muted]


def own_alert_summary(row: DestinationRow, now: datetime) -> str:
    """A user's alert time, zone and mute in one line, for `status` in a channel."""
    cadence = "weekly" if row.digest_weekday is not None else "daily"
    alerts = "instant" if row.alerts_mode == INSTANT else f"{cadence} at {schedule(row)}"
    if row.muted_until is not None and row.muted_until > now:
        alerts += f"; muted until {describe_local(row.muted_until, row.timezone)}"
    return alerts


async def source_line(app: App) -> str:
    """The last complete poll of the paper source, its last error, and refused papers."""
    status = await app.state.ingest_status()
    zone = app.settings.default_timezone
    done = status.last_complete_round_at
    if done is not None:
        line = f"last complete poll {describe_local(done, zone)}"
    elif status.day_ok or status.last_error_at is not None:
        line = "no complete poll yet"
    else:
        line = "no papers fetched yet"
    if status.last_error_at is not None:
        error = status.last_error
        if status.failing and status.failing_since is not None:
            since = describe_local(status.failing_since, zone)
            # The error names the source and what failed once, e.g. "list of 2025-02-03:
            # Hugging Face at https://… did not answer after 4 tries (last: HTTP 503)".
            line += f"; unavailable since {since} — {error}; digests wait for it"
        else:
            line += f"; last error {describe_local(status.last_error_at, zone)} — {error}"
    if status.skipped_items:
        shown = "; ".join(status.skipped_items[:3])
        line += f"; {plural(len(status.skipped_items), 'paper')} could not be stored: {shown}"
    return line
