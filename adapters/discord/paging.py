"""Prev/Next buttons for long lists answered to a command."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import discord

from adapters.discord.render import Outgoing

log = logging.getLogger(__name__)
PAGER_TIMEOUT = 15 * 60.0  # an interaction token lives 15 minutes; editing needs it


class Pager(discord.ui.View):
    """Flip through `pages` in place; the buttons go grey at either end."""

    def __init__(self, pages: Sequence[Outgoing], *, timeout: float = PAGER_TIMEOUT) -> None:
        super().__init__(timeout=timeout)
        self.pages = list(pages)
        self.index = 0
        # The posted message (InteractionMessage or WebhookMessage), to grey the buttons out.
        self.message: discord.InteractionMessage | discord.WebhookMessage | None = None
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        self.prev.disabled = self.index == 0
        self.next.disabled = self.index >= len(self.pages) - 1

    async def _show(self, interaction: discord.Interaction, step: int) -> None:
        self.index = max(0, min(len(self.pages) - 1, self.index + step))
        self._sync_buttons()
        page = self.pages[self.index]
        await interaction.response.edit_message(
            content=page.content,
            embeds=list(page.embeds),
            view=self,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @discord.ui.button(label="◀ Prev", style=discord.ButtonStyle.secondary)
    async def prev(self, interaction: discord.Interaction, _: discord.ui.Button[Pager]) -> None:
        await self._show(interaction, -1)

    @discord.ui.button(label="Next ▶", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, _: discord.ui.Button[Pager]) -> None:
        await self._show(interaction, +1)

    async def on_timeout(self) -> None:
        if self.message is None:
            return
        self.prev.disabled = self.next.disabled = True
        try:
            await self.message.edit(view=self)
        except discord.HTTPException as exc:  # the message may be gone; nothing to page then
            log.debug("could not disable pager buttons: %s", exc)
