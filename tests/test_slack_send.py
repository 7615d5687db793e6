"""Digests and alerts posted through the Slack delivery port, against the fake Web API."""

from __future__ import annotations

import time
from datetime import date

import pytest

from adapters.slack.app import make_client
from adapters.slack.config import load_slack_config
from adapters.slack.sender import SlackSender
from bot.messages import Notice, PaperItem, PaperList, Tone
from bot.papers import Paper
from bot.port import DeliveryError, Destination
from tests.fakes.slack_server import BOT_TOKEN, MAX_BLOCKS, FakeSlack

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
    result = await sender.send(CHANNEL, digest(5), key="d1")
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
    assert result.message_ids == (slack.messages[0]["ts"],) and result.address is None


async def test_dm_alert_opens_the_conversation_once(sender: SlackSender, slack: FakeSlack) -> None:
    alert = Notice("New paper matches your subscription “diffusion”.", tone=Tone.INFO)
    first = await sender.send(USER, alert, key="a1")
    second = await sender.send(USER, alert, key="a2")
    assert len(slack.calls_to("conversations.open")) == 1
    assert slack.calls_to("conversations.open")[0].args["users"] == "U500"
    assert first.address == second.address == "D500"
    assert [c.args["channel"] for c in slack.calls_to("chat.postMessage")] == ["D500", "D500"]


async def test_dm_uses_the_remembered_address(sender: SlackSender, slack: FakeSlack) -> None:
    remembered = Destination(platform="slack", kind="user", id="U500", address="D777")
    result = await sender.send(remembered, Notice("hi"), key="a3")
    assert slack.calls_to("conversations.open") == []
    assert slack.calls_to("chat.postMessage")[0].args["channel"] == "D777"
    assert result.address == "D777"


async def test_429_then_success(sender: SlackSender, slack: FakeSlack) -> None:
    slack.fail("chat.postMessage", "ratelimited", status=429, retry_after=0)
    result = await sender.send(CHANNEL, digest(2), key="r1")
    assert len(slack.calls_to("chat.postMessage")) == 2
    assert len(result.message_ids) == 1


async def test_long_rate_limit_is_handed_back_as_transient(
    sender: SlackSender, slack: FakeSlack
) -> None:
    slack.fail("chat.postMessage", "ratelimited", status=429, retry_after=30)
    started = time.monotonic()
    with pytest.raises(DeliveryError) as err:
        await sender.send(CHANNEL, digest(2), key="r2")
    assert time.monotonic() - started < 5  # not slept through in the client
    assert err.value.permanent is False and err.value.retry_after == 30


async def test_not_in_channel_is_permanent_with_the_invite_hint(
    sender: SlackSender, slack: FakeSlack
) -> None:
    slack.fail("chat.postMessage", "not_in_channel")
    with pytest.raises(DeliveryError) as err:
        await sender.send(CHANNEL, digest(2), key="p1")
    assert err.value.permanent is True
    assert "/invite @paperbot" in err.value.reason


@pytest.mark.parametrize(
    "error",
    ["channel_not_found", "is_archived", "account_inactive", "invalid_auth", "token_revoked"],
)
async def test_permanent_errors(sender: SlackSender, slack: FakeSlack, error: str) -> None:
    slack.fail("chat.postMessage", error)
    with pytest.raises(DeliveryError) as err:
        await sender.send(CHANNEL, Notice("x"), key="p2")
    assert err.value.permanent is True and error in err.value.reason


async def test_deactivated_user_dm_is_permanent(sender: SlackSender, slack: FakeSlack) -> None:
    slack.add_user("U500", deleted=True)
    with pytest.raises(DeliveryError) as err:
        await sender.send(USER, Notice("x"), key="p3")
    assert err.value.permanent is True and "deactivated" in err.value.reason


@pytest.mark.parametrize("status,error", [(503, "service unavailable"), (200, "internal_error")])
async def test_server_errors_are_transient(
    sender: SlackSender, slack: FakeSlack, status: int, error: str
) -> None:
    slack.fail("chat.postMessage", error, status=status)
    with pytest.raises(DeliveryError) as err:
        await sender.send(CHANNEL, Notice("x"), key="t1")
    assert err.value.permanent is False


async def test_unreachable_slack_is_transient(sender: SlackSender, slack: FakeSlack) -> None:
    await slack.stop()
    with pytest.raises(DeliveryError) as err:
        await sender.send(CHANNEL, Notice("x"), key="t2")
    assert err.value.permanent is False


async def test_title_with_channel_mention_is_escaped(sender: SlackSender, slack: FakeSlack) -> None:
    items = (PaperItem(paper(1, title="Wake up <!channel> <!everyone> & <@U1>")),)
    await sender.send(CHANNEL, PaperList(title="<!here> digest", items=items), key="e1")
    args = slack.calls_to("chat.postMessage")[0].args
    text = str(args)
    for unsafe in ("<!channel>", "<!everyone>", "<@U1>", "<!here>"):
        assert unsafe not in text
    assert "Wake up &lt;!channel&gt; &lt;!everyone&gt; &amp; &lt;@U1&gt;" in text
    assert args["text"].startswith("&lt;!here&gt; digest")


async def test_long_digest_is_split_within_limits(sender: SlackSender, slack: FakeSlack) -> None:
    result = await sender.send(CHANNEL, digest(120), key="l1")
    posts = slack.calls_to("chat.postMessage")
    assert len(posts) >= 3 and len(result.message_ids) == len(posts)
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


async def test_retry_after_a_failed_part_does_not_repost_earlier_parts(
    sender: SlackSender, slack: FakeSlack
) -> None:
    big = digest(60)
    slack.fail("chat.postMessage", "internal_error", after=1)  # part 1 posts, part 2 fails
    with pytest.raises(DeliveryError) as err:
        await sender.send(CHANNEL, big, key="s1")
    assert err.value.permanent is False
    assert len(slack.messages) == 1
    result = await sender.send(CHANNEL, big, key="s1")  # the delivery layer's retry
    firsts = [m["blocks"][1]["text"]["text"] for m in slack.messages]
    assert len(set(firsts)) == len(firsts)  # no part was posted twice
    assert result.message_ids == tuple(m["ts"] for m in slack.messages)
    assert len(result.message_ids) >= 3
