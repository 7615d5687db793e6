"""The delivery port over real discord.py REST: digests, DM alerts, nonces, failures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.discord import DiscordAdapter
from bot.commands.registry import Registry
from bot.core import Core
from bot.messages import Notice, PaperItem, PaperList
from bot.papers import Paper
from bot.port import DeliveryError, Destination, Failure
from tests.discord_helpers import embed_titles, running_adapter
from tests.fakes.discord_server import (
    FakeDiscord,
    cannot_dm,
    embed_length,
    error,
    missing_access,
    missing_permissions,
    rate_limited,
    server_error,
    unknown_channel,
)
from tests.port_helpers import ids, send


@pytest.fixture
async def adapter(fake: FakeDiscord) -> AsyncIterator[DiscordAdapter]:
    core = Core(None, Registry())  # type: ignore[arg-type]  # sending needs no commands
    async with running_adapter(fake, core) as running:
        yield running


def paper(n: int, *, title: str | None = None, abstract: str = "We study things.") -> Paper:
    return Paper(
        id=f"2501.{n:05d}",
        title=title or f"Paper number {n}",
        abstract=abstract,
        authors=("Ada Lovelace", "Alan Turing"),
        upvotes=100 - n,
    )


def digest(count: int, **kwargs: Any) -> PaperList:
    items = tuple(
        PaperItem(paper(i, **kwargs), reasons=("diffusion",)) for i in range(1, count + 1)
    )
    return PaperList("Your daily digest — 2025-01-15", items, footer="and 3 more — try /search x")


def channel(fake: FakeDiscord) -> Destination:
    return Destination("discord", "channel", fake.channel_id)


def posts(fake: FakeDiscord, channel_id: str) -> list[Any]:
    return fake.requests_to("POST", rf"/channels/{channel_id}/messages")


async def test_channel_digest_is_posted_with_embeds(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    result = await send(adapter, channel(fake), digest(3), key="digest:42")
    [msg] = fake.messages[fake.channel_id]
    assert ids(result) == (msg["id"],) and result[0].address is None
    assert msg["content"] == ("**Your daily digest — 2025-01-15**\nand 3 more — try /search x")
    assert embed_titles(msg) == ["1. Paper number 1", "2. Paper number 2", "3. Paper number 3"]
    first = msg["embeds"][0]
    assert first["url"] == "https://huggingface.co/papers/2501.00001"
    assert "Matched: diffusion" in first["description"]
    assert "▲ 99 · [arXiv](https://arxiv.org/abs/2501.00001)" in first["description"]
    [request] = posts(fake, fake.channel_id)
    assert request.json["allowed_mentions"] == {"parse": []}
    assert request.json["enforce_nonce"] is True and len(request.json["nonce"]) <= 25


async def test_dm_alert_opens_the_dm_once_and_returns_its_id(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    user = fake.alice["id"]
    [first] = await send(adapter, Destination("discord", "user", user), digest(1), key="alert:1")
    dm = fake.dm_channel(user)
    assert dm is not None and first.address == dm
    [open_dm] = fake.requests_to("POST", "/users/@me/channels")
    assert open_dm.json == {"recipient_id": int(user)}
    assert embed_titles(fake.messages[dm][0]) == ["1. Paper number 1"]

    # The core remembers the address; the adapter goes straight to the channel.
    [again] = await send(
        adapter,
        Destination("discord", "user", user, address=dm),
        Notice("Alerts are on."),
        key="alert:2",
    )
    assert again.address is None  # nothing new to remember
    assert len(fake.requests_to("POST", "/users/@me/channels")) == 1
    assert fake.messages[dm][1]["content"] == "Alerts are on."


async def test_stale_dm_address_opens_a_fresh_dm(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    user = fake.alice["id"]
    [result] = await send(
        adapter,
        Destination("discord", "user", user, address="1999999999999999999"),
        Notice("hello"),
        key="alert:3",
    )
    assert result.address == fake.dm_channel(user) and result.address is not None
    assert fake.messages[result.address][0]["content"] == "hello"


async def test_429_then_success(fake: FakeDiscord, adapter: DiscordAdapter) -> None:
    fake.script("POST", rf"/channels/{fake.channel_id}/messages", rate_limited(0.05))
    await send(adapter, channel(fake), digest(2), key="digest:429")
    assert len(posts(fake, fake.channel_id)) == 2
    assert len(fake.messages[fake.channel_id]) == 1


async def test_long_rate_limit_is_a_transient_error_with_retry_after(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    fake.script("POST", rf"/channels/{fake.channel_id}/messages", rate_limited(90))
    with pytest.raises(DeliveryError) as err:
        await send(adapter, channel(fake), digest(1), key="digest:slow")
    assert err.value.failure is Failure.TRANSIENT and err.value.retry_after == 90


async def test_server_error_is_transient(fake: FakeDiscord, adapter: DiscordAdapter) -> None:
    fake.script("POST", rf"/channels/{fake.channel_id}/messages", server_error())
    with pytest.raises(DeliveryError) as err:
        await send(adapter, channel(fake), digest(1), key="digest:503")
    assert err.value.failure is Failure.TRANSIENT


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (missing_access, "the bot lost access to this channel (Missing Access)"),
        (missing_permissions, "the bot lacks permission to post here"),
        (unknown_channel, "the channel no longer exists (Unknown Channel)"),
        (lambda: error(403, 50083, "Thread is archived"), "the thread is archived"),
        (lambda: error(403, 160005, "Thread is locked"), "the thread is locked"),
    ],
)
async def test_channel_failures_mean_the_destination_is_gone_with_a_reason(
    fake: FakeDiscord, adapter: DiscordAdapter, failure: Any, reason: str
) -> None:
    fake.script("POST", rf"/channels/{fake.channel_id}/messages", failure())
    with pytest.raises(DeliveryError) as err:
        await send(adapter, channel(fake), digest(1), key="digest:403")
    assert err.value.failure is Failure.DESTINATION_GONE and err.value.reason.startswith(reason)
    assert fake.messages.get(fake.channel_id) is None


async def test_a_400_means_the_message_was_rejected_not_the_destination(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    """A 400 is about this message, not the channel (the sender's tests show what follows)."""
    fake.script(
        "POST",
        rf"/channels/{fake.channel_id}/messages",
        error(400, 50035, "Invalid Form Body"),
    )
    with pytest.raises(DeliveryError) as err:
        await send(adapter, channel(fake), digest(1), key="digest:400")
    assert err.value.failure is Failure.REJECTED
    assert "Invalid Form Body" in err.value.reason


async def test_deleted_channel_is_gone(fake: FakeDiscord, adapter: DiscordAdapter) -> None:
    gone = Destination("discord", "channel", "1288888888888888888")
    with pytest.raises(DeliveryError) as err:
        await send(adapter, gone, digest(1), key="digest:gone")
    assert err.value.failure is Failure.DESTINATION_GONE
    assert "no longer exists" in err.value.reason


async def test_closed_dms_are_a_destination_gone(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    fake.script("POST", r"/channels/\d+/messages", cannot_dm())
    with pytest.raises(DeliveryError) as err:
        await send(
            adapter, Destination("discord", "user", fake.alice["id"]), digest(1), key="alert:closed"
        )
    assert err.value.failure is Failure.DESTINATION_GONE
    assert err.value.reason == "this user does not accept DMs from the bot"


async def test_everyone_in_a_title_pings_nobody(fake: FakeDiscord, adapter: DiscordAdapter) -> None:
    evil = PaperList("@everyone look", (PaperItem(paper(1, title="@everyone look")),))
    await send(adapter, channel(fake), evil, key="digest:evil")
    [request] = posts(fake, fake.channel_id)
    assert request.json["allowed_mentions"] == {"parse": []}
    assert "@everyone" not in str(request.json)
    assert request.json["embeds"][0]["title"] == "1. @\u200beveryone look"
    assert request.json["content"] == "**@\u200beveryone look**"


async def test_long_digest_is_split_within_discord_limits(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    long = digest(25, abstract="word " * 400)  # every embed near its size cap
    result = await send(adapter, channel(fake), long, key="digest:big")
    msgs = fake.messages[fake.channel_id]
    assert len(msgs) >= 3 and ids(result) == tuple(m["id"] for m in msgs)
    for m in msgs:
        assert len(m["embeds"]) <= 10
        assert sum(embed_length(e) for e in m["embeds"]) <= 6000
    titles = [t for m in msgs for t in embed_titles(m)]
    assert titles == [f"{i}. Paper number {i}" for i in range(1, 26)]
    assert msgs[0]["content"].startswith("**Your daily digest")
    assert msgs[-1]["content"] == "and 3 more — try /search x"
    nonces = [r.json["nonce"] for r in posts(fake, fake.channel_id)]
    assert len(set(nonces)) == len(msgs)


async def test_same_key_twice_posts_once(fake: FakeDiscord, adapter: DiscordAdapter) -> None:
    """A crash between post and record: the re-post carries the same nonce, Discord dedupes."""
    first = await send(adapter, channel(fake), digest(2), key="digest:7")
    second = await send(adapter, channel(fake), digest(2), key="digest:7")
    assert ids(first) == ids(second)
    assert len(fake.messages[fake.channel_id]) == 1
    other = await send(adapter, channel(fake), digest(2), key="digest:8")
    assert ids(other) != ids(first)
