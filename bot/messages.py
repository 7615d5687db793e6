"""Frozen, platform-neutral messages between the core and the adapters.

Adapters turn a platform event into an `Incoming` and render a `Reply` as embeds, Block Kit or
text. Every text field here is *plain text*: adapters escape it for their platform, so
nothing a paper or a user wrote can ping anyone or break formatting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.papers import Paper


@dataclass(frozen=True)
class User:
    platform: str
    id: str
    name: str = ""
    # The adapter decides from platform facts (Manage Channels on Discord, workspace admin or
    # SLACK_CHANNEL_ADMINS on Slack, always on the console) whether this user may change the
    # current channel's subscriptions and digest settings.
    can_manage_channel: bool = False
    raw: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Place:
    """Where a command was typed: a channel, or a DM with the bot."""

    platform: str
    id: str  # channel id (for a DM: the DM channel id)
    is_dm: bool = False
    workspace_id: str | None = None  # Discord guild / Slack team
    name: str = ""
    # Why the bot could not post here, when the adapter knows from platform facts (Discord's
    # app permissions, Slack channel membership): a whole sentence that says how to fix it.
    cannot_post: str | None = None
    # Why the bot could not open threads and post in them here (Discord's Create Public
    # Threads and Send Messages in Threads), as a sentence that says how to fix it.
    cannot_thread: str | None = None
    # The bot is not installed here (Discord's user install: a server without the bot, a
    # DM or group DM between people): a command that would set this place up acts on the
    # caller personally, and this sentence tells them so.
    personal_only: str | None = None
    raw: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Incoming:
    """A command, as any adapter hands it to the core.

    Either `text` (the raw argument string, as typed on Slack or the console) or `options`
    (already split by the platform, as Discord's typed options) carries the arguments; the
    core parses and validates both the same way, from the command registry.
    """

    command: str  # registry name, e.g. "paper" or "digest time"
    user: User
    place: Place
    text: str = ""
    options: Mapping[str, str] | None = None
    # How users invoke commands here ("/" on Discord and the console, "/papers " on Slack), so
    # help and usage lines read the way the user types them.
    prefix: str = "/"
    # The platform offers channel commands to every member (Discord shows /subscribe to
    # all): a member who may not manage the channel then acts on their personal scope, where
    # the command has one, instead of being refused (see Core.handle).
    members_act_personally: bool = False
    raw: Any = field(default=None, compare=False, repr=False)


class Tone(StrEnum):
    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"


class Feedback(StrEnum):
    """What a reader's click on a paper's controls asks for (see bot.commands.feedback)."""

    UP = "up"  # 👍 more like this
    DOWN = "down"  # 👎 not for me
    CLEAR = "clear"  # forget my rating
    SAVE = "save"  # 🔖
    UNSAVE = "unsave"
    SIMILAR = "similar"


# The controls every paper carries, in the order platforms show them.
CONTROLS = (Feedback.UP, Feedback.DOWN, Feedback.SAVE, Feedback.SIMILAR)


@dataclass(frozen=True)
class PaperAction:
    """One click's worth of feedback on one paper."""

    paper_id: str
    action: Feedback


@dataclass(frozen=True)
class Notice:
    """A short plain-text answer. Errors carry the usage line of the command."""

    text: str
    tone: Tone = Tone.INFO
    usage: str | None = None
    ephemeral: bool = False
    # What takes the change back (a rating, a save), for platforms that offer it as a button.
    undo: PaperAction | None = None


@dataclass(frozen=True)
class PaperCard:
    """One paper shown in full."""

    paper: Paper
    note: str | None = None  # e.g. "Not on Hugging Face yet; from arXiv"
    ephemeral: bool = False


@dataclass(frozen=True)
class PaperItem:
    paper: Paper
    reasons: tuple[str, ...] = ()  # e.g. the subscription queries that matched


@dataclass(frozen=True)
class PaperList:
    """A titled, ranked list of papers (a day's list, search results, a digest)."""

    title: str
    items: tuple[PaperItem, ...]
    footer: str | None = None  # e.g. "and 12 more — try search diffusion"
    empty_text: str = "No papers."
    ephemeral: bool = False
    # A command the user may run on one of these papers, given its id (e.g. "paper"): the
    # list is a choice. Platforms that can offer it as one (Discord's select menu) do; the
    # others show the list, whose reasons say what to type.
    pick: str | None = None
    # Posted on the bot's own as a header with each paper in a thread under it (a digest
    # with `digest threads on`); platforms without threads post it as usual.
    thread: bool = False
    # A short line under the title, before the papers (a weekly digest's "most discussed").
    intro: str | None = None
    # A second, labelled group after the items: papers outside the reader's queries that
    # the recommender offers ("You may also like", in personal alerts).
    also: tuple[PaperItem, ...] = ()
    also_title: str = "You may also like"


@dataclass(frozen=True)
class Section:
    """A headed group of (term, text) entries: "/paper <id>" and what it does; an example
    has no text."""

    title: str
    entries: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Fields:
    """A titled table of name/value rows (status, subscriptions, why)."""

    title: str
    rows: tuple[tuple[str, str], ...]
    footer: str | None = None
    ephemeral: bool = False
    # The same content in headed sections, for platforms that show them (Discord's help
    # embed); the others show `rows`.
    sections: tuple[Section, ...] = ()


@dataclass(frozen=True)
class FileReply:
    """A file for the user (an export): adapters attach or upload `content` as `filename`.

    `text` is the plain-text message that goes with it; platforms that cannot send files
    where the command was typed say so in their own words.
    """

    filename: str
    content: bytes = field(repr=False)
    media_type: str
    text: str
    ephemeral: bool = False


Reply = Notice | PaperCard | PaperList | Fields | FileReply
