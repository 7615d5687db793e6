"""A select menu to pick one paper of several a look-up found; it outlives restarts.

Like the paging buttons, it is a discord.py `DynamicItem`: its `custom_id` names the command
to run on the chosen paper, who may choose (0: anyone) and when it expires; each option's
value is a paper id. Choosing runs the command (`/paper <id>`) and answers with its card.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import discord

from adapters.discord.paging import base36, expired_text, tell
from bot.services.lists import LIST_LIFETIME

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)
_PICK = re.compile(r"pb:pick:(?P<cmd>[a-z0-9.-]{1,32}):(?P<owner>\d{1,20}):(?P<exp>[0-9a-z]{1,10})")
NOT_YOURS = "Only the person who asked can pick from this list."
PLACEHOLDER = "Pick a paper to see it in full"


@dataclass(frozen=True)
class PickRef:
    command: str  # run on the chosen paper id, e.g. "paper"
    owner: int
    expires: datetime

    def custom_id(self) -> str:
        cmd = self.command.replace(" ", ".")
        return f"pb:pick:{cmd}:{self.owner}:{base36(int(self.expires.timestamp()))}"

    @classmethod
    def parse(cls, custom_id: str) -> PickRef | None:
        m = _PICK.fullmatch(custom_id)
        if m is None:
            return None
        expires = datetime.fromtimestamp(int(m["exp"], 36), UTC)
        return cls(m["cmd"].replace(".", " "), int(m["owner"]), expires)


class PickSelect(discord.ui.DynamicItem[discord.ui.Select[Any]], template=r"pb:pick:.*"):
    """The paper picker. Any "pb:pick:" id is ours: one we cannot read answers "expired"."""

    def __init__(
        self,
        ref: PickRef | None,
        options: list[discord.SelectOption],
        *,
        cid: str = "",
        row: int | None = None,
    ) -> None:
        super().__init__(
            discord.ui.Select(
                custom_id=ref.custom_id() if ref is not None else cid,
                placeholder=PLACEHOLDER,
                options=options or [discord.SelectOption(label="…", value="-")],
                row=row,
            )
        )
        self.ref = ref

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PickSelect:
        options = list(getattr(item, "options", []))
        return cls(PickRef.parse(match.string), options, cid=match.string)

    async def callback(self, interaction: discord.Interaction) -> None:
        core: Core = interaction.client.adapter.core  # type: ignore[attr-defined]
        try:
            await pick(core, interaction, self.ref, list(self.item.values))
        except Exception:
            log.exception(
                "picking failed (guild=%s channel=%s user=%s)",
                interaction.guild_id,
                interaction.channel_id,
                interaction.user.id,
            )
            await tell(interaction, "Sorry, that paper could not be shown. Please try again.")


def picker(
    command: str, owner: int, now: datetime, choices: tuple[tuple[str, str, str], ...]
) -> PickSelect:
    """The select menu over `choices` (label, value, description), for one list."""
    options = [
        discord.SelectOption(label=label, value=value, description=about or None)
        for label, value, about in choices
    ]
    return PickSelect(PickRef(command, owner, now + LIST_LIFETIME), options, row=1)


async def pick(
    core: Core, interaction: discord.Interaction, ref: PickRef | None, values: list[str]
) -> None:
    """Run the picker's command on the chosen paper and answer with what it says."""
    from adapters.discord.interactions import run_command  # interactions imports this module

    if ref is None or ref.expires <= core.app.clock():
        again = ref.command if ref else "paper"
        await tell(interaction, expired_text(again).replace("list has", "choice has"))
        return
    if ref.owner and interaction.user.id != ref.owner:
        await tell(interaction, NOT_YOURS)
        return
    command = core.registry.get(ref.command)
    if command is None or not values or not command.args:
        await tell(interaction, expired_text(ref.command).replace("list has", "choice has"))
        return
    # The chosen id goes into the command's first argument (`paper`'s query).
    await run_command(core, interaction, command, {command.args[0].name: values[0]})
