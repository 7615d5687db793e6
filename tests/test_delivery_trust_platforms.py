"""Delivery promises through the real adapters against the local fake platforms: split
digests whose papers change between tries, hung requests, missing permissions, a bot that is
not in the channel, a revoked token.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from adapters.discord import DiscordAdapter
from adapters.slack import SlackAdapter
from bot.app import App
from bot.commands import build_registry
from bot.core import Core
from bot.delivery.sender import Sender
from bot.storage.models import OutboxRow
from tests.discord_helpers import running_adapter, say
from tests.fakes.discord_server import (
    ALL_PERMISSIONS,
    EMBED_LINKS,
    FakeDiscord,
    server_error,
)
from tests.fakes.slack_server import FakeSlack
from tests.faults.killing import BROAD, QUERIES, long_author_lists, ranks, summaries_appear
from tests.test_slack_commands import joined, papers
from tests.test_slack_http import start_http


@pytest.fixture
async def discord_bot(fake: FakeDiscord, sample_app: App) -> AsyncIterator[DiscordAdapter]:
    async with running_adapter(fake, Core(sample_app, build_registry())) as adapter:
        yield adapter


@pytest.fixture
async def slack_bot(sample_app: App, slack: FakeSlack) -> AsyncIterator[SlackAdapter]:
    adapter = await start_http(Core(sample_app, build_registry()), slack)
    yield adapter
    await adapter.stop()


async def listed(app: App) -> list[str]:
    """The papers the one outbox item lists, in order."""
    async with app.sessions() as s:
        [row] = (await s.scalars(select(OutboxRow))).all()
    return [e["paper_id"] for e in row.payload["items"]]


async def test_discord_split_digest_loses_nothing_when_papers_change_between_tries(
    fake: FakeDiscord, discord_bot: DiscordAdapter, sample_app: App
) -> None:
    await say(fake, "digest", {"count": 40}, sub="max")
    for query in QUERIES:
        await say(fake, "subscribe", {"query": query})
    await long_author_lists(sample_app)
    await say(fake, "digest", sub="now")
    expected = await listed(sample_app)
    assert len(expected) >= 20
    fake.nonce_window = 0.0  # the retry comes after Discord has forgotten the nonces
    fake.script("POST", rf"/channels/{fake.channel_id}/messages", server_error(), after=1)
    assert (await Sender(sample_app, {"discord": discord_bot}).drain()).retried == 1
    assert len(fake.messages[fake.channel_id]) == 1
    await summaries_appear(sample_app)
    sample_app.clock.advance(hours=2)  # type: ignore[attr-defined]
    assert (await Sender(sample_app, {"discord": discord_bot}).drain()).sent == 1
    msgs = fake.messages[fake.channel_id]
    assert len(msgs) >= 3
    titles = [e["title"] for m in msgs for e in m["embeds"]]
    assert ranks(titles) == list(range(1, len(expected) + 1))  # each paper once, in order


async def test_discord_hung_post_times_out_and_other_destinations_go_out(
    fake: FakeDiscord, discord_bot: DiscordAdapter, sample_app: App
) -> None:
    await say(fake, "subscribe", {"query": "diffusion"})
    await say(fake, "digest", sub="now")
    await say(fake, "subscribe", {"query": "diffusion"}, dm=True)
    await say(fake, "digest", sub="now", dm=True)
    fake.hanging[fake.channel_id] = asyncio.Event()  # the channel's posts never answer
    sender = Sender(sample_app, {"discord": discord_bot}, request_timeout=0.5)
    report = await asyncio.wait_for(sender.drain(), 30)
    assert report.sent == 1 and report.retried == 1
    dm = fake.dm_channel(fake.alice["id"])
    assert dm is not None and fake.messages[dm]
    [status] = await say(fake, "status")
    assert "did not answer within" in str(status["embeds"])
    fake.hanging.pop(fake.channel_id).set()


async def test_discord_commands_say_which_permission_is_missing(
    fake: FakeDiscord, discord_bot: DiscordAdapter
) -> None:
    fake.bot_permissions = ALL_PERMISSIONS & ~EMBED_LINKS
    [refused] = await say(fake, "subscribe", {"query": "diffusion"})
    assert "missing the Embed Links permission" in refused["content"]
    [refused] = await say(fake, "digest", {"time": "09:00"}, sub="time")
    assert "Embed Links" in refused["content"]
    # Your own DM subscription needs nothing of the channel.
    [mine] = await say(fake, "subscribe", {"query": "diffusion", "dm": True})
    assert mine["content"].startswith("✅")


async def test_discord_post_without_its_embeds_is_not_counted_as_delivered(
    fake: FakeDiscord, discord_bot: DiscordAdapter, sample_app: App
) -> None:
    await say(fake, "subscribe", {"query": "diffusion"})
    await say(fake, "digest", sub="now")
    fake.bot_permissions = ALL_PERMISSIONS & ~EMBED_LINKS  # removed after set-up
    report = await Sender(sample_app, {"discord": discord_bot}).drain()
    assert report.sent == 0 and report.disabled == 1
    assert fake.messages[fake.channel_id] == []  # the bare header was taken back
    fake.bot_permissions = ALL_PERMISSIONS
    [status] = await say(fake, "status")
    assert "Embed Links" in str(status["embeds"])


async def test_slack_split_digest_loses_nothing_when_papers_change_between_tries(
    slack_bot: SlackAdapter, slack: FakeSlack, sample_app: App
) -> None:
    await papers(slack_bot, slack, "digest max 50")
    await papers(slack_bot, slack, f"subscribe {BROAD}")
    await long_author_lists(sample_app)
    await papers(slack_bot, slack, "digest now")
    expected = await listed(sample_app)
    slack.fail("chat.postMessage", "internal_error", after=1)
    assert (await Sender(sample_app, {"slack": slack_bot}).drain()).retried == 1
    await summaries_appear(sample_app)
    sample_app.clock.advance(hours=2)  # type: ignore[attr-defined]
    assert (await Sender(sample_app, {"slack": slack_bot}).drain()).sent == 1
    assert len(slack.messages) >= 2
    texts = [b.get("text", {}).get("text", "") for m in slack.messages for b in m["blocks"]]
    assert ranks(texts) == list(range(1, len(expected) + 1))  # each paper once, in order


async def test_slack_setup_in_a_channel_the_bot_is_not_in_says_invite(
    slack_bot: SlackAdapter, slack: FakeSlack, sample_app: App
) -> None:
    slack.not_member.add("C100")
    [refused] = await papers(slack_bot, slack, "subscribe diffusion")
    assert "/invite @paperbot" in joined(refused) and "not a member" in joined(refused)
    [refused] = await papers(slack_bot, slack, "digest now")
    assert "/invite @paperbot" in joined(refused)
    assert "Posting a digest" not in joined(refused)
    slack.not_member.discard("C100")  # invited
    [ok] = await papers(slack_bot, slack, "subscribe diffusion")
    assert "Subscribed" in joined(ok)


async def test_slack_revoked_token_stops_slack_and_status_says_so(
    slack_bot: SlackAdapter, slack: FakeSlack, sample_app: App
) -> None:
    await papers(slack_bot, slack, "subscribe diffusion")
    await papers(slack_bot, slack, "digest now")
    slack.fail("chat.postMessage", "token_revoked")
    sender = Sender(sample_app, {"slack": slack_bot})
    report = await sender.drain()
    assert report.halted == 1 and report.disabled == 0
    calls = len(slack.calls_to("chat.postMessage"))
    assert (await sender.drain()).halted == 0
    assert len(slack.calls_to("chat.postMessage")) == calls  # not tried again meanwhile
    [status] = await papers(slack_bot, slack, "status")
    text = joined(status)
    assert "Sending stopped" in text and "revoked" in text and "Disabled" not in text


async def _slack_digest_of_parts(slack_bot: SlackAdapter, slack: FakeSlack, app: App) -> None:
    """A channel digest long enough for several Slack messages, queued."""
    await papers(slack_bot, slack, "digest max 50")
    for query in QUERIES:
        await papers(slack_bot, slack, f"subscribe {query}")
    await long_author_lists(app)
    await papers(slack_bot, slack, "digest now")


def _slack_keys(slack: FakeSlack) -> list[str]:
    return [m["metadata"]["event_payload"]["key"] for m in slack.messages]


async def test_slack_post_that_timed_out_after_slack_posted_it_is_found_not_repeated(
    slack_bot: SlackAdapter, slack: FakeSlack, sample_app: App
) -> None:
    """chat.postMessage has no idempotency key: the retry finds the part by its metadata."""
    await _slack_digest_of_parts(slack_bot, slack, sample_app)
    slack.hang_after_post = asyncio.Event()  # posted, but the answer never comes
    sender = Sender(sample_app, {"slack": slack_bot}, request_timeout=0.5)
    assert (await asyncio.wait_for(sender.drain(), 30)).retried == 1
    assert len(slack.messages) == 1  # out, though the sender saw a timeout
    slack.hang_after_post.set()
    slack.hang_after_post = None
    sample_app.clock.advance(hours=2)  # type: ignore[attr-defined]
    assert (await Sender(sample_app, {"slack": slack_bot}).drain()).sent == 1
    keys = _slack_keys(slack)
    assert len(keys) >= 3 and len(set(keys)) == len(keys)  # every part once
    assert len(slack.calls_to("conversations.history")) == 1  # looked once, on the resumed try
    async with sample_app.sessions() as s:
        [row] = (await s.scalars(select(OutboxRow))).all()
    assert row.message_ids == [m["ts"] for m in slack.messages]


async def test_slack_without_the_history_scopes_posts_the_part_again_and_keeps_going(
    slack_bot: SlackAdapter, slack: FakeSlack, sample_app: App
) -> None:
    """An install from before the history scopes: the look fails, the part is re-posted
    (the one repeat), and the platform is not stopped over the missing scope."""
    await _slack_digest_of_parts(slack_bot, slack, sample_app)
    slack.scopes.remove("channels:history")
    slack.hang_after_post = asyncio.Event()
    sender = Sender(sample_app, {"slack": slack_bot}, request_timeout=0.5)
    assert (await asyncio.wait_for(sender.drain(), 30)).retried == 1
    slack.hang_after_post.set()
    slack.hang_after_post = None
    sample_app.clock.advance(hours=2)  # type: ignore[attr-defined]
    report = await Sender(sample_app, {"slack": slack_bot}).drain()
    assert report.sent == 1 and report.halted == 0
    keys = _slack_keys(slack)
    assert len(keys) == len(set(keys)) + 1 and keys[0] == keys[1]  # the first part twice
