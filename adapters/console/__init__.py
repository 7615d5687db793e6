"""The console adapter: a local terminal chat with the bot (the offline demo)."""

from adapters.console.adapter import ConsoleAdapter

__all__ = ["ConsoleAdapter"]
