"""What `status` shows about a channel or a user: schedule, source, deliveries, problems."""

from __future__ import annotations

from datetime import datetime

from bot.app import App
from bot.delivery.alerts import DAILY, INSTANT
from bot.delivery.halts import halt_reason
from bot.delivery.outbox import OutboxRepo
from bot.delivery.timing import describe_local, next_digest
from bot.messages import Fields
from bot.storage.destinations_repo import USER, describe
from bot.storage.models import DestinationRow


def schedule(row: DestinationRow) -> str:
    days = "on weekdays" if row.weekdays_only else "every day"
    return f"{row.digest_time} {row.timezone}, {days}"


def next_at(now: datetime, row: DestinationRow) -> str:
    at = next_digest(now, row.digest_time, row.timezone, weekdays_only=row.weekdays_only)
    return describe_local(at, row.timezone)


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
    digest = f"{schedule(row)}; up to {row.digest_max} papers"
    if row.min_upvotes:
        digest += f", at least {row.min_upvotes} upvotes"
    if row.kind == USER:
        rows.append(("Alerts", "instant" if row.alerts_mode == INSTANT else f"daily, {digest}"))
    else:
        rows.append(("Digest", digest))
    if row.muted_until is not None and row.muted_until > now:
        rows.append(("Muted until", describe_local(row.muted_until, tz)))
    if row.paused:
        rows.append(("Next digest", f"paused — {prefix}digest resume"))
    elif row.kind != USER or row.alerts_mode == DAILY:
        rows.append(("Next digest", next_at(now, row)))
    rows.append(("Paper source", ingest))
    delivery = OutboxRepo(app.sessions)
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
        state = f"{len(waiting)} message(s) not sent yet"
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


async def source_line(app: App) -> str:
    """When papers were last fetched, and whether the source is failing now."""
    state = app.state
    ok, err = await state.get("last_ingest"), await state.get("ingest_error")
    zone = app.settings.default_timezone
    line = "no papers fetched yet"
    ok_at = datetime.fromisoformat(ok["at"]) if ok and "at" in ok else None
    if ok_at is not None:
        line = f"last update {describe_local(ok_at, zone)}"
    if err and "at" in err:
        err_at = datetime.fromisoformat(err["at"])
        if ok_at is None or err_at > ok_at:
            line += f"; unavailable since {describe_local(err_at, zone)} ({err.get('error')})"
    return line
