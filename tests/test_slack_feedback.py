"""👍 👎 🔖 Similar on Slack: signed block_actions through real slack-bolt, after restarts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.slack import SlackAdapter
from adapters.slack.feedback import NOT_YOURS
from bot.app import App, build_app
from bot.commands import build_registry
from bot.core import Core
from bot.messages import PaperItem, PaperList
from bot.port import Destination
from bot.storage.feedback_repo import DOWN, UP, Person
from tests.fakes.slack_server import FakeSlack, _check_message, form_body, sign
from tests.helpers import FakeClock
from tests.port_helpers import send
from tests.test_slack_commands import papers
from tests.test_slack_http import post, start_http

ALICE, BOB = "U100", "U200"


@pytest.fixture
async def pid(sample_app: App, clock: FakeClock) -> str:
    """A stored paper of today's sample."""
    today = clock().date()
    return (await sample_app.papers.featured_between(today, today))[0].id


@pytest.fixture
async def bot(sample_app: App, slack: FakeSlack) -> AsyncIterator[SlackAdapter]:
    adapter = await start_http(Core(sample_app, build_registry()), slack)
    yield adapter
    await adapter.stop()


def person(slack: FakeSlack, user: str) -> Person:
    return Person("slack", f"{slack.team_id}:{user}")


async def ratings(app: App, who: Person) -> dict[str, int]:
    return dict((await app.feedback.taste(who)).ratings)


def controls(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The feedback controls of a message: buttons and overflow menus, in order."""
    out = []
    for block in message.get("blocks") or []:
        for e in [*(block.get("elements") or []), block.get("accessory") or {}]:
            if str(e.get("action_id", "")).startswith("paperbot_fb_"):
                out.append(e)
    return out


def button(message: dict[str, Any], label: str) -> dict[str, Any]:
    [found] = [e for e in controls(message) if e["type"] == "button" and e["text"]["text"] == label]
    return found


async def press(
    bot: SlackAdapter,
    slack: FakeSlack,
    element: dict[str, Any],
    *,
    user: str = ALICE,
    value: str | None = None,
    key: str = "click",
    channel: str = "C100",
) -> list[dict[str, Any]]:
    """Send a signed block_actions click on `element` in `channel`; return what the bot
    responded."""
    action: dict[str, Any] = {"action_id": element["action_id"], "block_id": "b", "action_ts": "1"}
    if element["type"] == "overflow":
        chosen = value or element["options"][0]["value"]
        action.update(type="overflow", selected_option={"value": chosen})
    else:
        action.update(type="button", value=value or element["value"])
    before = len(slack.responses[key])
    payload = slack.interactive(
        "block_actions",
        user_id=user,
        channel={"id": channel, "name": "directmessage" if channel[:1] == "D" else "general"},
        container={"type": "message", "channel_id": channel, "message_ts": "1.1"},
        response_url=slack.response_url(key),
        actions=[action],
    )
    body = form_body({"payload": json.dumps(payload)})
    status, text = await post(bot, body, sign(body))
    assert status == 200 and text == ""  # acknowledged at once; the answer follows
    answers = (await slack.wait_responses(key, before + 1))[before:]
    for a in answers:
        assert a["response_type"] == "ephemeral" and a["replace_original"] is False
        assert _check_message(a) is None
    return answers


def text_of(message: dict[str, Any]) -> str:
    return str(message["blocks"][0]["text"]["text"])


async def test_a_card_rates_and_undo_takes_it_back(
    bot: SlackAdapter, slack: FakeSlack, sample_app: App, pid: str
) -> None:
    [card] = await papers(bot, slack, f"paper {pid}")
    assert [e["text"]["text"] for e in controls(card)] == ["👍", "👎", "🔖 Save", "Similar"]
    [rated] = await press(bot, slack, button(card, "👍"))
    assert f"Rated {pid}" in text_of(rated)
    assert await ratings(sample_app, person(slack, ALICE)) == {pid: UP}
    undo = button(rated, "Undo")
    assert undo["value"] == f"fb1|clear|{pid}|{ALICE}"  # the clicker's own
    [undone] = await press(bot, slack, undo)
    assert f"Cleared your rating of {pid}" in text_of(undone)
    assert await ratings(sample_app, person(slack, ALICE)) == {}

    # Someone else in the channel rates for themselves; alice's Undo is not theirs.
    await press(bot, slack, button(card, "👎"), user=BOB)
    assert await ratings(sample_app, person(slack, BOB)) == {pid: DOWN}
    [refused] = await press(bot, slack, button(undone, "Undo"), user=BOB)
    assert text_of(refused) == NOT_YOURS
    assert await ratings(sample_app, person(slack, BOB)) == {pid: DOWN}
    assert await ratings(sample_app, person(slack, ALICE)) == {}


async def test_save_undo_and_similar(
    bot: SlackAdapter, slack: FakeSlack, sample_app: App, pid: str
) -> None:
    [card] = await papers(bot, slack, f"paper {pid}")
    [saved] = await press(bot, slack, button(card, "🔖 Save"))
    assert "Saved" in text_of(saved)
    assert await sample_app.feedback.saved(person(slack, ALICE)) == [pid]
    await press(bot, slack, button(saved, "Undo"))
    assert await sample_app.feedback.saved(person(slack, ALICE)) == []
    [similar] = await press(bot, slack, button(card, "Similar"))
    assert text_of(similar).startswith(f"*Papers like {pid}")
    assert all(e["type"] == "overflow" for e in controls(similar))


async def test_a_digest_stays_within_limits_and_a_click_after_a_restart_works(
    slack: FakeSlack, sample_app: App, clock: FakeClock
) -> None:
    today = clock().date()
    items = tuple(PaperItem(p) for p in await sample_app.papers.featured_between(today, today))
    assert len(items) >= 40
    adapter = await start_http(Core(sample_app, build_registry()), slack)
    try:
        await send(
            adapter, Destination("slack", "channel", "C100"), PaperList("Digest", items), key="d"
        )
    finally:
        await adapter.stop()
    posted = [c.args for c in slack.calls_to("chat.postMessage")]
    # chat.postMessage's blocks arrive as JSON text in a form body.
    blocks = [json.loads(b) if isinstance(b := msg["blocks"], str) else b for msg in posted]
    assert len(posted) >= 2  # the digest needed more than one message
    menus = [m for bs in blocks for m in controls({"blocks": bs})]
    assert len(menus) == len(items) and all(m["type"] == "overflow" for m in menus)
    for msg in posted:
        assert _check_message(msg) is None  # ≤ 50 blocks, unique action_ids, menus well formed
    second = menus[1]
    assert [o["value"].split("|")[1] for o in second["options"]] == [
        "up",
        "down",
        "save",
        "similar",
    ]

    # A new process: new services on the same database, a new bolt app.
    app = build_app(sample_app.settings, source_name="sample", clock=clock)
    restarted = await start_http(Core(app, build_registry()), slack)
    try:
        [answer] = await press(restarted, slack, second, value=second["options"][1]["value"])
        assert "👎 Rated" in text_of(answer)
    finally:
        await restarted.stop()
        await app.close()
    assert await ratings(sample_app, person(slack, ALICE)) == {items[1].paper.id: DOWN}


@pytest.mark.parametrize(
    ("value", "answer"),
    [
        ("fb1|up", "That button is out of date"),  # cut short
        ("fb0|up|2501.00001|", "That button is out of date"),  # an older or newer format
        ("fb1|love|2501.00001|", "That button is out of date"),
        ("fb1|up|../../etc|", "That button is out of date"),
        ("fb1|up|9999.99999|", "Paper 9999.99999 is not among the stored Daily Papers"),
        ("fb1|up|2501.00001|U999", NOT_YOURS),
    ],
)
async def test_a_forged_or_stale_value_answers_briefly_and_stores_nothing(
    bot: SlackAdapter, slack: FakeSlack, sample_app: App, value: str, answer: str
) -> None:
    forged = {"type": "button", "action_id": "paperbot_fb_0_0", "value": value}
    posts_before = len(slack.calls_to("chat.postMessage"))
    [reply] = await press(bot, slack, forged)
    assert answer in text_of(reply) and len(text_of(reply)) < 200
    assert await ratings(sample_app, person(slack, ALICE)) == {}
    assert len(slack.calls_to("chat.postMessage")) == posts_before  # nothing posted
