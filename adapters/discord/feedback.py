"""👍 / 👎 / 🔖 Save / Similar on every paper, and Undo; they outlive restarts.

Like the paging buttons they are discord.py `DynamicItem`s whose `custom_id` says all a click
needs, so any process answers them:

- a button `pb:fb:<action>:<paper id>:<owner>` runs the core's command for that action
  (`bot.commands.feedback.click_command`: `/rate <id> up`, `/save <id>`, …) for the person
  who clicked, and answers privately, with an Undo button where the command says how;
- a select menu `pb:fbm:<owner>` (one per message of several papers, its option values paper
  ids) answers privately with the buttons for the chosen paper: a digest of ten papers then
  needs one row, not ten (Discord allows five rows per message).

`owner` is 0 on a message anyone in the channel may use (each click counts for the clicker),
or the user id of the only person who may (a personal list, an Undo). The buttons do not
expire: a rating is as meaningful on last month's digest as on today's.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord

from adapters.discord.paging import tell
from adapters.discord.render import escape
from bot.errors import UsageError
from bot.messages import CONTROLS, Feedback, PaperAction
from bot.services.clicks import click_command

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)
_PAPER_ID = r"[0-9A-Za-z][0-9A-Za-z._/-]{0,60}"
_ACTIONS = "|".join(a.value for a in Feedback)
_BUTTON = re.compile(rf"pb:fb:(?P<act>{_ACTIONS}):(?P<paper>{_PAPER_ID}):(?P<owner>\d{{1,20}})")
_MENU = re.compile(r"pb:fbm:(?P<owner>\d{1,20})")
_PAPER = re.compile(_PAPER_ID)
LABELS = {
    Feedback.UP: "👍",
    Feedback.DOWN: "👎",
    Feedback.SAVE: "🔖 Save",
    Feedback.SIMILAR: "Similar",
    Feedback.CLEAR: "Undo",
    Feedback.UNSAVE: "Undo",
}
MENU_PLACEHOLDER = "👍 👎 🔖 Similar — pick a paper"
NOT_YOURS = "Only the person these papers were shown to can use these buttons."
STALE = "This button is out of date. Rate or save the paper with /rate <id> up or /save <id>."
SORRY = "Sorry, that did not work. Please try again."


def button_id(click: PaperAction, owner: int) -> str | None:
    """The custom_id of a button for `click`; None for a paper id no button can carry."""
    cid = f"pb:fb:{click.action.value}:{click.paper_id}:{owner}"
    return cid if len(cid) <= 100 and _BUTTON.fullmatch(cid) else None


def parse_button(custom_id: str) -> tuple[PaperAction, int] | None:
    m = _BUTTON.fullmatch(custom_id)
    if m is None:
        return None
    return PaperAction(m["paper"], Feedback(m["act"])), int(m["owner"])


class FeedbackButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"pb:fb:.*"):
    """One control of one paper. Any "pb:fb:" id is ours: one we cannot read is stale."""

    def __init__(self, custom_id: str, *, label: str = "", row: int | None = None) -> None:
        parsed = parse_button(custom_id)
        undo = parsed is not None and parsed[0].action in (Feedback.CLEAR, Feedback.UNSAVE)
        super().__init__(
            discord.ui.Button(
                label=label or (LABELS[parsed[0].action] if parsed else "…"),
                style=discord.ButtonStyle.secondary,
                custom_id=custom_id,
                row=row,
            )
        )
        self.parsed = parsed
        self.undo = undo

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> FeedbackButton:
        return cls(match.string, label=getattr(item, "label", None) or "")

    async def callback(self, interaction: discord.Interaction) -> None:
        core: Core = interaction.client.adapter.core  # type: ignore[attr-defined]
        try:
            if self.parsed is None:
                await tell(interaction, STALE)
                return
            click, owner = self.parsed
            if owner and interaction.user.id != owner:
                await tell(interaction, NOT_YOURS)
                return
            await run_click(core, interaction, click)
        except Exception:
            log.exception(
                "feedback click failed (guild=%s channel=%s user=%s)",
                interaction.guild_id,
                interaction.channel_id,
                interaction.user.id,
            )
            await tell(interaction, SORRY)


async def run_click(core: Core, interaction: discord.Interaction, click: PaperAction) -> None:
    """Run the core's command for a click, for the clicker, and answer privately."""
    from adapters.discord.interactions import run_command  # interactions imports this module

    name, options = click_command(click)
    command = core.registry.get(name)
    if command is None:  # the registry always has them; a trimmed one answers, not fails
        raise UsageError(f"/{name} is not available here.")
    await run_command(core, interaction, command, options)  # rate, save, similar: private


class FeedbackMenu(discord.ui.DynamicItem[discord.ui.Select[Any]], template=r"pb:fbm:.*"):
    """The controls of a message of several papers: choosing one shows its buttons."""

    def __init__(
        self,
        custom_id: str,
        options: list[discord.SelectOption],
        *,
        row: int | None = None,
    ) -> None:
        super().__init__(
            discord.ui.Select(
                custom_id=custom_id,
                placeholder=MENU_PLACEHOLDER,
                options=options or [discord.SelectOption(label="…", value="-")],
                row=row,
            )
        )
        m = _MENU.fullmatch(custom_id)
        self.owner = int(m["owner"]) if m else None

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> FeedbackMenu:
        return cls(match.string, list(getattr(item, "options", [])))

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            values = list(self.item.values)
            if self.owner is None or len(values) != 1 or not _PAPER.fullmatch(values[0]):
                await tell(interaction, STALE)
                return
            if self.owner and interaction.user.id != self.owner:
                await tell(interaction, NOT_YOURS)
                return
            pid = values[0]
            label = next((o.label for o in self.item.options if o.value == pid), pid)
            view = controls_view([(pid, label)], interaction.user.id)
            # The label is a paper title: escaped, so it cannot format the answer.
            await interaction.response.send_message(
                f"{escape(label)}: 👍 more like this, 👎 not for me, 🔖 save, or similar papers.",
                view=view,
                ephemeral=True,
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except Exception:
            log.exception(
                "feedback menu failed (guild=%s channel=%s user=%s)",
                interaction.guild_id,
                interaction.channel_id,
                interaction.user.id,
            )
            await tell(interaction, SORRY)


def add_controls(
    view: discord.ui.View, papers: list[tuple[str, str]], owner: int, *, row: int
) -> None:
    """One paper: a row of 👍 👎 🔖 Similar buttons; several: one select menu of them."""
    if len(papers) == 1:
        pid = papers[0][0]
        for action in CONTROLS:
            if cid := button_id(PaperAction(pid, action), owner):
                view.add_item(FeedbackButton(cid, row=row))
        return
    options = [
        discord.SelectOption(label=label, value=pid)
        for pid, label in papers
        if _PAPER.fullmatch(pid) and len(pid) <= 100
    ]
    if options:
        view.add_item(FeedbackMenu(f"pb:fbm:{owner}", options[:25], row=row))


def controls_view(papers: list[tuple[str, str]], owner: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    add_controls(view, papers, owner, row=0)
    return view


def undo_button(click: PaperAction, owner: int) -> FeedbackButton | None:
    cid = button_id(click, owner)
    return FeedbackButton(cid, label="Undo") if cid else None
