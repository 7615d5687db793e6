"""The real registry's commands on Discord with realistic options, end to end.

Real discord.py against the fake Discord, the real core on a fresh SQLite copy with the
bundled sample papers: subscriptions here and by DM, autocomplete, digest settings with time
zones, why, search, status, mute and alerts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.discord import DiscordAdapter
from bot.app import App
from bot.commands import build_registry
from bot.core import Core
from bot.errors import UsageError
from tests.discord_helpers import running_adapter, say
from tests.fakes.discord_server import (
    ALL_PERMISSIONS,
    EPHEMERAL,
    FakeDiscord,
    choice_problems,
)


@pytest.fixture
async def bot(fake: FakeDiscord, sample_app: App) -> AsyncIterator[DiscordAdapter]:
    async with running_adapter(fake, Core(sample_app, build_registry())) as adapter:
        yield adapter


async def complete(
    fake: FakeDiscord,
    name: str,
    options: dict[str, Any],
    focused: str,
    *,
    sub: str | None = None,
    dm: bool = False,
) -> list[dict[str, Any]]:
    """Type into option `focused`; return the autocomplete choices the bot offered."""
    payload = fake.interaction(
        name,
        options,
        sub=[sub] if sub else None,
        dm=dm,
        kind=4,
        focused=focused,
        permissions=ALL_PERMISSIONS,
    )
    await fake.interact(payload)
    [body] = await fake.wait_until(lambda: fake.callbacks.get(payload["id"]), 10)
    assert body["type"] == 8
    choices: list[dict[str, Any]] = body["data"]["choices"]
    assert choice_problems(choices) == []
    return choices


def text_of(msgs: list[dict[str, Any]]) -> str:
    parts = []
    for m in msgs:
        parts.append(m["content"] or "")
        for e in m["embeds"]:
            parts += [e.get("title", ""), e.get("description", "")]
            parts += [f"{f['name']}: {f['value']}" for f in e.get("fields", [])]
            parts.append((e.get("footer") or {}).get("text", ""))
    return "\n".join(parts)


def msg_token(fake: FakeDiscord, msg: dict[str, Any]) -> str:
    """The interaction token a message answered."""
    return next(t for t, msgs in fake.interaction_messages.items() if msg in msgs)


def private(msg: dict[str, Any]) -> bool:
    return bool(msg["flags"] & EPHEMERAL)


async def test_subscribe_where_dm_from_a_channel_is_personal_and_private(
    fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    [msg] = await say(fake, "subscribe", {"query": "diffusion", "dm": True})
    assert private(msg)
    assert msg["content"].startswith("✅ Subscribed you personally to “diffusion” (#1).")
    assert "Matches will come by direct message." in msg["content"]
    # The slow command's "thinking" was private from the start: the channel saw nothing.
    assert fake.callbacks[fake.interaction_id(msg_token(fake, msg))][0] == {
        "type": 5,
        "data": {"flags": EPHEMERAL},
    }
    assert not fake.requests_to("DELETE", rf"/webhooks/{fake.app_id}/.+/messages/@original")

    [mine] = await say(fake, "subscriptions", dm=True)
    assert "\\#1 diffusion: by DM" in text_of([mine])
    [listed] = await say(fake, "subscriptions")
    assert private(listed) and "Your personal subscriptions (1)" in text_of([listed])
    assert "This channel has no subscriptions." in text_of([listed])


async def test_channel_subscription_is_public(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    [msg] = await say(fake, "subscribe", {"query": '"diffusion model" -audio'})
    assert not private(msg)
    assert msg["content"].startswith('✅ Subscribed #general to “"diffusion model" -audio” (#1)')


async def test_typed_dm_flag_in_a_text_option_means_where_dm(
    fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    """Help and the core's hints say `--dm`; typed into the option it must not become a word.

    Otherwise `/subscribe query: agents --dm` subscribes the *channel* to "agents NOT dm".
    """
    [msg] = await say(fake, "subscribe", {"query": "agents --dm"})
    assert private(msg)
    assert msg["content"].startswith("✅ Subscribed you personally to “agents” (#1).")
    [gone] = await say(fake, "unsubscribe", {"id": "1 --dm"})
    assert private(gone) and gone["content"] == "✅ Removed your subscription #1 (“agents”)."


def test_flags_typed_into_an_option_never_override_an_explicit_option() -> None:
    registry = build_registry()
    subscribe, search = registry.get("subscribe"), registry.get("search")
    assert subscribe is not None and search is not None
    assert subscribe.parse_options({"query": "agents --dm"}) == {"query": "agents", "dm": True}
    explicit = {"query": "agents --dm", "dm": "False"}
    assert subscribe.parse_options(explicit) == {"query": "agents --dm", "dm": False}
    with pytest.raises(UsageError) as exc:
        search.parse_options({"query": "a --days"})
    assert str(exc.value) == "--days needs a number of days: set the days option, as in days:30."
    assert search.parse_options({"query": '"chain of thought" -x'}) == {
        "query": '"chain of thought" -x'
    }


async def test_unsubscribe_autocomplete_offers_the_callers_subscriptions(
    fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    long_query = "diffusion " + " ".join(f"longterm{i:02d}" for i in range(20))
    await say(fake, "subscribe", {"query": "protein folding"})
    await say(fake, "subscribe", {"query": long_query})
    await say(fake, "subscribe", {"query": "agents", "dm": True})

    choices = await complete(fake, "unsubscribe", {"id": ""}, "id")
    assert [c["value"] for c in choices] == ["1", "2"]
    assert choices[0]["name"] == "#1 protein folding"
    assert choices[1]["name"] == f"#2 {long_query}"[:100]
    assert [c["value"] for c in await complete(fake, "unsubscribe", {"id": "fold"}, "id")] == ["1"]
    mine = await complete(fake, "unsubscribe", {"id": "", "dm": True}, "id")
    assert mine == [{"name": "#3 agents", "value": "3"}]
    assert [c["value"] for c in await complete(fake, "unsubscribe", {"id": ""}, "id", dm=True)] == [
        "3"
    ]

    [removed] = await say(fake, "unsubscribe", {"id": choices[0]["value"]})
    assert removed["content"] == (
        "✅ Removed #1 (“protein folding”) from the subscriptions of #general."
    )
    assert not private(removed)


async def test_digest_time_with_time_zone_autocomplete(
    fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    choices = await complete(fake, "digest", {"time": "09:00", "zone": "new y"}, "zone", sub="time")
    assert choices[0] == {"name": "America/New_York", "value": "America/New_York"}
    [done] = await say(fake, "digest", {"time": "07:30", "zone": choices[0]["value"]}, sub="time")
    assert done["content"].startswith(
        "✅ The digest for #general is posted at 07:30 America/New\\_York, every day."
    )
    [bad] = await say(fake, "digest", {"time": "9am", "zone": "Mars/Olympus"}, sub="time")
    assert private(bad) and bad["content"].startswith("❌ ")
    assert "Usage: `/digest time <HH:MM> [time zone]`" in bad["content"]

    [status] = await say(fake, "status")
    assert private(status)
    fields = {f["name"]: f["value"] for f in status["embeds"][0]["fields"]}
    assert fields["Digest"].startswith("07:30 America/New\\_York, every day")


async def test_alerts_daily_zone_autocomplete_and_mute(
    fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    choices = await complete(fake, "alerts", {"zone": "berl"}, "zone", sub="daily")
    assert choices[0]["value"] == "Europe/Berlin"
    [alerts] = await say(fake, "alerts", {"time": "08:00", "zone": "Europe/Berlin"}, sub="daily")
    assert private(alerts) and "08:00 Europe/Berlin" in alerts["content"]
    [muted] = await say(fake, "mute", {"duration": "3d"})
    assert private(muted) and muted["content"].startswith("✅ Muted until ")
    [bad] = await say(fake, "mute", {"duration": "@everyone"})
    assert private(bad)
    assert bad["content"].startswith("❌ '@\u200beveryone' is not a duration")
    [status] = await say(fake, "status", dm=True)
    assert "Muted until" in text_of([status])


async def test_why_with_subscription_autocomplete_and_typed_reference(
    fake: FakeDiscord, bot: DiscordAdapter, sample_app: App
) -> None:
    paper = (await sample_app.papers.featured_on(sample_app.clock().date()))[0]
    word = next(w for w in paper.title.split() if w.isalpha() and len(w) >= 5)
    await say(fake, "subscribe", {"query": word})
    await say(fake, "subscribe", {"query": "zebrafish", "dm": True})
    # In a channel, why offers the channel's subscriptions and the caller's own.
    choices = await complete(fake, "why", {"paper": paper.id, "subscription": ""}, "subscription")
    assert [c["value"] for c in choices] == ["1", "2"]

    [all_of_them] = await say(fake, "why", {"paper": paper.id})
    assert private(all_of_them)
    assert "matches 1 of 2 subscriptions" in all_of_them["embeds"][0]["title"]
    [one] = await say(fake, "why", {"paper": paper.id, "subscription": "2"})
    assert "matches 0 of 1 subscription" in one["embeds"][0]["title"]
    # The form the core's hints use ("why <paper> #<id>") works typed into the option too.
    [typed] = await say(fake, "why", {"paper": f"{paper.id} #2"})
    assert typed["embeds"][0]["title"] == one["embeds"][0]["title"]


async def test_search_with_days_option_and_typed_flag(
    fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    [week] = await say(fake, "search", {"query": "model", "days": 30})
    assert private(week) and "of the last 30 days" in week["content"]
    [typed] = await say(fake, "search", {"query": "model --days 30"})
    assert typed["content"] == week["content"]
    [bad] = await say(fake, "search", {"query": "title:(unclosed"})
    assert private(bad) and bad["content"].startswith("❌ ") and "Usage: `/search" in bad["content"]


async def test_help_for_one_command_and_for_a_group(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    [one] = await say(fake, "help", {"command": "subscribe"})
    assert private(one) and one["embeds"][0]["title"] == "Help: subscribe"
    [group] = await say(fake, "help", {"command": "digest"})
    assert len(group["embeds"][0]["fields"]) == len(build_registry().groups()["digest"])
    [unknown] = await say(fake, "help", {"command": "@here"})
    assert private(unknown) and unknown["content"].startswith(
        "❌ There is no command '@\u200bhere'"
    )


async def test_digest_now_and_preview_in_a_dm(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    [empty] = await say(fake, "digest", sub="preview", dm=True)
    assert private(empty) and empty["content"].startswith("❌ There are no subscriptions here")
    await say(fake, "subscribe", {"query": "model"}, dm=True)
    msgs = await say(fake, "digest", sub="preview", dm=True)
    assert all(private(m) for m in msgs)
    assert msgs[0]["content"].startswith("**Preview: the next digest would list")
    [now] = await say(fake, "digest", sub="now", dm=True)
    assert now["content"].startswith("✅ Posting a digest of")
