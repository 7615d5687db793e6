"""`/papers subscribe` with no query opens a modal; its submission is checked, then run."""

from __future__ import annotations

import json
import uuid
from typing import Any

from adapters.slack import SlackAdapter
from adapters.slack.modals import ACTION, BLOCK, CALLBACK, MAX_ERROR, query_problem
from bot.app import App
from tests.fakes.slack_server import FakeSlack, form_body, sign
from tests.slack_feature_helpers import block_texts, bot, send_interactive
from tests.test_slack_commands import joined
from tests.test_slack_http import post

__all__ = ["bot"]  # the fixture


async def bare(
    bot: SlackAdapter, slack: FakeSlack, text: str = "subscribe", **form: str
) -> tuple[str, dict[str, Any]]:
    """Send `/papers <text>`; return its response_url key and the modal it opened."""
    key = uuid.uuid4().hex
    opened = len(slack.calls_to("views.open"))
    body = form_body(slack.slash_command_form(text, key=key, **form))
    status, ack = await post(bot, body, sign(body))
    assert status == 200 and ack == ""
    [*_, call] = await slack.wait_calls("views.open", opened + 1)
    assert call.args["trigger_id"] == f"trigger.{key}"
    return key, slack.opened_views[-1]


async def submit(
    bot: SlackAdapter, slack: FakeSlack, view: dict[str, Any], query: str | None, **extra: Any
) -> tuple[int, str]:
    state = {"values": {BLOCK: {ACTION: {"type": "plain_text_input", "value": query}}}}
    payload = slack.interactive(
        "view_submission",
        view={**view, "state": state, "hash": "1.abc", **extra},
        response_urls=[],
    )
    return await send_interactive(bot, slack, payload)


def inline_error(answer: str) -> str:
    body = json.loads(answer)
    assert body["response_action"] == "errors" and list(body["errors"]) == [BLOCK]
    error: str = body["errors"][BLOCK]
    assert 0 < len(error) <= MAX_ERROR
    return error


async def test_a_bare_subscribe_opens_the_modal_with_examples(
    bot: SlackAdapter, slack: FakeSlack
) -> None:
    key, view = await bare(bot, slack)
    assert view["callback_id"] == CALLBACK
    text = block_texts(view["blocks"])
    assert "sent to #general" in text
    assert "`diffusion -audio`" in text and "`author:LeCun`" in text  # the registry's examples
    assert slack.responses[key] == []  # /papers' own answer (a usage error) never came


async def test_a_good_query_subscribes_and_says_what_it_would_have_matched(
    bot: SlackAdapter, slack: FakeSlack, sample_app: App
) -> None:
    key, view = await bare(bot, slack)
    status, answer = await submit(bot, slack, view, "  protein   folding ")
    assert status == 200 and answer == ""  # the modal closes
    [done] = await slack.wait_responses(key)
    assert done["response_type"] == "in_channel"
    text = joined(done)
    assert text.startswith(":white_check_mark: Subscribed #general to “protein folding” (#1).")
    assert "It would have matched 1 paper in the last 7 days, e.g. “Protein Folding" in text
    await slack.wait_calls("views.publish")  # the Home tab follows the change


async def test_with_dm_the_subscription_is_personal(bot: SlackAdapter, slack: FakeSlack) -> None:
    key, view = await bare(bot, slack, "subscribe --dm")
    assert "sent to you (by direct message)" in block_texts(view["blocks"])
    await submit(bot, slack, view, "diffusion & <b>")
    [done] = await slack.wait_responses(key)
    assert done["response_type"] == "ephemeral"
    assert "Subscribed you personally to “diffusion &amp; &lt;b&gt;”" in joined(done)


async def test_bad_queries_are_shown_under_the_field(bot: SlackAdapter, slack: FakeSlack) -> None:
    key, view = await bare(bot, slack)
    cases = {
        "": "Write a query",
        "   ": "Write a query",
        "-diffusion": "A valid query looks like",
        "the of": "only common words",
        "diffusion --dm": "is an option, not part of the query",
        "x" * 301: "at most 300",
        '"unclosed': "A valid query looks like",
    }
    for query, expected in cases.items():
        status, answer = await submit(bot, slack, view, query)
        assert status == 200
        assert expected in inline_error(answer), query
    status, answer = await submit(bot, slack, view, None)  # Slack omits an empty field
    assert "Write a query" in inline_error(answer)
    assert slack.responses[key] == []  # nothing was subscribed


async def test_a_modal_without_our_metadata_is_refused_inline(
    bot: SlackAdapter, slack: FakeSlack
) -> None:
    _, view = await bare(bot, slack)
    for metadata in ("", "not json", json.dumps(["x"]), json.dumps({"channel_id": 5})):
        _, answer = await submit(bot, slack, view, "diffusion", private_metadata=metadata)
        assert "out of date" in inline_error(answer)


async def test_when_the_modal_cannot_open_the_usage_is_the_answer(
    bot: SlackAdapter, slack: FakeSlack
) -> None:
    slack.fail("views.open", "expired_trigger_id")
    key = uuid.uuid4().hex
    body = form_body(slack.slash_command_form("subscribe", key=key))
    await post(bot, body, sign(body))
    [answer] = await slack.wait_responses(key)
    assert answer["response_type"] == "ephemeral"
    assert "/papers subscribe <query> [--dm]" in answer["text"]


async def test_a_subscribe_with_a_query_still_runs_at_once(
    bot: SlackAdapter, slack: FakeSlack
) -> None:
    key = uuid.uuid4().hex
    body = form_body(slack.slash_command_form("subscribe model", key=key))
    await post(bot, body, sign(body))
    [answer] = await slack.wait_responses(key)
    assert "Subscribed #general" in joined(answer)
    assert slack.calls_to("views.open") == []


def test_query_problem_names_what_is_wrong() -> None:
    assert query_problem("diffusion -audio") is None
    problem = query_problem("title:(")
    assert problem is not None and len(problem) <= MAX_ERROR
