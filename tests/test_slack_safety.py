"""Nothing a paper or a user writes can ping anyone or break a Slack message.

A paper whose title, authors and abstract are made of mentions, links and Slack control
characters, and queries made of the same, go through every path to Slack: respond() answers,
the `text` notification fallbacks, error notices echoing the input, and digests and DM alerts
posted with chat.postMessage. Every message must pass the fake's copy of Slack's limits, and
every `<` in it must open one of our own http(s) links, every `&` an entity.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.slack import SlackAdapter
from bot.app import App
from bot.commands import build_registry
from bot.core import Core
from bot.delivery.sender import Sender
from bot.papers import Paper
from bot.services.ingest import store
from tests.fakes.slack_server import FakeSlack, _check_message
from tests.test_slack_commands import papers
from tests.test_slack_http import start_http

HOSTILE = (
    "look <!channel> <!here> <!everyone> <@U123> <#C123> <!subteam^S123> "
    "<https://evil.example|click> & &amp; *bold* _it_ ~s~ `tick` ```block``` > quote @channel "
    "@everyone @here <@&123456789012345678> \u202eesrever\u202c \u2066iso\u2069 *stray _x ```open"
)
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
PAPER = Paper(
    id="2412.99999",
    title=HOSTILE + " — ünïcødé 论文 🚀",
    abstract=("> " + HOSTILE + "\n") * 40,
    authors=("<!channel>", "<@U999>", "A & B", "x" * 400),
    upvotes=7,
    organization="<!here> Labs",
    github_repo="https://github.com/a/b|<!channel>",
    project_page="https://example.org/" + "p" * 3100,
)
NOT_OUR_LINK = re.compile(r"<(?!https?://)")
BARE_AMP = re.compile(r"&(?!amp;|lt;|gt;)")


def check_inert(message: dict[str, Any]) -> None:
    assert _check_message(message) is None, message
    texts = [message.get("text") or ""]
    for block in message.get("blocks") or []:
        texts.append((block.get("text") or {}).get("text", ""))
        texts += [
            e["text"]["text"] if isinstance(e.get("text"), dict) else e.get("text", "")
            for e in block.get("elements") or []
            if "url" not in e
        ]
        texts += [e["url"] for e in block.get("elements") or [] if e.get("url")]
    for text in texts:
        assert not NOT_OUR_LINK.search(text), text
        assert not BARE_AMP.search(text), text
        assert not any(c in text for c in BIDI), text
        assert "```" not in text, text  # no fence can open and swallow the rest
    assert "went wrong" not in json.dumps(message)


@pytest.fixture
async def app(sample_app: App) -> App:
    """The sample, plus a hostile paper featured today."""
    today = sample_app.clock().date()
    await store(sample_app, [Paper(**{**PAPER.__dict__, "featured_on": (today,)})])
    return sample_app


@pytest.fixture
async def bot(app: App, slack: FakeSlack) -> AsyncIterator[SlackAdapter]:
    adapter = await start_http(Core(app, build_registry()), slack)
    yield adapter
    await adapter.stop()


async def say(bot: SlackAdapter, slack: FakeSlack, text: str, **kw: Any) -> list[dict[str, Any]]:
    answers = await papers(bot, slack, text, **kw)
    for a in answers:
        check_inert(a)
    return answers


async def test_hostile_paper_in_every_answer(bot: SlackAdapter, slack: FakeSlack) -> None:
    [card] = await say(bot, slack, f"paper {PAPER.id}")
    head = card["blocks"][0]["text"]["text"]
    assert "look &lt;!channel&gt; &lt;!here&gt;" in head and "&amp; &amp;amp;" in head
    actions, _controls = [b for b in card["blocks"] if b["type"] == "actions"]  # links, 👍 👎 …
    labels = [e["text"]["text"] for e in actions["elements"]]
    assert "Project page" not in labels  # its URL is over Slack's 3,000 characters
    assert "&lt;!channel&gt;" in card["text"]

    await say(bot, slack, "today")
    await say(bot, slack, "search look")
    await say(bot, slack, f"why {PAPER.id}")
    await say(bot, slack, f"paper {HOSTILE}")


async def test_hostile_input_is_echoed_inert(bot: SlackAdapter, slack: FakeSlack) -> None:
    for query in ('"<!channel>"', 'look OR "<@U123>"', '"a & b" OR look'):
        [done] = await say(bot, slack, f"subscribe {query}")
        assert done["response_type"] == "in_channel"
    await say(bot, slack, "subscribe <!here> --dm")
    await say(bot, slack, "subscriptions")
    await say(bot, slack, "status")
    await say(bot, slack, f"why {PAPER.id}")
    await say(bot, slack, "help <!channel>")
    await say(bot, slack, "mute <@U123>")
    await say(bot, slack, "digest time <!here> <#C1>")
    await say(bot, slack, "unsubscribe <!channel>")
    await say(bot, slack, "papers <!everyone>")
    await say(bot, slack, "search " + "(" * 10 + "<!channel>")
    error, _ = await say(bot, slack, "<!channel> & more", n=2)
    assert "Unknown subcommand '&lt;!channel&gt;'" in error["blocks"][0]["text"]["text"]


async def test_hostile_paper_in_digests_and_dm_alerts(
    bot: SlackAdapter, slack: FakeSlack, app: App
) -> None:
    await say(bot, slack, "subscribe look")
    await say(bot, slack, "digest now")
    await say(bot, slack, "subscribe look", dm=True)
    await say(bot, slack, "digest now", dm=True)
    report = await Sender(app, {"slack": bot}).drain()
    assert report.sent == 2 and report.disabled == report.retried == 0
    assert {m["channel"] for m in slack.messages} == {"C100", "D100"}
    for message in slack.messages:
        check_inert(message)
        assert "look &lt;!channel&gt;" in json.dumps(message, ensure_ascii=False)
