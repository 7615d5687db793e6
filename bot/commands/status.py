"""status: what is set up here, what comes next, and any problem with papers or posting."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.commands.registry import Command, Context
from bot.commands.schedule import destinations
from bot.delivery.status import own_alert_rows, own_alert_summary, status_fields
from bot.delivery.timing import describe_local
from bot.health import AdapterHealth, HealthBoard, State
from bot.messages import Reply
from bot.plural import plural

PLATFORM_NAMES = {"discord": "Discord", "slack": "Slack", "console": "Console"}


async def status_command(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    """Show subscriptions, next digest, last ingest and delivery, and any problem here."""
    app, prefix = ctx.app, ctx.incoming.prefix
    row = await destinations(ctx).find(ctx.user, ctx.place)
    fields = await status_fields(app, row, prefix)
    now = app.clock()
    extra: list[tuple[str, str]] = []
    if ctx.place.is_dm and row is None:
        # Nothing set up yet: the defaults are still what the user's alerts would follow.
        zone = app.settings.default_timezone
        extra = own_alert_rows(None, now, prefix, default_zone=zone)
    elif not ctx.place.is_dm:
        # The status is the channel's, but only the caller sees it: their own alerts too.
        mine = await destinations(ctx).find(ctx.user, ctx.place, personal=True)
        if mine is not None:
            extra = [("Your DM alerts", own_alert_summary(mine, now))]
    rows = list(fields.rows)
    if extra:
        # Own rows go before "Paper source": they are about the reader, the source is global.
        at = next((i for i, (k, _) in enumerate(rows) if k == "Paper source"), len(rows))
        rows[at:at] = extra
    connections = connections_line(app.health, app.settings.default_timezone)
    if connections:
        # Next to the paper source: both say whether the bot itself is working.
        at = next((i + 1 for i, (k, _) in enumerate(rows) if k == "Paper source"), len(rows))
        rows.insert(at, ("Chat connections", connections))
    if rows == list(fields.rows):
        return [fields]
    return [replace(fields, rows=tuple(rows))]


def connections_line(board: HealthBoard, zone: str) -> str | None:
    """How each chat adapter of this process is doing; None when none is supervised."""
    parts = [_connection(h, zone) for h in board.all()]
    return "; ".join(parts) or None


def _connection(h: AdapterHealth, zone: str) -> str:
    name = PLATFORM_NAMES.get(h.platform, h.platform)
    restarts = f" ({plural(h.restarts, 'restart')} so far)" if h.restarts else ""
    if h.state is State.RUNNING:
        line = f"{name} connected{restarts}"
        if h.restarts and h.last_error_at is not None:
            line += f", last lost {describe_local(h.last_error_at, zone)}: {h.last_error}"
        return line
    if h.state is State.RESTARTING:
        line = f"{name} down since {describe_local(h.since, zone)} ({h.last_error})"
        if h.next_try_at is not None:
            line += f", reconnecting at {describe_local(h.next_try_at, zone)}"
        return line + restarts + "; the other platforms and digests carry on"
    if h.state is State.FAILED:
        return f"{name} stopped: {h.last_error}; fix that and restart paperbot"
    return f"{name} stopped"


COMMANDS = [
    Command(
        name="status",
        help="Show subscriptions, next digest, last update and delivery, and any problem.",
        usage="status",
        handler=status_command,
        ephemeral=True,
    ),
]
