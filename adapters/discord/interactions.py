"""Run an app command through the core and answer the interaction within Discord's rules."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import discord

from adapters.discord.feedback import add_controls, undo_button
from adapters.discord.paging import PageRef, pager_view
from adapters.discord.picking import picker
from adapters.discord.render import Outgoing, render_all
from bot.commands.registry import Command
from bot.messages import Incoming, Place, User
from bot.services.lists import LIST_LIFETIME, save_list

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)
PLATFORM = "discord"
DEFER_AFTER = 2.0  # Discord drops an interaction that is not answered within 3 s
SORRY = "Sorry, something went wrong while answering. Please try again later."
NONE = discord.AllowedMentions.none()


# (what a personal fallback says, why nothing can be posted here) for each case.
NOT_IN_SERVER = (
    "paperbot is not in this server, so this is yours alone: matches come by direct message. "
    "A server admin can add paperbot to the server to subscribe a channel.",
    "paperbot is not in this server, so it cannot post here. A server admin can add it "
    "(its install link is in the README), then run the command again.",
)
NOT_IN_CONVERSATION = (
    "paperbot cannot post in conversations between people, so this is yours alone: matches "
    "come by direct message.",
    "paperbot cannot post in DMs or group DMs between people. Run this in your DM with "
    "paperbot, or in a server channel it is in.",
)


def absent_because(interaction: discord.Interaction) -> tuple[str, str] | None:
    """Why the bot is not where the command came from (a user install), else None.

    A user-installed app is answered through the interaction wherever its user is, but the
    bot itself can only post where it was added: in a server whose installation owners
    (`authorizing_integration_owners`) do not include the server, and in DMs and group DMs
    between people (context 2), it can answer and nothing else.
    """
    if interaction.guild_id is not None:
        # Asked of both owners: a payload without them (older API versions) is the server's.
        alone = interaction.is_user_integration() and not interaction.is_guild_integration()
        return NOT_IN_SERVER if alone else None
    if interaction.context.private_channel:
        return NOT_IN_CONVERSATION
    return None  # the bot's own DM


def user_of(interaction: discord.Interaction) -> User:
    """The caller; in a DM every command acts on them, so they may manage "the channel"."""
    perms = interaction.permissions
    may_manage = interaction.guild_id is None or perms.manage_channels or perms.administrator
    if absent_because(interaction):
        may_manage = False  # nothing here can be set up: subscriptions become personal
    u = interaction.user
    return User(
        PLATFORM, str(u.id), name=u.display_name, can_manage_channel=may_manage, raw=interaction
    )


def missing_permissions(interaction: discord.Interaction) -> str | None:
    """Why the bot could not post its digests in this channel, from `app_permissions`."""
    if interaction.guild_id is None:
        return None
    perms = interaction.app_permissions
    needed = [("View Channel", perms.view_channel)]
    if isinstance(interaction.channel, discord.Thread):
        needed.append(("Send Messages in Threads", perms.send_messages_in_threads))
    else:
        needed.append(("Send Messages", perms.send_messages))
    needed.append(("Embed Links", perms.embed_links))
    missing = [name for name, granted in needed if not granted]
    if not missing:
        return None
    names = " and ".join(", ".join(missing).rsplit(", ", 1))
    return (
        f"I cannot post digests here: I am missing the {names} permission"
        f"{'s' if len(missing) > 1 else ''} in this channel. Grant "
        f"{'them' if len(missing) > 1 else 'it'} to paperbot (channel settings → "
        "Permissions), then run the command again."
    )


def missing_thread_permissions(interaction: discord.Interaction) -> str | None:
    """Why the bot could not open a digest's thread here and post in it, if it could not."""
    if interaction.guild_id is None:
        return None
    if isinstance(interaction.channel, discord.Thread):
        return (
            "This is a thread, and Discord opens no threads inside one: run the command in "
            "the channel the digest should go to."
        )
    perms = interaction.app_permissions
    needed = [
        ("Create Public Threads", perms.create_public_threads),
        ("Send Messages in Threads", perms.send_messages_in_threads),
    ]
    missing = [name for name, granted in needed if not granted]
    if not missing:
        return None
    return (
        f"I cannot post digests in threads here: I am missing {' and '.join(missing)} in "
        "this channel. Grant it to paperbot (channel settings → Permissions), then run the "
        "command again."
    )


FORUM_THREADS = (
    "This is a forum channel: its digests are already one post per paper, so threads need "
    "not be turned on here."
)


def forum_of(interaction: discord.Interaction) -> discord.ForumChannel | None:
    """The forum channel a command typed in one of its posts is about, if it was."""
    channel = interaction.channel
    if isinstance(channel, discord.Thread) and isinstance(channel.parent, discord.ForumChannel):
        return channel.parent
    return None


def place_of(interaction: discord.Interaction) -> Place:
    channel = interaction.channel
    absent = absent_because(interaction)
    if absent is not None:
        personal, cannot = absent
        return Place(
            PLATFORM,
            str(interaction.channel_id),
            workspace_id=str(interaction.guild_id) if interaction.guild_id else None,
            name=getattr(channel, "name", None) or "",
            cannot_post=cannot,
            cannot_thread=cannot,
            personal_only=personal,
            raw=interaction,
        )
    forum = forum_of(interaction)
    if forum is not None:
        # Slash commands cannot be typed in a forum itself, only in its posts: there they
        # set up the forum, whose digests become one post per paper.
        return Place(
            PLATFORM,
            str(forum.id),
            workspace_id=str(interaction.guild_id),
            name=forum.name,
            cannot_post=missing_forum_permissions(interaction),
            cannot_thread=FORUM_THREADS,
            raw=interaction,
        )
    return Place(
        PLATFORM,
        str(interaction.channel_id),
        is_dm=interaction.guild_id is None,
        workspace_id=str(interaction.guild_id) if interaction.guild_id else None,
        name=getattr(channel, "name", None) or "",
        cannot_post=missing_permissions(interaction),
        cannot_thread=missing_thread_permissions(interaction),
        raw=interaction,
    )


def missing_forum_permissions(interaction: discord.Interaction) -> str | None:
    """Why the bot could not create a forum post per paper, from `app_permissions`."""
    perms = interaction.app_permissions
    needed = [
        ("View Channel", perms.view_channel),
        ("Create Posts (Send Messages)", perms.send_messages),
        ("Embed Links", perms.embed_links),
    ]
    missing = [name for name, granted in needed if not granted]
    if not missing:
        return None
    return (
        f"I cannot post digests in this forum: I am missing {' and '.join(missing)} there. "
        "Grant it to paperbot (forum settings → Permissions), then run the command again."
    )


def incoming_of(
    interaction: discord.Interaction, command: Command, options: Mapping[str, str]
) -> Incoming:
    return Incoming(
        command=command.name,
        user=user_of(interaction),
        place=place_of(interaction),
        options=dict(options),
        prefix="/",
        # /subscribe and /unsubscribe are offered to every member: without Manage Channels
        # they act on the member personally (the core's rule; we pass the permission fact).
        members_act_personally=True,
        raw=interaction,
    )


class Responder:
    """Answers one interaction: the first message, the deferred one, then follow-ups."""

    def __init__(
        self,
        interaction: discord.Interaction,
        core: Core | None = None,
        command: Command | None = None,
        options: Mapping[str, str] | None = None,
    ) -> None:
        self.interaction = interaction
        self.deferred: bool | None = None  # ephemeral flag of a pending "thinking" message
        # What made the answer, to store with a long list so that its pages can be made
        # again later (after a restart too); None: answers without pages (errors).
        self._source = (core, command, dict(options or {})) if core and command else None

    async def _view(self, out: Outgoing) -> discord.ui.View | None:
        """Prev/Next for a long list, a select menu for a choice, the papers' 👍 👎 🔖
        Similar, an Undo, or None."""
        if self._source is None or (
            len(out.pages) < 2 and not out.choices and not out.papers and not out.undo
        ):
            return None
        core, command, options = self._source
        # Only the asker may page (or pick from) a list only they see or that is about them.
        private = out.ephemeral or core.answers_privately(
            incoming_of(self.interaction, command, options)
        )
        owner = self.interaction.user.id if private else 0
        now = core.app.clock()
        view = discord.ui.View(timeout=None)
        if len(out.pages) > 1:
            key = await save_list(core.app, command.name, options)
            view = pager_view(
                PageRef(command.name, key, 0, owner, now + LIST_LIFETIME), len(out.pages)
            )
        if out.choices and out.pick:
            view.add_item(picker(out.pick, owner, now, out.choices))
        if out.papers:
            add_controls(view, list(out.papers), owner, row=2)
        if out.undo and (undo := undo_button(out.undo, self.interaction.user.id)):
            view.add_item(undo)  # the change was the clicker's own: so is its undo
        return view

    async def defer(self, *, ephemeral: bool) -> None:
        await self.interaction.response.defer(ephemeral=ephemeral, thinking=True)
        self.deferred = ephemeral

    async def send(self, out: Outgoing) -> None:
        ia = self.interaction
        view = await self._view(out)
        # Any: discord.py's overloads cannot see through a ** dict; each key is a real keyword.
        kwargs: dict[str, Any] = {
            "content": out.content,
            "embeds": list(out.embeds),
            "allowed_mentions": NONE,
        }
        if view is not None:
            kwargs["view"] = view
        # Only an answer with files names them: an empty list would be sent as one.
        files = [discord.File(io.BytesIO(data), filename=name) for name, data in out.files]
        upload: dict[str, Any] = {"files": files} if files else {}
        if not ia.response.is_done():
            await ia.response.send_message(ephemeral=out.ephemeral, **upload, **kwargs)
        elif self.deferred is not None and self.deferred == out.ephemeral:
            # An edit lists the message's attachments, new files among them.
            edit: dict[str, Any] = {"attachments": files} if files else {}
            await ia.edit_original_response(**kwargs, **edit)
            self.deferred = None
        else:
            if self.deferred is not None:
                # A deferred answer keeps its visibility: an error after a public "thinking"
                # must not show to everyone, so replace it with a private follow-up.
                await ia.delete_original_response()
                self.deferred = None
            await ia.followup.send(ephemeral=out.ephemeral, wait=True, **upload, **kwargs)


async def run_command(
    core: Core,
    interaction: discord.Interaction,
    command: Command,
    options: Mapping[str, str],
    *,
    defer_after: float = DEFER_AFTER,
) -> None:
    """Hand one app command to the core and post its replies."""
    responder = Responder(interaction, core, command, options)
    try:
        incoming = incoming_of(interaction, command, options)
        # Acting on the caller personally (`dm`) answers privately: so "thinking" is.
        private = core.answers_privately(incoming)
        if command.slow:
            await responder.defer(ephemeral=private)
        work = asyncio.ensure_future(core.handle(incoming))
        if not command.slow:
            # Fast commands answer in one message; if one is slow today, acknowledge in time.
            done, _ = await asyncio.wait({work}, timeout=defer_after)
            if not done:
                await responder.defer(ephemeral=private)
        replies = await work
        outgoing = render_all(replies, interactive=True, ephemeral=command.ephemeral)
        if not outgoing:
            outgoing = [Outgoing("Done.", ephemeral=True)]
        for out in outgoing:
            await responder.send(out)
    except Exception:
        log.exception(
            "answering /%s failed (guild=%s channel=%s user=%s)",
            command.name,
            interaction.guild_id,
            interaction.channel_id,
            interaction.user.id,
        )
        try:
            await responder.send(Outgoing(SORRY, ephemeral=True))
        except discord.HTTPException:
            log.warning("could not tell the user about the failure of /%s", command.name)
