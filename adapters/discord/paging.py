"""Prev/Next buttons for long lists, that keep working after a restart.

A button's `custom_id` says everything needed to show its page again, in any process: the
command (for the "expired" hint), the key of the stored list (`bot.services.lists`), the page
to show, who may page it (0: anyone) and when it expires. A click re-runs the stored command
and shows the page from its fresh answer. They are discord.py `DynamicItem`s, registered on
the client with `add_dynamic_items`, so no in-memory view has to survive.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import discord

from adapters.discord.render import Outgoing, render_all
from bot.services.lists import LIST_LIFETIME, load_list, save_list

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)
NONE = discord.AllowedMentions.none()
DEFER_AFTER = 2.0  # answer (or acknowledge) a click within Discord's 3 s
PREV, NEXT = "◀ Prev", "Next ▶"
_PAGE = re.compile(
    r"pb:pg:(?P<cmd>[a-z0-9.-]{1,32}):(?P<key>[0-9a-f]{12}):(?P<page>\d{1,3}):"
    r"(?P<owner>\d{1,20}):(?P<exp>[0-9a-z]{1,10})"
)
NOT_YOURS = "Only the person who asked can page this list."


@dataclass(frozen=True)
class PageRef:
    """What a paging button's custom_id carries."""

    command: str  # registry name; in the custom_id "digest preview" is "digest.preview"
    key: str  # the stored list
    page: int  # the page this button shows (0-based)
    owner: int  # who may page (0: anyone)
    expires: datetime

    def custom_id(self) -> str:
        exp = base36(int(self.expires.timestamp()))
        cid = f"pb:pg:{self.command.replace(' ', '.')}:{self.key}:{self.page}:{self.owner}:{exp}"
        assert len(cid) <= 100, cid  # Discord's limit; every part above is bounded
        return cid

    @classmethod
    def parse(cls, custom_id: str) -> PageRef | None:
        m = _PAGE.fullmatch(custom_id)
        if m is None:
            return None
        expires = datetime.fromtimestamp(int(m["exp"], 36), UTC)
        return cls(m["cmd"].replace(".", " "), m["key"], int(m["page"]), int(m["owner"]), expires)


def base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def expired_text(command: str | None) -> str:
    again = f"run /{command} again" if command else "run the command again"
    return f"This list has expired, {again}."


class PageButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"pb:pg:.*"):
    """Prev or Next. Any "pb:pg:" id is ours: one we cannot read answers "expired"."""

    def __init__(self, ref: PageRef | None, *, label: str, disabled: bool = False, cid: str = ""):
        custom_id = ref.custom_id() if ref is not None else cid
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.secondary,
                custom_id=custom_id,
                disabled=disabled,
            )
        )
        self.ref = ref
        # For the "expired" hint when the id cannot be read as a whole.
        hint = re.match(r"pb:pg:([a-z0-9.-]{1,32}):", custom_id)
        self.command = ref.command if ref else hint[1].replace(".", " ") if hint else None

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PageButton:
        label = getattr(item, "label", None) or NEXT
        return cls(PageRef.parse(match.string), label=label, cid=match.string)

    async def callback(self, interaction: discord.Interaction) -> None:
        core: Core = interaction.client.adapter.core  # type: ignore[attr-defined]
        try:
            if self.ref is None:
                await tell(interaction, expired_text(self.command))
            else:
                await show_page(core, interaction, self.ref)
        except Exception:
            log.exception(
                "paging failed (guild=%s channel=%s user=%s)",
                interaction.guild_id,
                interaction.channel_id,
                interaction.user.id,
            )
            await tell(interaction, "Sorry, that page could not be shown. Please try again.")


class LegacyButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"[0-9a-f]{32}"):
    """A button of a list posted before buttons outlived a restart (an in-memory view's
    random id): it cannot be paged any more, which the user is told instead of "This
    interaction failed"."""

    def __init__(self, custom_id: str) -> None:
        super().__init__(discord.ui.Button(label=NEXT, custom_id=custom_id))

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> LegacyButton:
        return cls(match.string)

    async def callback(self, interaction: discord.Interaction) -> None:
        await tell(interaction, expired_text(None))


def pager_view(ref: PageRef, count: int) -> discord.ui.View:
    """Prev and Next for page `ref.page` of `count`; they go grey at either end."""
    view = discord.ui.View(timeout=None)
    at = ref.page
    view.add_item(PageButton(replace(ref, page=max(0, at - 1)), label=PREV, disabled=at == 0))
    last = at >= count - 1
    view.add_item(PageButton(replace(ref, page=min(count - 1, at + 1)), label=NEXT, disabled=last))
    return view


async def show_page(core: Core, interaction: discord.Interaction, ref: PageRef) -> None:
    """Make the list again and show the page `ref` names in the clicked message."""
    from adapters.discord.interactions import incoming_of  # interactions imports this module

    now = core.app.clock()
    if ref.expires <= now:
        await tell(interaction, expired_text(ref.command))
        return
    if ref.owner and interaction.user.id != ref.owner:
        await tell(interaction, NOT_YOURS)
        return
    saved = await load_list(core.app, ref.key)
    command = core.registry.get(saved.command) if saved else None
    if saved is None or command is None:
        await tell(interaction, expired_text(ref.command))
        return
    await save_list(core.app, saved.command, saved.options)  # used again: kept another while
    work = asyncio.ensure_future(core.handle(incoming_of(interaction, command, saved.options)))
    done, _ = await asyncio.wait({work}, timeout=DEFER_AFTER)
    if not done:
        await interaction.response.defer()  # "deferred update": the message is edited later
    replies = await work
    outgoing = render_all(replies, interactive=True, ephemeral=command.ephemeral)
    paged = next((o for o in outgoing if o.pages), None)
    view: discord.ui.View | None = None
    if paged is not None:
        at = min(ref.page, len(paged.pages) - 1)
        page: Outgoing = paged.pages[at]
        # Every use keeps the list alive for another LIST_LIFETIME.
        view = pager_view(replace(ref, page=at, expires=now + LIST_LIFETIME), len(paged.pages))
    elif outgoing:
        page = outgoing[0]  # the list now fits on one page, or the command answers otherwise
    else:
        await tell(interaction, expired_text(ref.command))
        return
    source = paged or outgoing[0]
    if source.choices and source.pick:  # a long choice pages with its select menu kept
        from adapters.discord.picking import picker  # picking imports this module

        view = view or discord.ui.View(timeout=None)
        view.add_item(picker(source.pick, ref.owner, now, source.choices))
    if page.papers:
        from adapters.discord.feedback import add_controls  # feedback imports this module

        view = view or discord.ui.View(timeout=None)
        add_controls(view, list(page.papers), ref.owner, row=2)
    kwargs: dict[str, Any] = {
        "content": page.content,
        "embeds": list(page.embeds),
        "view": view,
        "allowed_mentions": NONE,
    }
    if interaction.response.is_done():
        await interaction.edit_original_response(**kwargs)
    else:
        await interaction.response.edit_message(**kwargs)


async def tell(interaction: discord.Interaction, text: str) -> None:
    """A short private answer to a click, leaving the clicked message as it is."""
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NONE)
    else:
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NONE)
