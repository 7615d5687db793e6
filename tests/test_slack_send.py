"""Digests and alerts posted through the Slack delivery port, against the fake Web API."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import date

import pytest

from adapters.slack.app import make_client
from adapters.slack.config import load_slack_config
from adapters.slack.sender import SlackSender
from bot.messages import Notice, PaperItem, PaperList, Tone
from bot.papers import Paper
from bot.port import DeliveryError, Destination, Failure
from tests.fakes.slack_server import BOT_TOKEN, MAX_BLOCKS, FakeSlack
from tests.port_helpers import ids, send

CHANNEL = Destination(platform="slack", kind="channel", id="C200")
USER = Destination(platform="slack", kind="user", id="U500")


def paper(n: int, title: str | None = None) -> Paper:
    return Paper(
        id=f"2412.{n:05d}",
        title=title or f"Paper number {n} on diffusion models",
        authors=("Ada Lovelace", "Alan Turing", "Grace Hopper"),
        abstract="An abstract. " * 40,
        upvotes=1000 - n,
        github_repo=f"lab/repo{n}",
        featured_on=(date(2024, 12, 24),),
    )


def digest(n: int, title: str = "Daily digest for #papers") -> PaperList:
    items = tuple(PaperItem(paper(i), reasons=("diffusion models",)) for i in range(1, n + 1))
    return PaperList(title=title, items=items, footer="and 3 more — try /papers search diffusion")


@pytest.fixture
def sender(slack: FakeSlack) -> SlackSender:
    config = load_slack_config(
        {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": slack.api_url}
    )
    assert config is not None
    return SlackSender(make_client(config))


async def test_channel_digest_is_one_message_with_blocks(
    sender: SlackSender, slack: FakeSlack
) -> None:
    result = await send(sender, CHANNEL, digest(5), key="d1")
    [call] = slack.calls_to("chat.postMessage")
    args = call.args
    assert args["channel"] == "C200"
    assert args["unfurl_links"] is False and args["unfurl_media"] is False
    assert args["text"].startswith("Daily digest for #papers: Paper number 1")
    blocks = args["blocks"]
    assert blocks[0]["text"]["text"] == "*Daily digest for #papers*"
    items = [b for b in blocks if b["type"] == "section"][1:]
    assert len(items) == 5
    assert items[0]["text"]["text"].startswith(
        "*1. <https://huggingface.co/papers/2412.00001|Paper number 1 on diffusion models>*"
    )
    assert "<https://arxiv.org/pdf/2412.00001|PDF>" in items[0]["text"]["text"]
    assert "_matched: diffusion models_" in items[0]["text"]["text"]
    assert blocks[-1]["type"] == "context" and "and 3 more" in blocks[-1]["elements"][0]["text"]
    assert ids(result) == (slack.messages[0]["ts"],) and result[0].address is None


async def test_dm_alert_opens_the_conversation_and_hands_its_id_back(
    sender: SlackSender, slack: FakeSlack
) -> None:
    alert = Notice("New paper matches your subscription “diffusion”.", tone=Tone.INFO)
    [first] = await send(sender, USER, alert, key="a1")
    assert first.address == "D500"  # for the core to remember: the next post goes straight
    [second] = await send(sender, replace(USER, address=first.address), alert, key="a2")
    assert len(slack.calls_to("conversations.open")) == 1
    assert slack.calls_to("conversations.open")[0].args["users"] == "U500"
    assert second.address is None
    assert [c.args["channel"] for c in slack.calls_to("chat.postMessage")] == ["D500", "D500"]


async def test_dm_uses_the_remembered_address(sender: SlackSender, slack: FakeSlack) -> None:
    remembered = Destination(platform="slack", kind="user", id="U500", address="D777")
    [result] = await send(sender, remembered, Notice("hi"), key="a3")
    assert slack.calls_to("conversations.open") == []
    assert slack.calls_to("chat.postMessage")[0].args["channel"] == "D777"
    assert result.address is None


async def test_429_then_success(sender: SlackSender, slack: FakeSlack) -> None:
    slack.fail("chat.postMessage", "ratelimited", status=429, retry_after=0)
    result = await send(sender, CHANNEL, digest(2), key="r1")
    assert len(slack.calls_to("chat.postMessage")) == 2
    assert len(result) == 1


async def test_long_rate_limit_is_handed_back_as_transient(
    sender: SlackSender, slack: FakeSlack
) -> None:
    slack.fail("chat.postMessage", "ratelimited", status=429, retry_after=30)
    started = time.monotonic()
    with pytest.raises(DeliveryError) as err:
        await send(sender, CHANNEL, digest(2), key="r2")
    assert time.monotonic() - started < 5  # not slept through in the client
    assert err.value.failure is Failure.TRANSIENT and err.value.retry_after == 30


async def test_not_in_channel_means_gone_with_the_invite_hint(
    sender: SlackSender, slack: FakeSlack
) -> None:
    slack.fail("chat.postMessage", "not_in_channel")
    with pytest.raises(DeliveryError) as err:
        await send(sender, CHANNEL, digest(2), key="p1")
    assert err.value.failure is Failure.DESTINATION_GONE
    assert "/invite @paperbot" in err.value.reason


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        ("channel_not_found", Failure.DESTINATION_GONE),
        ("is_archived", Failure.DESTINATION_GONE),
        ("account_inactive", Failure.BOT_UNAUTHORIZED),
        ("invalid_auth", Failure.BOT_UNAUTHORIZED),
        ("token_revoked", Failure.BOT_UNAUTHORIZED),
        ("invalid_blocks", Failure.REJECTED),
        ("msg_too_long", Failure.REJECTED),
    ],
)
async def test_errors_are_classified(
    sender: SlackSender, slack: FakeSlack, error: str, failure: Failure
) -> None:
    slack.fail("chat.postMessage", error)
    with pytest.raises(DeliveryError) as err:
        await send(sender, CHANNEL, Notice("x"), key="p2")
    assert err.value.failure is failure and error in err.value.reason


async def test_deactivated_user_dm_is_gone(sender: SlackSender, slack: FakeSlack) -> None:
    slack.add_user("U500", deleted=True)
    with pytest.raises(DeliveryError) as err:
        await send(sender, USER, Notice("x"), key="p3")
    assert err.value.failure is Failure.DESTINATION_GONE and "deactivated" in err.value.reason


@pytest.mark.parametrize("status,error", [(503, "service unavailable"), (200, "internal_error")])
async def test_server_errors_are_transient(
    sender: SlackSender, slack: FakeSlack, status: int, error: str
) -> None:
    slack.fail("chat.postMessage", error, status=status)
    with pytest.raises(DeliveryError) as err:
        await send(sender, CHANNEL, Notice("x"), key="t1")
    assert err.value.failure is Failure.TRANSIENT


async def test_unreachable_slack_is_transient(sender: SlackSender, slack: FakeSlack) -> None:
    await slack.stop()
    with pytest.raises(DeliveryError) as err:
        await send(sender, CHANNEL, Notice("x"), key="t2")
    assert err.value.failure is Failure.TRANSIENT


async def test_title_with_channel_mention_is_escaped(sender: SlackSender, slack: FakeSlack) -> None:
    items = (PaperItem(paper(1, title="Wake up <!channel> <!everyone> & <@U1>")),)
    await send(sender, CHANNEL, PaperList(title="<!here> digest", items=items), key="e1")
    args = slack.calls_to("chat.postMessage")[0].args
    text = str(args)
    for unsafe in ("<!channel>", "<!everyone>", "<@U1>", "<!here>"):
        assert unsafe not in text
    assert "Wake up &lt;!channel&gt; &lt;!everyone&gt; &amp; &lt;@U1&gt;" in text
    assert args["text"].startswith("&lt;!here&gt; digest")


async def test_long_digest_is_split_within_limits(sender: SlackSender, slack: FakeSlack) -> None:
    result = await send(sender, CHANNEL, digest(120), key="l1")
    posts = slack.calls_to("chat.postMessage")
    assert len(posts) >= 3 and len(result) == len(posts)
    numbers = []
    for post in posts:
        blocks = post.args["blocks"]
        assert len(blocks) <= MAX_BLOCKS
        assert post.args["text"]  # every part has a notification fallback
        for block in blocks:
            text = block.get("text", {}).get("text", "")
            if text.startswith("*") and ". <https://" in text:
                numbers.append(int(text[1:].split(".", 1)[0]))
    assert numbers == list(range(1, 121))  # each paper once, in order
    assert "(continued)" in posts[1].args["blocks"][0]["elements"][0]["text"]
