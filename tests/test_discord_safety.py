"""Nothing a paper or a user writes can ping anyone or break a Discord message.

A paper whose title, authors and abstract are made of mentions and markdown, and queries made
of the same, go through every path to Discord: command answers (first response, deferred
edit, follow-ups, pager edits), autocomplete, and digests and DM alerts posted by the
delivery layer. Every message must be accepted by the fake's copy of Discord's limits, carry
`allowed_mentions` parsing nothing, and show the hostile text inert.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.discord import DiscordAdapter
from bot.app import App
from bot.commands import build_registry
from bot.core import Core
from bot.delivery.sender import Sender
from bot.papers import Paper
from bot.services.ingest import store
from tests.discord_helpers import running_adapter
from tests.fakes.discord_server import (
    ALL_PERMISSIONS,
    FakeDiscord,
    choice_problems,
    message_problems,
)

HOSTILE = (
    "@everyone look @here <@123456789012345678> <@&223456789012345678> <@!323456789012345678> "
    "<!channel> <!here> <@U123> **bold** __under__ `tick ~~strike~~ ||spoiler|| "
    "[click](https://evil.example) \u202eesrever\u202c \u2066iso\u2069 ```open"
)
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
PAPER = Paper(
    id="2412.99999",
    title=HOSTILE + " — ünïcødé 论文 🚀 diffusion",
    abstract=("> quote\n# header\n- item " + HOSTILE + " ") * 30,
    authors=("@everyone", "<@123456789012345678>", "**Bob** `x`", "B" * 300),
    upvotes=7,
    github_repo="example/repo",
    project_page="https://example.org/" + "p" * 3100,
    thumbnail="javascript:alert(1)",
)
PINGS = re.compile(r"@(everyone|here)|<@[!&]?\d{17,20}>")
MARKDOWN = re.compile(r"(?<!\\)\*\*bold|(?<!\\)\[click\]|(?<!\\)`tick|(?<!\\)\|\|spoiler")


@pytest.fixture
async def app(sample_app: App) -> App:
    """The sample, plus a hostile paper featured today."""
    today = sample_app.clock().date()
    await store(sample_app, [Paper(**{**PAPER.__dict__, "featured_on": (today,)})])
    return sample_app


@pytest.fixture
async def bot(fake: FakeDiscord, app: App) -> AsyncIterator[DiscordAdapter]:
    async with running_adapter(fake, Core(app, build_registry())) as adapter:
        yield adapter


def check_inert(msg: dict[str, Any]) -> None:
    """Assert Discord would accept `msg` and that nothing in it can ping or format."""
    assert message_problems(msg) == [], msg
    assert msg["allowed_mentions"] == {"parse": []}
    rendered: list[str] = [msg.get("content") or ""]
    plain: list[str] = []  # embed parts Discord shows without markdown
    for e in msg["embeds"]:
        rendered += [e.get("title", ""), e.get("description", "")]
        rendered += [x for f in e.get("fields", []) for x in (f["name"], f["value"])]
        plain += [(e.get("author") or {}).get("name", ""), (e.get("footer") or {}).get("text", "")]
    for text in rendered:
        assert not PINGS.search(text), text
        assert not MARKDOWN.search(text), text
    for text in plain:
        assert not PINGS.search(text), text
    for text in rendered + plain:
        assert not any(c in text for c in BIDI), text
        assert "```" not in text, text
    assert "went wrong" not in rendered[0]


async def run(
    fake: FakeDiscord, name: str, options: dict[str, Any] | None = None, **kw: Any
) -> list[dict[str, Any]]:
    sub = kw.pop("sub", None)
    payload = fake.interaction(
        name, options, sub=[sub] if sub else None, permissions=ALL_PERMISSIONS, **kw
    )
    msgs = await fake.wait_reply(await fake.interact(payload), within=10)
    for m in msgs:
        check_inert(m)
    return msgs


async def test_hostile_paper_in_every_command_answer(
    fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    [card] = await run(fake, "paper", {"query": PAPER.id})
    [embed] = card["embeds"]
    assert embed["title"].startswith("@\u200beveryone look @\u200bhere")
    assert "\\*\\*bold\\*\\*" in embed["title"]
    assert "thumbnail" not in embed  # not an http(s) URL
    links = {f["name"]: f["value"] for f in embed["fields"]}["Links"]
    assert "Project page" not in links  # too long to be a safe link

    [page] = await run(fake, "papers", {"day": "today", "limit": 12})
    titles = [e["title"] for e in page["embeds"]]
    assert any("@\u200beveryone look" in t for t in titles)
    buttons = page["components"][0]["components"]
    press = fake.component_interaction(buttons[1]["custom_id"], page)
    await fake.interact(press)
    [edit] = await fake.wait_until(lambda: fake.interaction_messages.get(press["token"]))
    check_inert(edit)

    await run(fake, "search", {"query": "look"})
    await run(fake, "why", {"paper": PAPER.id})
    await run(fake, "paper", {"query": HOSTILE})


async def test_hostile_queries_and_arguments_are_echoed_inert(
    fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    queries = ['"@everyone"', 'look OR "<@123456789012345678>"', '"**bold**" OR "`tick"']
    for query in queries:
        [done] = await run(fake, "subscribe", {"query": query})
        assert done["content"].startswith("✅ Subscribed #general"), done["content"]
    await run(fake, "subscribe", {"query": "@here --dm"})
    await run(fake, "subscriptions")
    await run(fake, "status")
    await run(fake, "why", {"paper": PAPER.id})
    await run(fake, "why", {"paper": PAPER.id, "subscription": "<@123456789012345678>"})
    await run(fake, "help", {"command": "@everyone"})
    await run(fake, "mute", {"duration": "<@123456789012345678>"})
    await run(fake, "digest", {"time": "@here", "zone": "@everyone"}, sub="time")
    await run(fake, "search", {"query": "**bold** @everyone"})
    await run(fake, "search", {"query": "(" * 10 + "@everyone"})
    await run(fake, "paper", {"query": "x" * 400})
    await run(fake, "papers", {"day": "@everyone"})
    await run(fake, "unsubscribe", {"id": "@everyone"})

    payload = fake.interaction(
        "unsubscribe", {"id": ""}, kind=4, focused="id", permissions=ALL_PERMISSIONS
    )
    await fake.interact(payload)
    [body] = await fake.wait_until(lambda: fake.callbacks.get(payload["id"]), 10)
    assert choice_problems(body["data"]["choices"]) == []
    assert len(body["data"]["choices"]) == len(queries)


async def test_hostile_paper_in_digests_and_dm_alerts(
    fake: FakeDiscord, bot: DiscordAdapter, app: App
) -> None:
    await run(fake, "subscribe", {"query": "look"})
    await run(fake, "digest", sub="now")
    await run(fake, "subscribe", {"query": "look"}, dm=True)
    await run(fake, "digest", sub="now", dm=True)
    report = await Sender(app, {"discord": bot}).drain()
    assert report.sent == 2 and report.disabled == report.retried == 0
    dm = fake.dm_channel(fake.alice["id"])
    assert dm is not None
    for channel in (fake.channel_id, dm):
        msgs = fake.messages[channel]
        for m in msgs:
            check_inert(m)
        assert any("@\u200beveryone look" in e["title"] for m in msgs for e in m["embeds"])


async def test_a_card_with_the_longest_links_is_accepted(
    fake: FakeDiscord, bot: DiscordAdapter, app: App
) -> None:
    """Two 512-character URLs once made a 1,136-character Links field: Discord said 400."""
    paper = Paper(
        id="2412.99998",
        title="Long links",
        github_repo="https://github.com/" + "g" * 493,
        github_stars=120,
        project_page="https://example.org/" + "p" * 492,
        featured_on=(app.clock().date(),),
    )
    await store(app, [paper])
    [card] = await run(fake, "paper", {"query": paper.id})
    links = {f["name"]: f["value"] for f in card["embeds"][0]["fields"]}["Links"]
    assert "[GitHub ★120](https://github.com/ggg" in links and len(links) <= 1024
