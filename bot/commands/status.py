"""status: what is set up here, what comes next, and any problem with papers or posting."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.commands.registry import Command, Context
from bot.commands.schedule import destinations
from bot.delivery.status import own_alert_rows, own_alert_summary, status_fields
from bot.messages import Reply


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
    if not extra:
        return [fields]
    # Own rows go before "Paper source": they are about the reader, the source is global.
    rows = list(fields.rows)
    at = next((i for i, (k, _) in enumerate(rows) if k == "Paper source"), len(rows))
    rows[at:at] = extra
    return [replace(fields, rows=tuple(rows))]


COMMANDS = [
    Command(
        name="status",
        help="Show subscriptions, next digest, last update and delivery, and any problem.",
        usage="status",
        handler=status_command,
        ephemeral=True,
    ),
]
