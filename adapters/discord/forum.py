"""Digests into a Discord forum channel: one post (a forum thread) per paper.

A reading group's forum gets a post per paper, named after it, with the forum's tags that
match the paper's keywords, so each paper has its own discussion. The parts are decided
once, when the digest is first rendered (tags included), like every other part.

Creating a forum post takes no nonce, so a repeat cannot be dropped by Discord: a part that
may have been posted by a try that ended before recording it (`Destination.maybe_posted`)
is first looked for among the guild's active threads (this forum, the bot's, the same name).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import discord
from discord.http import handle_message_parameters
from discord.utils import MISSING

from adapters.discord.feedback import controls_view
from adapters.discord.render import control, paper_card, plain
from bot.messages import PaperCard, PaperList
from bot.port import Destination, Part, Posted

log = logging.getLogger(__name__)
NONE = discord.AllowedMentions.none()
FORUM = 15  # Discord's channel type of a forum channel
MAX_NAME = 100  # a forum post's (thread's) name
MAX_TAGS = 5  # applied_tags per post


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


def matching_tags(
    available: Iterable[Mapping[str, Any]], keywords: Iterable[str], limit: int = MAX_TAGS
) -> list[str]:
    """The ids of the forum's tags named like one of the keywords (any case), in the
    forum's order, at most `limit`. Moderated tags are left out: only members who may
    manage threads can apply them, and the bot is not asked for that permission."""
    wanted = {_folded(k) for k in keywords if k.strip()}
    out = []
    for tag in available:
        if tag.get("moderated") or _folded(str(tag.get("name", ""))) not in wanted:
            continue
        out.append(str(tag["id"]))
        if len(out) == limit:
            break
    return out


def forum_parts(reply: PaperList, available_tags: Sequence[Mapping[str, Any]]) -> list[Part]:
    """One forum post per paper: named after it, its card as the first message.

    A post shows one paper, so its first message carries that paper's row of 👍 👎 🔖 Similar
    buttons, as a card does; stored with the part, so a resumed digest posts the same ones.
    """
    parts: list[Part] = []
    for rank, item in enumerate(reply.items, 1):
        paper = item.paper
        name = plain(paper.title, MAX_NAME) or paper.id
        tags = matching_tags(available_tags, paper.ai_keywords)
        card = paper_card(PaperCard(paper))
        parts.append(
            {
                "forum": {"name": name, "applied_tags": tags},
                "embeds": [card.to_dict()],
                "papers": [list(control(paper, rank))],
            }
        )
    return parts


def tags_of(channel: Any) -> list[dict[str, Any]] | None:
    """A forum's available tags as JSON, from discord.py's cache or a REST channel object;
    None when `channel` is not a forum channel."""
    if isinstance(channel, discord.ForumChannel):
        return [
            {"id": str(t.id), "name": t.name, "moderated": t.moderated}
            for t in channel.available_tags
        ]
    if isinstance(channel, dict) and int(channel.get("type", 0)) == FORUM:
        return list(channel.get("available_tags") or [])
    return None


async def post_in_forum(
    http: discord.http.HTTPClient, destination: Destination, part: Part, bot_id: int | None
) -> Posted:
    """Create the part's forum post, unless an earlier try did (see the module's docstring)."""
    spec = part["forum"]
    if destination.maybe_posted:
        found = await _find_post(http, destination, str(spec["name"]), bot_id)
        if found is not None:
            log.info(
                "discord forum %s: post %r was created before its record; not again",
                destination.id,
                spec["name"],
            )
            return Posted(found)
    embeds = [discord.Embed.from_dict(e) for e in part.get("embeds", ())]
    papers = [(str(p[0]), str(p[1])) for p in part.get("papers", ())]
    params = handle_message_parameters(
        content=part.get("content"),
        embeds=embeds,
        allowed_mentions=NONE,
        # Owner 0: anyone reading the forum may rate the paper, each click for the clicker.
        view=controls_view(papers, 0) if papers else MISSING,
        # The post's own fields; the message goes under "message" (as ForumChannel does).
        channel_payload={
            "name": str(spec["name"]),
            "applied_tags": [str(t) for t in spec.get("applied_tags", ())],
        },
    )
    with params:
        data = await http.start_thread_in_forum(int(destination.id), params=params)
    # A forum post's first message has the post's id.
    return Posted(str(data["id"]))


async def _find_post(
    http: discord.http.HTTPClient, destination: Destination, name: str, bot_id: int | None
) -> str | None:
    channel: dict[str, Any] = dict(await http.get_channel(int(destination.id)))
    guild_id = channel.get("guild_id")
    if guild_id is None:
        return None
    active = await http.get_active_threads(int(guild_id))
    for thread in active.get("threads", []):
        mine = bot_id is None or str(thread.get("owner_id")) == str(bot_id)
        if mine and str(thread.get("parent_id")) == destination.id and thread["name"] == name:
            return str(thread["id"])
    return None
