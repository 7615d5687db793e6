"""The command registry: every command of every feature, declared once."""

from __future__ import annotations

from bot.commands import alerts as alert_commands
from bot.commands import digests as digest_commands
from bot.commands import export as export_commands
from bot.commands import feedback as feedback_commands
from bot.commands import help as help_commands
from bot.commands import papers as paper_commands
from bot.commands import schedule as schedule_commands
from bot.commands import search as search_commands
from bot.commands import status as status_commands
from bot.commands import subscriptions as subscription_commands
from bot.commands import why as why_commands
from bot.commands.registry import Arg, Command, Registry

__all__ = ["Arg", "Command", "Registry", "build_registry"]


def build_registry() -> Registry:
    """All commands, in the order help lists them."""
    registry = Registry()
    for module in (
        paper_commands,
        subscription_commands,
        search_commands,
        why_commands,
        feedback_commands,
        export_commands,
        digest_commands,
        alert_commands,
        status_commands,
        schedule_commands,  # no command of its own: the time-zone completer they share
        help_commands,
    ):
        for command in getattr(module, "COMMANDS", ()):
            registry.add(command)
        for name, completer in getattr(module, "COMPLETERS", {}).items():
            registry.add_completer(name, completer)
    return registry
