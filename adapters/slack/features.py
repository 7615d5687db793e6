"""Registers the Slack features beyond /papers with the bolt app (issue 14).

Link unfurls, the "Find paper" message shortcut, the App Home tab, the Messages tab and
the subscribe modal; each lives in its own module.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.async_app import AsyncApp

from adapters.slack.commands import SlashCommands
from adapters.slack.home import ACTIONS, AppHome
from adapters.slack.messages_tab import MessagesTab
from adapters.slack.modals import CALLBACK, SubscribeModal, wants_modal
from adapters.slack.shortcuts import FIND_CALLBACK, FindShortcut
from adapters.slack.unfurls import Unfurls


class Inflight:
    """Counts listeners at work, so that a stop lets their answers reach Slack."""

    def __init__(self) -> None:
        self._running = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def track(self, listener: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        # bolt passes arguments by the names the listener declares, found through
        # __wrapped__ (functools.wraps): the wrapper takes whatever the listener takes.
        @functools.wraps(listener)
        async def run(**kwargs: Any) -> None:
            self._running += 1
            self._idle.clear()
            try:
                await listener(**kwargs)
            finally:
                self._running -= 1
                if not self._running:
                    self._idle.set()

        return run

    async def settle(self, within: float) -> None:
        """Wait (at most `within` seconds) until no listener is at work."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), within)


@dataclass(frozen=True)
class Features:
    unfurls: Unfurls
    find: FindShortcut
    home: AppHome
    messages: MessagesTab
    modal: SubscribeModal
    inflight: Inflight = field(default_factory=Inflight)

    async def settle(self, within: float) -> None:
        """Let the answers being computed reach Slack (at most `within` seconds)."""
        await self.inflight.settle(within)


async def _bare_subscribe(body: dict[str, Any]) -> bool:
    return wants_modal(body)


def register_features(app: AsyncApp, commands: SlashCommands) -> Features:
    """Add the listeners; call before /papers' own, which would otherwise take every command.

    The listeners call Slack with the client bolt hands them, which carries the token of
    the workspace a request came from.
    """
    features = Features(
        unfurls=Unfurls(commands.core),
        find=FindShortcut(commands),
        home=AppHome(commands),
        messages=MessagesTab(commands),
        modal=SubscribeModal(commands),
    )
    track = features.inflight.track
    # bolt runs the first listener that matches: the modal's, for a bare subscribe.
    app.command(commands.config.command, matchers=[_bare_subscribe])(track(features.modal.open))
    app.view(CALLBACK)(track(features.modal.submitted))
    app.shortcut(FIND_CALLBACK)(track(features.find))
    app.event("link_shared")(track(features.unfurls))
    app.event("app_home_opened")(track(features.home.opened))
    app.event("message")(track(features.messages))
    app.action(ACTIONS)(track(features.home.clicked))
    commands.after = features.home.after_slash
    features.messages.after = features.home.after_line
    return features
