"""The message shortcut "Find paper": the papers a message names, answered only to the asker."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from adapters.slack import SlackAdapter
from adapters.slack.shortcuts import FIND_CALLBACK, MAX_TEXT, message_text
from tests.fakes.slack_server import FakeSlack
from tests.slack_feature_helpers import TITLES, block_texts, bot, send_interactive

__all__ = ["bot"]  # the fixture


def shortcut(slack: FakeSlack, message: dict[str, Any], key: str | None = None) -> dict:
    fields: dict[str, Any] = {
        "callback_id": FIND_CALLBACK,
        "channel": {"id": "C100", "name": "general"},
        "message_ts": "1735000000.000100",
        "message": {"type": "message", "user": "U200", "ts": "1735000000.000100", **message},
    }
    if key is not None:
        fields["response_url"] = slack.response_url(key)
    return slack.interactive("message_action", **fields)


async def find(
    bot: SlackAdapter, slack: FakeSlack, text: str, n: int = 1, **message: Any
) -> list[dict[str, Any]]:
    key = uuid.uuid4().hex
    status, body = await send_interactive(
        bot, slack, shortcut(slack, {"text": text, **message}, key)
    )
    # Acked at once, answered via response_url: the ack never waits for the answer (a gate
    # shows it in test_slack_http), so no wall-clock bound here.
    assert status == 200 and body == ""
    answers = await slack.wait_responses(key, n)
    for answer in answers:
        assert answer["response_type"] == "ephemeral", answer  # only the asker sees it
        assert answer["replace_original"] is False
    return answers


def titles(answers: list[dict[str, Any]]) -> list[str]:
    return [t for a in answers for t in TITLES.values() if t in block_texts(a["blocks"])]


async def test_links_and_ids_in_a_message_answer_with_their_cards(
    bot: SlackAdapter, slack: FakeSlack
) -> None:
    text = (
        "Have you read <https://arxiv.org/abs/2501.00002v2|this>? Also "
        "<https://huggingface.co/papers/2501.00001> &amp; again 2501.00002."
    )
    answers = await find(bot, slack, text, n=2)
    assert titles(answers) == [TITLES["2501.00002"], TITLES["2501.00001"]]


async def test_at_most_three_cards_and_the_rest_named(bot: SlackAdapter, slack: FakeSlack) -> None:
    answers = await find(bot, slack, "2501.00001 2501.00002 2501.00003 2501.00004", n=4)
    assert titles(answers) == [TITLES[f"2501.0000{n}"] for n in (1, 2, 3)]
    assert "the others: 2501.00004" in block_texts(answers[-1]["blocks"])


async def test_a_title_in_a_message_is_looked_up(bot: SlackAdapter, slack: FakeSlack) -> None:
    [answer] = await find(bot, slack, "Protein Folding at Scale\nwhat do you think?")
    assert titles([answer]) == [TITLES["2501.00003"]]


async def test_links_only_in_attachments_count(bot: SlackAdapter, slack: FakeSlack) -> None:
    attachments = [{"from_url": "https://arxiv.org/abs/2501.00004", "title": "arXiv"}]
    [answer] = await find(bot, slack, "look", attachments=attachments)
    assert titles([answer]) == [TITLES["2501.00004"]]


async def test_a_message_naming_no_paper_gets_a_short_answer(
    bot: SlackAdapter, slack: FakeSlack
) -> None:
    [answer] = await find(bot, slack, "ok")
    assert "no arXiv id, arXiv or Hugging Face link, or title" in block_texts(answer["blocks"])


async def test_hostile_text_never_pings(bot: SlackAdapter, slack: FakeSlack) -> None:
    answers = await find(bot, slack, "<!channel> <@U999> \u202eProtein Folding at Scale")
    dumped = json.dumps(answers)
    assert "<!channel>" not in dumped and "<@U999>" not in dumped and "\\u202e" not in dumped


async def test_without_a_usable_response_url_the_answer_comes_by_dm(
    bot: SlackAdapter, slack: FakeSlack
) -> None:
    key = uuid.uuid4().hex
    slack.refuse_response(key, status=404, error="expired_url")
    payload = shortcut(slack, {"text": "2501.00001"}, key)
    status, _ = await send_interactive(bot, slack, payload)
    assert status == 200
    [post] = await slack.wait_calls("chat.postMessage")
    assert slack.calls_to("conversations.open")[0].args["users"] == "U100"
    assert post.args["channel"] == "D100"  # the fake's DM with U100
    assert TITLES["2501.00001"] in str(slack.messages[0]["blocks"])
    # No response_url at all (a payload from a workflow): a DM as well.
    payload = shortcut(slack, {"text": "2501.00002"})
    await send_interactive(bot, slack, payload)
    await slack.wait_calls("chat.postMessage", 2)
    assert TITLES["2501.00002"] in str(slack.messages[1]["blocks"])


def test_message_text_reads_blocks_and_attachments_and_survives_hostile_shapes() -> None:
    message = {
        "text": "see &lt;this&gt;",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "2501.00001"}}],
        "attachments": [{"title_link": "https://huggingface.co/papers/2501.00002"}, 5, None],
    }
    assert message_text(message).splitlines() == [
        "see <this>",
        "https://huggingface.co/papers/2501.00002",
        "2501.00001",
    ]
    deep: Any = {"blocks": []}
    node = deep["blocks"]
    for _ in range(1000):  # nesting deeper than any message
        node.append([])
        node = node[0]
    assert message_text(deep) == ""
    assert message_text("not a message") == ""
    assert len(message_text({"text": "x" * 10_000})) == MAX_TEXT


async def test_find_paper_over_socket_mode(sample_app: Any, slack: FakeSlack) -> None:
    from adapters.slack.app import build_slack_adapter
    from bot.commands import build_registry
    from bot.core import Core
    from tests.slack_feature_helpers import store_titles
    from tests.test_slack_socket import env

    await store_titles(sample_app)
    adapter = build_slack_adapter(Core(sample_app, build_registry()), env(slack))
    assert adapter is not None
    await adapter.connect()
    try:
        key = uuid.uuid4().hex
        ack = await slack.push("interactive", shortcut(slack, {"text": "2501.00004"}, key))
        assert "envelope_id" in ack  # acknowledged over the socket
        [answer] = await slack.wait_responses(key)
        assert answer["response_type"] == "ephemeral"
        assert TITLES["2501.00004"] in block_texts(answer["blocks"])
    finally:
        await adapter.stop()


class Held:
    """A paper source whose look-ups wait until released."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.release = asyncio.Event()

    async def paper(self, arxiv_id: str) -> None:
        self.reached.set()
        await self.release.wait()


async def test_stop_lets_an_answer_being_computed_reach_slack(
    bot: SlackAdapter, slack: FakeSlack, sample_app: Any
) -> None:
    held = Held()
    sample_app.source, sample_app.arxiv, sample_app.online = held, None, True
    key = uuid.uuid4().hex
    await send_interactive(bot, slack, shortcut(slack, {"text": "2412.17747"}, key))
    await asyncio.wait_for(held.reached.wait(), 5)
    stopping = asyncio.create_task(bot.stop())
    await asyncio.sleep(0)  # let stop() close the server and begin to wait
    assert not stopping.done()
    held.release.set()
    await asyncio.wait_for(stopping, 10)
    [answer] = slack.responses[key]  # it arrived before stop() returned
    assert "No paper found for 2412.17747" in block_texts(answer["blocks"])
