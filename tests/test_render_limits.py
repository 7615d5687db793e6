"""Any stored paper renders within Discord's and Slack's limits, with whole links.

Papers at (and past) every field's maximum length: a 5,000-character title, a 40,000-character
abstract and AI summary, 200 authors with 300-character names, the longest URLs each
renderer still links, 100 keywords, a 3,000-character organisation, long subscription
reasons, and tables of long rows. Each goes through every reply shape (card, list and digest,
pages, Fields) and every message must pass the fakes' copy of the platform's limits.
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import date
from typing import Any

import pytest

from adapters.discord.render import render as discord_render
from adapters.slack.render import render as slack_render
from bot.messages import Fields, Notice, PaperCard, PaperItem, PaperList, Reply
from bot.papers import Paper
from tests.fakes.discord_server import message_problems
from tests.fakes.slack_server import _check_message

BASE = Paper(
    id="2412.17747",
    title="Deliberation in Latent Space",
    abstract="We augment a frozen LLM with a coprocessor.",
    authors=("A. Liu", "B. Chen"),
    upvotes=42,
    github_repo="example/latent",
    github_stars=1200,
    project_page="https://example.org/latent",
    featured_on=(date(2024, 12, 24),),
)


def _url(host: str, length: int) -> str:
    head = f"https://{host}/"
    return head + "p" * (length - len(head))


LONGEST = dataclasses.replace(
    BASE,
    title="Title & <words> " * 320,
    abstract="Abstract *with* `marks` & more. " * 1300,
    ai_summary="Summary & <summary> " * 2000,
    authors=tuple(f"Author{i} " + "N&" * 150 for i in range(200)),
    upvotes=2**31 - 1,
    comments=10**9,
    github_stars=10**12,
    ai_keywords=tuple("keyword " * 12 for _ in range(100)),
    organization="Organisation & <co> " * 150,
    thumbnail=_url("cdn.example", 512),
)
# The longest URLs each renderer keeps (Discord links up to 512 characters, Slack up to 3,000),
# and one past each: a card must stay valid either way.
URLS = [
    ("github_repo", _url("github.com", 512)),
    ("project_page", _url("example.org", 512)),
    ("github_repo", _url("github.com", 513)),
    ("github_repo", _url("github.com", 3000)),
    ("project_page", _url("example.org", 3000)),
    ("project_page", _url("example.org", 3001)),
]
PAPERS = [
    BASE,
    LONGEST,
    dataclasses.replace(LONGEST, github_repo=_url("github.com", 512)),
    dataclasses.replace(
        LONGEST, github_repo=_url("github.com", 512), project_page=_url("example.org", 512)
    ),
    dataclasses.replace(
        LONGEST, github_repo=_url("github.com", 3000), project_page=_url("example.org", 3000)
    ),
    *(dataclasses.replace(BASE, **{field: url}) for field, url in URLS),
    dataclasses.replace(LONGEST, id="sample-01"),  # no arXiv id: no HF, arXiv or PDF links
]
# Slack: a context element's text (the lower of the limits quoted), the notification text.
MAX_CONTEXT_TEXT = 2000
MAX_FALLBACK = 4000
REASONS = tuple(f'(agents OR "reasoning models") title:{"x" * 280} #{i}' for i in range(30))


def replies(paper: Paper) -> list[Reply]:
    items = tuple(PaperItem(dataclasses.replace(paper), reasons=REASONS) for _ in range(60))
    return [
        PaperCard(paper, note="Not on Hugging Face yet; from arXiv " * 200),
        PaperList("Digest for #general " * 300, items, footer="and 12 more " * 600),
        PaperList("Nothing", (), footer="F" * 5000, empty_text="No papers & more " * 500),
        Fields(
            "Subscriptions of #general " * 30,
            tuple((f"#{i} " + "q" * 400, "matched: " + "v & " * 1500) for i in range(80)),
            footer="Footer " * 1000,
        ),
        Fields("Empty", ()),
        Notice("A very long notice. " * 1000, usage="subscribe <query> [--dm] " * 300),
    ]


DISCORD_LINK = re.compile(r"\[[^\[\]]+\]\(https?://[^\s()]+\)")


def _discord_messages(reply: Reply) -> list[dict[str, Any]]:
    out = []
    for interactive in (False, True):
        for message in discord_render(reply, interactive=interactive):
            for page in message.pages or (message,):
                embeds = [e.to_dict() for e in page.embeds]
                out.append({"content": page.content, "embeds": embeds})
    return out


@pytest.mark.parametrize("paper", PAPERS, ids=range(len(PAPERS)))
def test_discord_messages_fit_for_any_paper(paper: Paper) -> None:
    for reply in replies(paper):
        for msg in _discord_messages(reply):
            assert message_problems(msg) == [], (type(reply).__name__, message_problems(msg))
            for embed in msg["embeds"]:
                for field in embed.get("fields", []):
                    if field["name"] == "Links":
                        parts = field["value"].split(" · ")
                        assert all(DISCORD_LINK.fullmatch(p) for p in parts), field["value"]


def test_discord_card_keeps_the_links_that_fit() -> None:
    """Two 512-character URLs overflow the 1,024-character Links field: the second goes."""
    [msg] = _discord_messages(PaperCard(PAPERS[3]))[:1]
    links = {f["name"]: f["value"] for f in msg["embeds"][0]["fields"]}["Links"]
    assert len(links) <= 1024
    labels = [p.split("]")[0] for p in links.split(" · ")]
    assert labels == ["[arXiv", "[PDF", "[GitHub ★1000000000000"]
    short = _discord_messages(PaperCard(BASE))[0]["embeds"][0]["fields"]
    assert "[Project page](https://example.org/latent)" in short[-1]["value"]


SLACK_LINK = re.compile(r"<https?://[^\s<>|]+\|[^<>|]*>")


def _slack_texts(msg: dict[str, Any]) -> list[str]:
    texts = [msg["text"]]
    for block in msg["blocks"]:
        if "text" in block:
            texts.append(block["text"]["text"])
        texts += [e["text"] for e in block.get("elements", []) if e.get("type") == "mrkdwn"]
    return texts


@pytest.mark.parametrize("paper", PAPERS, ids=range(len(PAPERS)))
def test_slack_messages_fit_for_any_paper(paper: Paper) -> None:
    for reply in replies(paper):
        for msg in slack_render(reply):
            assert _check_message(msg) is None, type(reply).__name__
            assert len(msg["text"]) <= MAX_FALLBACK
            for block in msg["blocks"]:
                for element in block.get("elements", []):
                    if element.get("type") == "mrkdwn":
                        assert len(element["text"]) <= MAX_CONTEXT_TEXT
            # Every < opens one of our whole links, every & an entity: nothing was cut.
            for text in _slack_texts(msg):
                rest = SLACK_LINK.sub("", text)
                assert "<" not in rest and ">" not in rest, text[:300]
                assert not re.search(r"&(?!amp;|lt;|gt;)", text), text[:300]
            assert len(json.dumps(msg)) < 40_000
