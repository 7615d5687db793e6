"""Registers the Slack features beyond /papers with the bolt app (issue 14).

Link unfurls, the "Find paper" message shortcut, the App Home tab, the Messages tab and
the subscribe modal; each lives in its own module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp

from adapters.slack.commands import SlashCommands
from adapters.slack.home import ACTIONS, AppHome
from adapters.slack.messages_tab import MessagesTab
from adapters.slack.modals import CALLBACK, SubscribeModal, wants_modal
from adapters.slack.shortcuts import FIND_CALLBACK, FindShortcut
from adapters.slack.unfurls import Unfurls


@dataclass(frozen=True)
class Features:
    unfurls: Unfurls
    find: FindShortcut
    home: AppHome
    messages: MessagesTab
    modal: SubscribeModal


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
    # bolt runs the first listener that matches: the modal's, for a bare subscribe.
    app.command(commands.config.command, matchers=[_bare_subscribe])(features.modal.open)
    app.view(CALLBACK)(features.modal.submitted)
    app.shortcut(FIND_CALLBACK)(features.find)
    app.event("link_shared")(features.unfurls)
    app.event("app_home_opened")(features.home.opened)
    app.event("message")(features.messages)
    app.action(ACTIONS)(features.home.clicked)
    commands.after = features.home.after_slash
    features.messages.after = features.home.after_line
    return features
