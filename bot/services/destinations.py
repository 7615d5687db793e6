"""The destination a digest or alert setting applies to, made ready to receive again."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.messages import Place, User
from bot.storage.models import DestinationRow

if TYPE_CHECKING:
    from bot.app import App


async def ready_destination(
    app: App, user: User, place: Place, *, personal: bool = False
) -> tuple[DestinationRow, str | None]:
    """The destination of `user` here, created on first use and re-enabled if disabled.

    Whoever changes a setting there wants posting to work again: its waiting messages
    (given-up ones too) become due now. The second value is why posting had stopped,
    when this call re-enabled it.
    """
    repo = app.destinations
    row = await repo.get_or_create(user, place, personal=personal, now=app.clock())
    stopped = row.disabled_reason
    if stopped:
        row = await repo.update(row.id, disabled_reason=None, disabled_at=None)
    await app.outbox.retry_now(row.id, app.clock())
    return row, stopped
