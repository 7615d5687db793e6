"""What a command handler gets besides its arguments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.messages import Incoming, Place, User

if TYPE_CHECKING:
    from bot.app import App
    from bot.commands.registry import Command, Registry


@dataclass(frozen=True)
class Context:
    app: App
    registry: Registry
    incoming: Incoming
    command: Command

    @property
    def user(self) -> User:
        return self.incoming.user

    @property
    def place(self) -> Place:
        return self.incoming.place

    def usage(self, command: Command | None = None) -> str:
        """The usage line as the user types it on this platform."""
        return self.incoming.prefix + (command or self.command).usage
