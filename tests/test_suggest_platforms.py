"""Suggestions ("You may also like") end to end: a personal alert with them goes from the
real sweep through the outbox and the sender to real discord.py (against the fake Discord) and
real slack_sdk (against the fake Slack Web API); what the fakes received is counted. A post
that fails once is retried with the same suggestions, each paper once; the next alert
suggests none of them again; a process killed after the post and before its record is
followed by one that posts nothing twice; a click on a suggested paper's control rates it
for the clicker.
On both database backends: the suggestions are recorded with the alert, in its transaction.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest

from adapters.discord import DiscordAdapter
from adapters.slack import SlackAdapter
from bot.app import App
from bot.commands import build_registry
from bot.core import Core
from bot.scheduler import DeliveryScheduler
from bot.storage.feedback_repo import UP, Person
from tests.delivery_helpers import FakeSource, make_app, paper, utc
from tests.discord_helpers import running_adapter, say
from tests.fakes.discord_server import EPHEMERAL, FakeDiscord, message_problems, server_error
from tests.fakes.slack_server import FakeSlack, _check_message
from tests.helpers import FakeClock
from tests.test_slack_commands import papers
from tests.test_slack_feedback import controls, press, text_of
from tests.test_slack_http import start_http
from tests.test_threads_trust import die_and_resume, item

DAY0, DAY1 = date(2025, 2, 2), date(2025, 2, 3)
GRAPH = {f"2501.{n:05d}" for n in (11, 12, 14, 15)}
MATCHED = "2501.00010"
RATINGS = [
    ("2501.00001", "up"),
    ("2501.00002", "up"),
    ("2501.00003", "up"),
    ("2501.00004", "down"),
    ("2501.00005", "down"),
]
# Hostile text in every paper that may be suggested: it must reach no one as a ping.
PING = "@everyone <!here> <@U999> <@123456789012345678>"


def day0(source: FakeSource) -> None:
    source.feature(
        DAY0,
        paper(1, "Graph neural networks for proteins"),
        paper(2, "Message passing graph neural networks"),
        paper(3, "Graph neural networks for traffic"),
        paper(4, "Speech audio synthesis"),
        paper(5, "Audio speech recognition"),
    )


def day1(source: FakeSource) -> None:
    source.feature(
        DAY1,
        paper(10, "Diffusion models for images", upvotes=3),
        paper(11, f"Graph neural networks for molecules {PING}"),
        paper(12, f"Graph neural networks at scale {PING}"),
        paper(13, "Speech audio codec", upvotes=50),
        paper(14, f"Graph neural network pruning {PING}"),
        paper(15, f"Graph neural network benchmarks {PING}"),
    )


class Process:
    """One bot process: the app on the test's database and its delivery scheduler."""

    def __init__(self, app: App, source: FakeSource) -> None:
        self.app = app
        self.source = source
        self.clock: FakeClock = app.clock  # type: ignore[assignment]
        self.scheduler: DeliveryScheduler | None = None

    def deliver_to(self, platform: str, adapter: Any) -> None:
        self.scheduler = DeliveryScheduler(self.app, {platform: adapter})

    async def tick(self, at: Any, *, ingest: bool = True) -> None:
        """What the scheduler does at `at`: poll the source, sweep, send."""
        assert self.scheduler is not None
        self.clock.set(at)
        if ingest:
            await self.scheduler.ingest_once()
        await self.scheduler.sweeper.sweep()
        await self.scheduler.sender.drain()


@pytest.fixture
async def process(db_url: str) -> AsyncIterator[Process]:
    source = FakeSource()
    app = make_app(db_url, FakeClock(utc(2025, 2, 2, 7, 0)), source)
    yield Process(app, source)
    await app.close()


async def ratings(app: App, who: Person) -> dict[str, int]:
    return dict((await app.feedback.taste(who)).ratings)


# ----- Discord ---------------------------------------------------------------------------


@pytest.fixture
async def discord_bot(fake: FakeDiscord, process: Process) -> AsyncIterator[DiscordAdapter]:
    async with running_adapter(fake, Core(process.app, build_registry())) as adapter:
        process.deliver_to("discord", adapter)
        yield adapter


async def discord_reader(fake: FakeDiscord, process: Process) -> None:
    """Alice, by slash commands in her DM: "diffusion", instant alerts, five ratings."""
    await say(fake, "subscribe", {"query": "diffusion"}, dm=True)
    await say(fake, "alerts", sub="instant", dm=True)
    day0(process.source)
    await process.tick(utc(2025, 2, 2, 7, 30))  # stores day 0; nothing matches "diffusion"
    for pid, rating in RATINGS:
        [answer] = await say(fake, "rate", {"paper": pid, "rating": rating}, dm=True)
        assert "Rated" in answer["content"], answer["content"]


def menu_of(msg: dict[str, Any]) -> dict[str, Any]:
    [row] = msg["components"]
    [menu] = row["components"]
    assert menu["type"] == 3 and menu["custom_id"] == "pb:fbm:0"
    return menu


def discord_posts(fake: FakeDiscord, dm: str) -> list[Any]:
    return fake.requests_to("POST", rf"/channels/{dm}/messages")


async def test_discord_alert_with_suggestions_is_retried_once_and_suggests_each_once(
    fake: FakeDiscord, discord_bot: DiscordAdapter, process: Process
) -> None:
    await discord_reader(fake, process)
    alice = str(fake.alice["id"])
    dm = fake.dm_channel(alice)
    assert dm is not None and fake.messages.get(dm, []) == []
    day1(process.source)
    # The first post of the alert fails as Discord can (503): nothing reached the DM.
    fake.script("POST", rf"/channels/{dm}/messages", server_error())
    await process.tick(utc(2025, 2, 3, 8, 0))
    assert len(discord_posts(fake, dm)) == 1 and fake.messages.get(dm, []) == []
    for minute in (10, 20, 40):  # the retries after the backoff; no new papers meanwhile
        await process.tick(utc(2025, 2, 3, 8, minute), ingest=False)
    [msg] = fake.messages[dm]
    posts = discord_posts(fake, dm)
    assert len(posts) == 2  # the failed try and the one that went out, nothing more
    assert posts[0].json["nonce"] == posts[1].json["nonce"]  # the same stored part
    assert posts[0].json["embeds"] == posts[1].json["embeds"]  # with the same suggestions
    assert message_problems(msg) == [] and msg["allowed_mentions"] == {"parse": []}
    embeds = msg["embeds"]
    # The match first, then the labelled suggestions after it.
    assert embeds[0]["title"] == "1. Diffusion models for images" and "author" not in embeds[0]
    assert "Matched: diffusion" in embeds[0]["description"]
    suggested = embeds[1:]
    assert len(suggested) == 3
    assert all(e["author"]["name"] == "✨ You may also like" for e in suggested)
    assert all("Why: " in e["description"] for e in suggested)
    # Every paper, suggested ones too, in the one select menu of 👍 👎 🔖 Similar.
    options = [o["value"] for o in menu_of(msg)["options"]]
    assert options[0] == MATCHED and len(options) == 4 and len(set(options)) == 4
    # Each option is numbered as its embed is (the suggestions from 1 again), and marked.
    labels = [o["label"] for o in menu_of(msg)["options"]]
    ranks = [x.removeprefix("✨ ").split(". ")[0] for x in labels]
    assert ranks == ["1", "1", "2", "3"] == [e["title"].split(". ")[0] for e in embeds]
    assert [x.startswith("✨ ") for x in labels] == [False, True, True, True]
    first = options[1:]
    assert set(first) <= GRAPH, first  # by alice's taste, not by upvotes (2501.00013)
    dumped = json.dumps(msg)
    assert "everyone" in dumped  # the title is shown, escaped:
    assert "@everyone" not in dumped and "<@123456789012345678>" not in dumped

    # The next alert suggests others: a paper is offered once, like any delivery.
    process.source.feature(DAY1, paper(16, "Diffusion transformers"))
    await process.tick(utc(2025, 2, 3, 9, 0))
    _, second = fake.messages[dm]
    again = [o["value"] for o in menu_of(second)["options"]]
    assert again[0] == "2501.00016" and len(again) > 1
    assert not set(again[1:]) & set(first)
    shown = Counter(o["value"] for m in fake.messages[dm] for o in menu_of(m)["options"])
    assert set(shown.values()) == {1}  # each paper reached alice once
    assert not set(shown) & {pid for pid, _ in RATINGS}  # nothing she rated is offered


async def test_discord_a_click_on_a_suggested_paper_rates_it_for_the_clicker(
    fake: FakeDiscord, discord_bot: DiscordAdapter, process: Process
) -> None:
    await discord_reader(fake, process)
    day1(process.source)
    await process.tick(utc(2025, 2, 3, 8, 0))
    alice = str(fake.alice["id"])
    [msg] = fake.messages[fake.dm_channel(alice) or ""]
    suggested = [o["value"] for o in menu_of(msg)["options"]][-1]
    panel = await fake.press(fake.click("pb:fbm:0", msg, values=[suggested], dm=True))
    # The last suggestion: its embed is "3." under "✨ You may also like", and so is its panel.
    assert panel["flags"] & EPHEMERAL and panel["content"].startswith("✨ 3. ")
    [up] = [c for r in panel["components"] for c in r["components"] if c["label"] == "👍"]
    assert up["custom_id"] == f"pb:fb:up:{suggested}:{alice}"
    rated = await fake.press(fake.click(up["custom_id"], panel, dm=True))
    assert f"Rated {suggested}" in rated["content"] and rated["flags"] & EPHEMERAL
    assert (await ratings(process.app, Person("discord", alice)))[suggested] == UP


# ----- Slack -----------------------------------------------------------------------------


@pytest.fixture
async def slack_bot(slack: FakeSlack, process: Process) -> AsyncIterator[SlackAdapter]:
    adapter = await start_http(Core(process.app, build_registry()), slack)
    process.deliver_to("slack", adapter)
    yield adapter
    await adapter.stop()


async def slack_reader(bot: SlackAdapter, slack: FakeSlack, process: Process) -> None:
    """U100, by /papers in the app's DM: "diffusion", instant alerts, five ratings."""
    await papers(bot, slack, "subscribe diffusion", dm=True)
    await papers(bot, slack, "alerts instant", dm=True)
    day0(process.source)
    await process.tick(utc(2025, 2, 2, 7, 30))
    for pid, rating in RATINGS:
        [answer] = await papers(bot, slack, f"rate {pid} {rating}", dm=True)
        assert "Rated" in text_of(answer)


def slack_alerts(slack: FakeSlack) -> list[dict[str, Any]]:
    return [m for m in slack.messages if m["channel"] == "D100"]


def menus(message: dict[str, Any]) -> list[dict[str, Any]]:
    found = controls(message)
    assert all(m["type"] == "overflow" for m in found)
    return found


def menu_paper(menu: dict[str, Any]) -> str:
    return str(menu["options"][0]["value"].split("|")[2])


async def test_slack_alert_with_suggestions_is_retried_once_and_suggests_each_once(
    slack_bot: SlackAdapter, slack: FakeSlack, process: Process
) -> None:
    await slack_reader(slack_bot, slack, process)
    assert slack_alerts(slack) == []
    day1(process.source)
    slack.fail("chat.postMessage", "internal_error")  # the first post fails, transiently
    await process.tick(utc(2025, 2, 3, 8, 0))
    assert len(slack.calls_to("chat.postMessage")) == 1 and slack_alerts(slack) == []
    for minute in (10, 20, 40):
        await process.tick(utc(2025, 2, 3, 8, minute), ingest=False)
    [msg] = slack_alerts(slack)
    tries = slack.calls_to("chat.postMessage")
    assert len(tries) == 2 and tries[0].args["blocks"] == tries[1].args["blocks"]
    assert _check_message(msg) is None  # ≤ 50 blocks, distinct action_ids, menus well formed
    blocks = msg["blocks"]
    heads = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    label = heads.index("*:sparkles: You may also like*")
    found = menus(msg)
    ids = [menu_paper(m) for m in found]
    assert ids[0] == MATCHED and len(ids) == 4 and len(set(ids)) == 4
    assert len({m["action_id"] for m in found}) == 4
    # The match comes before the label, the three suggestions after it.
    sections = [b for b in blocks if b["type"] == "section"]
    with_menu = [n for n, b in enumerate(sections) if b.get("accessory")]
    assert with_menu[0] < label < with_menu[1]
    first = ids[1:]
    assert set(first) <= GRAPH, first
    dumped = json.dumps(msg)
    assert "&lt;!here&gt;" in dumped  # the title is shown, escaped:
    assert "<!here>" not in dumped and "<@U999>" not in dumped

    process.source.feature(DAY1, paper(16, "Diffusion transformers"))
    await process.tick(utc(2025, 2, 3, 9, 0))
    _, second = slack_alerts(slack)
    again = [menu_paper(m) for m in menus(second)]
    assert again[0] == "2501.00016" and len(again) > 1
    assert not set(again[1:]) & set(first)
    shown = Counter(menu_paper(m) for a in slack_alerts(slack) for m in menus(a))
    assert set(shown.values()) == {1}
    assert not set(shown) & {pid for pid, _ in RATINGS}
    keys = [m["metadata"]["event_payload"]["key"] for m in slack_alerts(slack)]
    assert len(keys) == len(set(keys)) == 2


async def test_slack_a_click_on_a_suggested_paper_rates_it_for_the_clicker(
    slack_bot: SlackAdapter, slack: FakeSlack, process: Process
) -> None:
    await slack_reader(slack_bot, slack, process)
    day1(process.source)
    await process.tick(utc(2025, 2, 3, 8, 0))
    [msg] = slack_alerts(slack)
    suggested = menus(msg)[-1]
    pid = menu_paper(suggested)
    assert pid != MATCHED
    up = next(o["value"] for o in suggested["options"] if o["value"].startswith("fb1|up|"))
    [answer] = await press(slack_bot, slack, suggested, value=up, channel="D100")  # in the DM
    assert f"Rated {pid}" in text_of(answer)
    who = Person("slack", f"{slack.team_id}:U100")
    assert (await ratings(process.app, who))[pid] == UP


# ----- a kill between the post and its record ---------------------------------------------


async def alert_ids(app: App) -> tuple[list[str], list[str]]:
    """The one outbox item's matches and suggestions, as stored."""
    row = await item(app)
    return [e["paper_id"] for e in row.payload["items"]], [
        e["paper_id"] for e in row.payload.get("suggestions", ())
    ]


async def test_discord_a_kill_after_the_post_posts_the_alert_once(
    fake: FakeDiscord, discord_bot: DiscordAdapter, process: Process
) -> None:
    await discord_reader(fake, process)
    day1(process.source)
    process.clock.set(utc(2025, 2, 3, 8, 0))
    assert process.scheduler is not None
    await process.scheduler.ingest_once()
    await process.scheduler.sweeper.sweep()
    matched, suggested = await alert_ids(process.app)
    assert matched == [MATCHED] and len(suggested) == 3
    other = await die_and_resume(process.app, {"discord": discord_bot}, 1, recorded=False)
    await other.close()
    dm = fake.dm_channel(str(fake.alice["id"])) or ""
    [msg] = fake.messages[dm]  # the retry's nonce was Discord's cue to return the first
    assert len(discord_posts(fake, dm)) == 2
    assert [o["value"] for o in menu_of(msg)["options"]] == matched + suggested


async def test_slack_a_kill_after_the_post_posts_the_alert_once(
    slack_bot: SlackAdapter, slack: FakeSlack, process: Process
) -> None:
    await slack_reader(slack_bot, slack, process)
    day1(process.source)
    process.clock.set(utc(2025, 2, 3, 8, 0))
    assert process.scheduler is not None
    await process.scheduler.ingest_once()
    await process.scheduler.sweeper.sweep()
    matched, suggested = await alert_ids(process.app)
    assert matched == [MATCHED] and len(suggested) == 3
    other = await die_and_resume(process.app, {"slack": slack_bot}, 1, recorded=False)
    await other.close()
    [msg] = slack_alerts(slack)  # found by its metadata in the DM's history, not re-posted
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert len(slack.calls_to("conversations.history")) == 1
    assert [menu_paper(m) for m in menus(msg)] == matched + suggested
