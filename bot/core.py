"""The platform-neutral core: turns an incoming command into replies."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from bot.app import App
from bot.commands.args import Style
from bot.commands.registry import Command, Context, Registry
from bot.errors import CommandError, UsageError
from bot.messages import Incoming, Notice, Place, Reply, Tone, User
from bot.text import clean

log = logging.getLogger(__name__)

SORRY = (
    "Sorry, something went wrong on our side while running that command. "
    "It has been logged; please try again later."
)


class Core:
    def __init__(self, app: App, registry: Registry):
        self.app = app
        self.registry = registry

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Run one command. Never raises: every failure becomes a short Notice."""
        metrics = getattr(self.app, "metrics", None)  # tests run a core without services
        if metrics is None:
            return await self._handle(incoming)
        # The label is the registry's name, never what was typed: a bounded set.
        known = self.registry.get(incoming.command)
        with metrics.command(incoming.place.platform, known.name if known else "unknown"):
            return await self._handle(incoming)

    async def _handle(self, incoming: Incoming) -> list[Reply]:
        incoming = _cleaned(incoming)
        command = self.registry.get(incoming.command)
        if command is None:
            return [self._unknown(incoming.command, incoming.prefix)]
        try:
            args = _arguments(command, incoming)
            fallback = False
            if _refused(command, incoming, args):
                if not _falls_back(command, incoming):
                    raise CommandError(
                        "Only people who may manage this channel can change its subscriptions "
                        "and digest settings. You can subscribe yourself in a DM with the bot."
                    )
                args, fallback = {**args, "dm": True}, True
            place = incoming.place
            posts_here = command.posts_here and not place.is_dm and not _by_dm(args)
            if posts_here and place.cannot_post:
                raise CommandError(place.cannot_post)
            return await command.handler(self._context(incoming, command, fallback), args)
        except UsageError as exc:
            usage = incoming.prefix + command.usage_in(_style(incoming))
            return [Notice(str(exc), tone=Tone.ERROR, usage=usage, ephemeral=True)]
        except CommandError as exc:
            return [Notice(str(exc), tone=Tone.ERROR, ephemeral=True)]
        except Exception:
            log.exception(
                "command %r failed (platform=%s place=%s user=%s)",
                command.name,
                incoming.place.platform,
                incoming.place.id,
                incoming.user.id,
                extra={"platform": incoming.place.platform, "command": command.name},
            )
            return [Notice(SORRY, tone=Tone.ERROR, ephemeral=True)]

    async def handle_text(
        self, line: str, user: User, place: Place, *, prefix: str = "/", raw: object = None
    ) -> list[Reply]:
        """Run a typed line such as "/paper 2412.17747" or "digest time 09:00 UTC"."""
        text = clean(line).strip()
        if prefix.strip() and text.startswith(prefix.strip()):
            text = text[len(prefix.strip()) :].strip()
        text = text.lstrip("/").strip()
        if not text:
            text = "help"
        found = self.registry.resolve(text)
        if found is None:
            return [self._unknown(text.split()[0], prefix, text.split()[1:2])]
        command, rest = found
        return await self.handle(
            Incoming(
                command=command.name, user=user, place=place, text=rest, prefix=prefix, raw=raw
            )
        )

    def answers_privately(self, incoming: Incoming) -> bool:
        """Whether only the caller sees the answer: an ephemeral command, or one by DM."""
        command = self.registry.get(incoming.command)
        if command is None:
            return True  # the answer is an error
        if command.ephemeral:
            return True
        try:
            args = _arguments(command, _cleaned(incoming))
        except UsageError:
            return True  # the answer is the usage
        return _by_dm(args) or (
            _refused(command, incoming, args) and _falls_back(command, incoming)
        )

    def resolve(self, text: str) -> tuple[Command, str] | None:
        return self.registry.resolve(text)

    async def complete(self, incoming: Incoming, arg: str, prefix: str) -> list[tuple[str, str]]:
        """Autocomplete choices (label, value) for one argument of a command.

        Every platform asks here: an argument's completer, or its fixed choices filtered.
        """
        command = self.registry.get(incoming.command)
        spec = next((a for a in command.args if a.name == arg), None) if command else None
        completer = self.registry.completers.get(spec.autocomplete or "") if spec else None
        if spec is not None and spec.choices and completer is None:
            typed = clean(prefix).strip().lower()
            return [(c, c) for c in spec.choices if typed in c.lower()][:25]
        if command is None or completer is None:
            return []
        # A member whose command will act on their own scope is offered their own values.
        fallback = _refused(command, incoming, {}) and _falls_back(command, incoming)
        ctx = self._context(incoming, command, fallback)
        try:
            return (await completer(ctx, clean(prefix)))[:25]
        except Exception:
            log.exception(
                "autocomplete %r failed (place=%s)", spec and spec.autocomplete, incoming.place.id
            )
            return []

    def _unknown(self, name: str, prefix: str, action: list[str] | None = None) -> Notice:
        group = self.registry.groups().get(name.lower(), [])
        if group:  # "digest" alone, or "digest frobnicate": a group without a valid action
            actions = ", ".join(c.name.split(" ", 1)[1] for c in group if " " in c.name)
            head = f"has no action {action[0]!r}" if action else "needs an action"
            return Notice(
                f"{name.lower()} {head}: one of {actions}. Details: {prefix}help {name.lower()}.",
                tone=Tone.ERROR,
                ephemeral=True,
            )
        names = ", ".join(sorted(self.registry.groups()))
        return Notice(
            f"Unknown command {name!r}. Commands: {names}. Try {prefix}help.",
            tone=Tone.ERROR,
            ephemeral=True,
        )

    def _context(self, incoming: Incoming, command: Command, fallback: bool) -> Context:
        """What a handler or a completer of `command` gets for `incoming`."""
        return Context(
            app=self.app,
            registry=self.registry,
            incoming=incoming,
            command=command,
            personal_fallback=fallback,
        )


def _style(incoming: Incoming) -> Style:
    return Style.TYPED if incoming.options is None else Style.OPTIONS


def _arguments(command: Command, incoming: Incoming) -> dict[str, Any]:
    if incoming.options is not None:
        return command.parse_options(incoming.options)
    return command.parse_text(incoming.text)


def _refused(command: Command, incoming: Incoming, args: dict[str, Any]) -> bool:
    """The command would change a channel the caller may not manage."""
    return (
        command.manages_channel
        and not incoming.place.is_dm
        and not incoming.user.can_manage_channel
        and not _by_dm(args)
    )


def _falls_back(command: Command, incoming: Incoming) -> bool:
    """Act on the caller's personal scope instead of refusing (where the platform wants it)."""
    return incoming.members_act_personally and command.has_personal_scope


def _by_dm(args: dict[str, Any]) -> bool:
    """The caller acts on their personal scope (`--dm`), not on the channel's."""
    return args.get("dm") is True


def _cleaned(incoming: Incoming) -> Incoming:
    """The command with its user text cleaned (see bot.text), whichever way it arrived.

    Done here, once for every command, so no handler, query parser or database ever sees a
    NUL, a lone surrogate or a bidi override.
    """
    options = incoming.options
    if options is not None:
        options = {k: clean(v) if isinstance(v, str) else v for k, v in options.items()}
    return dataclasses.replace(incoming, text=clean(incoming.text), options=options)
