"""`digest threads on` and forum digests under faults: a process that dies after the header,
after the thread was opened, or mid-papers resumes into the same thread, with one header and
every paper once (a forum: one post per paper, once), on Discord and Slack, SQLite and
PostgreSQL. What the fakes received is counted.

A kill is `Crash` (a BaseException, so no handler runs) raised inside the outbox record of
the n-th part: before the record (the part is out, the database does not know) or after it.
The next process is another App on the same database, once the dead one's lease ran out.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select, update

from adapters.discord import DiscordAdapter
from adapters.discord.forum import forum_parts, matching_tags
from adapters.discord.sender import compose as discord_compose
from adapters.slack import SlackAdapter
from adapters.slack.sender import SlackSender
from bot.app import App, build_app
from bot.commands import build_registry
from bot.core import Core
from bot.delivery.sender import LEASE, Sender
from bot.messages import PaperItem, PaperList
from bot.papers import Paper
from bot.services.ingest import ingest_day
from bot.settings import load_settings
from bot.storage.feedback_repo import DOWN, Person
from bot.storage.models import OutboxRow, PaperRow
from bot.storage.outbox_repo import PostedParts
from tests.discord_helpers import running_adapter, say
from tests.fakes.discord_server import (
    ALL_PERMISSIONS,
    CREATE_PUBLIC_THREADS,
    EPHEMERAL,
    FakeDiscord,
    message_problems,
    server_error,
)
from tests.fakes.slack_server import FakeSlack
from tests.fakes.slack_server import _check_message as slack_problems
from tests.helpers import FakeClock
from tests.test_delivery import Crash
from tests.test_slack_commands import joined, papers
from tests.test_slack_http import start_http

QUERY = "model OR models OR learning"


@pytest.fixture
async def app(db_url: str, clock: FakeClock) -> AsyncIterator[App]:
    """Today's bundled sample on a fresh database of each backend."""
    application = build_app(
        load_settings({"DATABASE_URL": db_url}), source_name="sample", clock=clock
    )
    await ingest_day(application, application.clock().date())
    yield application
    await application.close()


@pytest.fixture
async def discord_bot(fake: FakeDiscord, app: App) -> AsyncIterator[DiscordAdapter]:
    async with running_adapter(fake, Core(app, build_registry())) as adapter:
        yield adapter


@pytest.fixture
async def slack_bot(app: App, slack: FakeSlack) -> AsyncIterator[SlackAdapter]:
    adapter = await start_http(Core(app, build_registry()), slack)
    yield adapter
    await adapter.stop()


async def item(app: App) -> OutboxRow:
    async with app.sessions() as s:
        [row] = (await s.scalars(select(OutboxRow))).all()
    return row


async def listed(app: App) -> list[str]:
    return [e["paper_id"] for e in (await item(app)).payload["items"]]


def die_at(app: App, n: int, *, recorded: bool) -> None:
    """Kill the process at the record of the n-th part (1-based), before or after it."""
    real: Callable[[PostedParts, Any], Awaitable[None]] = app.outbox.record_posted
    calls = 0

    async def record(posted: PostedParts, now: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == n and not recorded:
            raise Crash
        await real(posted, now)
        if calls == n:
            raise Crash

    app.outbox.record_posted = record  # type: ignore[method-assign]


async def die_and_resume(app: App, adapters: dict[str, Any], n: int, *, recorded: bool) -> App:
    """Send until the kill, then send everything from a new process; return its App."""
    die_at(app, n, recorded=recorded)
    with contextlib.suppress(Crash):
        await Sender(app, adapters, concurrency=1).drain()
    assert (await item(app)).status == "pending"
    app.clock.advance(seconds=LEASE.total_seconds() + 1)  # type: ignore[attr-defined]
    other = build_app(app.settings, source_name="sample", clock=app.clock)
    report = await Sender(other, adapters, owner="next-process").drain()
    assert report.sent == 1, report
    return other


# ----- Discord ---------------------------------------------------------------------------


async def discord_digest(fake: FakeDiscord, app: App) -> list[str]:
    [ok] = await say(fake, "digest", {"mode": "on"}, sub="threads")
    assert "in a thread" in ok["content"]
    await say(fake, "digest", {"count": 6}, sub="max")
    await say(fake, "subscribe", {"query": QUERY})
    await say(fake, "digest", sub="now")
    expected = await listed(app)
    assert len(expected) == 6
    return expected


def discord_thread(fake: FakeDiscord) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The one header in the channel and the one thread's messages; fails on a second."""
    [header] = [m for m in fake.messages[fake.channel_id] if m["content"]]
    assert fake.messages[fake.channel_id] == [header]  # nothing else in the channel
    [thread] = fake.threads.values()
    assert thread["id"] == header["id"] and thread["parent_id"] == fake.channel_id
    return header, fake.messages.get(thread["id"], [])


def ranks_in(messages: list[dict[str, Any]]) -> list[int]:
    return [int(e["title"].lstrip("*").split(".")[0]) for m in messages for e in m["embeds"]]


async def test_discord_threaded_digest_posts_header_then_each_paper_in_its_thread(
    fake: FakeDiscord, discord_bot: DiscordAdapter, app: App
) -> None:
    await discord_digest(fake, app)
    assert (await Sender(app, {"discord": discord_bot}).drain()).sent == 1
    header, in_thread = discord_thread(fake)
    assert header["embeds"] == [] and "Daily Papers digest" in header["content"]
    assert ranks_in(in_thread) == [1, 2, 3, 4, 5, 6]  # one message per paper, in order
    assert all(len(m["embeds"]) == 1 for m in in_thread)
    [opened] = fake.requests_to("POST", rf"/channels/{fake.channel_id}/messages/\d+/threads")
    assert opened.json["name"].startswith("Daily Papers digest")
    assert (await item(app)).thread == header["id"]


@pytest.mark.parametrize(
    ("n", "recorded", "point"),
    [
        (1, False, "header posted, not recorded"),
        (1, True, "header recorded, thread not opened"),
        (2, False, "thread opened, not recorded"),
        (2, True, "thread recorded, no paper posted"),
        (4, False, "second paper posted, not recorded"),
        (8, False, "last paper posted, not recorded"),
    ],
)
async def test_discord_kill_at_each_point_resumes_into_the_same_thread(
    fake: FakeDiscord, discord_bot: DiscordAdapter, app: App, n: int, recorded: bool, point: str
) -> None:
    await discord_digest(fake, app)
    if recorded:
        fake.nonce_window = 0.0  # the next process comes after Discord forgot the nonces
    other = await die_and_resume(app, {"discord": discord_bot}, n, recorded=recorded)
    await other.close()
    header, in_thread = discord_thread(fake)
    assert ranks_in(in_thread) == [1, 2, 3, 4, 5, 6], point  # each paper once, in order
    row = await item(app)
    assert row.thread == header["id"] and row.message_ids[0] == header["id"]
    assert len(row.message_ids) == 8


async def test_discord_thread_that_fails_to_open_is_opened_once_on_the_retry(
    fake: FakeDiscord, discord_bot: DiscordAdapter, app: App
) -> None:
    await discord_digest(fake, app)
    fake.nonce_window = 0.0  # no help from the nonce: the header must not come again
    fake.script("POST", rf"/channels/{fake.channel_id}/messages/\d+/threads", server_error())
    assert (await Sender(app, {"discord": discord_bot}).drain()).retried == 1
    app.clock.advance(hours=1)  # type: ignore[attr-defined]
    assert (await Sender(app, {"discord": discord_bot}).drain()).sent == 1
    _, in_thread = discord_thread(fake)
    assert ranks_in(in_thread) == [1, 2, 3, 4, 5, 6]


async def test_discord_threads_need_create_public_threads_when_set_and_when_posting(
    fake: FakeDiscord, discord_bot: DiscordAdapter, app: App
) -> None:
    fake.bot_permissions = ALL_PERMISSIONS & ~CREATE_PUBLIC_THREADS
    [refused] = await say(fake, "digest", {"mode": "on"}, sub="threads")
    assert "Create Public Threads" in refused["content"]
    fake.bot_permissions = ALL_PERMISSIONS
    await discord_digest(fake, app)
    fake.bot_permissions = ALL_PERMISSIONS & ~CREATE_PUBLIC_THREADS  # removed after set-up
    report = await Sender(app, {"discord": discord_bot}).drain()
    assert report.disabled == 1 and report.sent == 0
    fake.bot_permissions = ALL_PERMISSIONS
    [status] = await say(fake, "status")
    assert "Create Public Threads" in str(status["embeds"])
    # Re-enabled by a digest command, it goes on from the recorded header: still one.
    await say(fake, "digest", sub="resume")
    assert (await Sender(app, {"discord": discord_bot}).drain()).sent == 1
    _, in_thread = discord_thread(fake)
    assert ranks_in(in_thread) == [1, 2, 3, 4, 5, 6]


async def test_discord_threads_off_posts_the_digest_in_the_channel_again(
    fake: FakeDiscord, discord_bot: DiscordAdapter, app: App
) -> None:
    await say(fake, "digest", {"mode": "on"}, sub="threads")
    [status] = await say(fake, "status")
    assert "papers in a thread under the header" in str(status["embeds"])
    [off] = await say(fake, "digest", {"mode": "off"}, sub="threads")
    assert "in the channel again" in off["content"]
    await say(fake, "subscribe", {"query": QUERY})
    await say(fake, "digest", sub="now")
    assert (await Sender(app, {"discord": discord_bot}).drain()).sent == 1
    assert fake.threads == {}
    assert any(m["embeds"] for m in fake.messages[fake.channel_id])


async def test_discord_threads_are_refused_in_dms_and_typos_get_the_usage(
    fake: FakeDiscord, discord_bot: DiscordAdapter
) -> None:
    [dm] = await say(fake, "digest", {"mode": "on"}, sub="threads", dm=True)
    assert "Threads are for channels" in dm["content"]
    [typo] = await say(fake, "digest", {"mode": "yes"}, sub="threads")
    assert "mode must be one of: on, off" in typo["content"]
    assert "/digest threads" in typo["content"]


# ----- Slack -----------------------------------------------------------------------------


async def slack_digest(bot: SlackAdapter, slack: FakeSlack, app: App) -> list[str]:
    [ok] = await papers(bot, slack, "digest threads on")
    assert "in a thread" in joined(ok)
    await papers(bot, slack, "digest max 6")
    await papers(bot, slack, f"subscribe {QUERY}")
    await papers(bot, slack, "digest now")
    expected = await listed(app)
    assert len(expected) == 6
    return expected


def slack_thread(slack: FakeSlack) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The one header and its replies; fails on a second header or a reply elsewhere."""
    [header] = [m for m in slack.messages if "thread_ts" not in m or m["thread_ts"] == m["ts"]]
    replies = [m for m in slack.messages if m is not header]
    assert all(m["thread_ts"] == header["ts"] for m in replies)
    return header, replies


def slack_ranks(replies: list[dict[str, Any]]) -> list[int]:
    return [int(m["text"].split(".")[0]) for m in replies]


async def test_slack_threaded_digest_posts_each_paper_as_a_reply_to_its_header(
    slack_bot: SlackAdapter, slack: FakeSlack, app: App
) -> None:
    await slack_digest(slack_bot, slack, app)
    assert (await Sender(app, {"slack": slack_bot}).drain()).sent == 1
    header, replies = slack_thread(slack)
    assert "Daily Papers digest" in header["text"]
    assert slack_ranks(replies) == [1, 2, 3, 4, 5, 6]
    assert (await item(app)).thread == header["ts"]


@pytest.mark.parametrize(
    ("n", "recorded", "point"),
    [
        (1, False, "header posted, not recorded"),
        (1, True, "header recorded, no reply posted"),
        (3, False, "second reply posted, not recorded"),
        (7, False, "last reply posted, not recorded"),
    ],
)
async def test_slack_kill_at_each_point_resumes_into_the_same_thread(
    slack_bot: SlackAdapter, slack: FakeSlack, app: App, n: int, recorded: bool, point: str
) -> None:
    await slack_digest(slack_bot, slack, app)
    other = await die_and_resume(app, {"slack": slack_bot}, n, recorded=recorded)
    await other.close()
    header, replies = slack_thread(slack)
    assert slack_ranks(replies) == [1, 2, 3, 4, 5, 6], point  # each paper once, in order
    keys = Counter(m["metadata"]["event_payload"]["key"] for m in slack.messages)
    assert set(keys.values()) == {1}
    row = await item(app)
    assert row.thread == header["ts"] and row.message_ids == [m["ts"] for m in slack.messages]
    if not recorded:  # the resumed part was looked for where it would be
        where = "conversations.history" if n == 1 else "conversations.replies"
        assert len(slack.calls_to(where)) == 1


# ----- Discord forum channels ------------------------------------------------------------

TAGS = ["Diffusion Models", "llm", "AGENTS", "Vision", "rl", "benchmark", "Robotics"]
KEYWORDS = ["diffusion models", "LLM", "Agents", "vision", "RL", "Benchmark", "other"]


@pytest.fixture
async def forum_bot(fake: FakeDiscord, app: App) -> AsyncIterator[tuple[DiscordAdapter, str]]:
    forum = fake.add_forum("reading-group", TAGS)  # before GUILD_CREATE
    async with running_adapter(fake, Core(app, build_registry())) as adapter:
        yield adapter, forum


async def in_forum_post(
    fake: FakeDiscord, forum: str, name: str, options: dict[str, Any] | None = None, **kw: Any
) -> dict[str, Any]:
    """Run a command in a member's post of the forum; the one answer."""
    post = fake.thread_obj(fake.next_id(), forum, "Welcome", owner_id=fake.alice["id"])
    payload = fake.interaction(name, options, permissions=ALL_PERMISSIONS, channel=post, **kw)
    [answer] = await fake.wait_reply(await fake.interact(payload), within=10)
    return answer


async def forum_digest(fake: FakeDiscord, app: App, forum: str) -> list[str]:
    ok = await in_forum_post(fake, forum, "subscribe", {"query": QUERY})
    assert "#reading-group" in ok["content"], ok["content"]
    await in_forum_post(fake, forum, "digest", {"count": 4}, sub=["max"])
    async with app.sessions.begin() as s:
        await s.execute(update(PaperRow).values(ai_keywords=KEYWORDS))
    await in_forum_post(fake, forum, "digest", sub=["now"])
    expected = await listed(app)
    assert len(expected) == 4
    return expected


def forum_posts(fake: FakeDiscord, forum: str) -> list[dict[str, Any]]:
    return [t for t in fake.threads.values() if t["parent_id"] == forum]


async def test_a_digest_into_a_forum_is_one_tagged_post_per_paper(
    fake: FakeDiscord, forum_bot: tuple[DiscordAdapter, str], app: App
) -> None:
    adapter, forum = forum_bot
    expected = await forum_digest(fake, app, forum)
    assert (await Sender(app, {"discord": adapter}).drain()).sent == 1
    posts = forum_posts(fake, forum)
    titles = {p.id: p.title for p in await app.papers.get_many(expected)}
    assert [p["name"] for p in posts] == [titles[i][:100].strip() for i in expected]
    tag_ids = {t["name"]: t["id"] for t in fake.channels[forum]["available_tags"]}
    wanted = [tag_ids[n] for n in TAGS[:5]]  # matched in any case, the forum's first five
    assert all(p["applied_tags"] == wanted for p in posts)
    for pid, p in zip(expected, posts, strict=True):  # the first message is the paper's card
        [first] = fake.messages[p["id"]]
        assert first["id"] == p["id"] and len(first["embeds"]) == 1
        assert first["allowed_mentions"] == {"parse": []}
        assert message_problems(first) == []
        # One paper a post: its row of 👍 👎 🔖 Similar, as on a card, for anyone reading.
        [row] = first["components"]
        assert [c["custom_id"] for c in row["components"]] == [
            f"pb:fb:{a}:{pid}:0" for a in ("up", "down", "save", "similar")
        ]
        assert [c["label"] for c in row["components"]] == ["👍", "👎", "🔖 Save", "Similar"]
    assert fake.messages.get(forum, []) == []  # nothing posted in the forum itself


async def test_a_click_in_a_forum_post_rates_its_paper_for_the_clicker(
    fake: FakeDiscord, forum_bot: tuple[DiscordAdapter, str], app: App
) -> None:
    adapter, forum = forum_bot
    expected = await forum_digest(fake, app, forum)
    assert (await Sender(app, {"discord": adapter}).drain()).sent == 1
    post = forum_posts(fake, forum)[1]
    [first] = fake.messages[post["id"]]
    down = first["components"][0]["components"][1]
    click = fake.click(down["custom_id"], first)
    click.update(channel_id=post["id"], channel=post)  # clicked inside the post
    answer = await fake.press(click)
    assert answer["flags"] & EPHEMERAL and f"Rated {expected[1]}" in answer["content"]
    alice = Person("discord", str(fake.alice["id"]))
    assert dict((await app.feedback.taste(alice)).ratings) == {expected[1]: DOWN}
    assert len(fake.messages[post["id"]]) == 1  # answered privately: nothing in the post


async def test_threads_on_is_not_needed_in_a_forum(
    fake: FakeDiscord, forum_bot: tuple[DiscordAdapter, str]
) -> None:
    _, forum = forum_bot
    refused = await in_forum_post(fake, forum, "digest", {"mode": "on"}, sub=["threads"])
    assert "already one post per paper" in refused["content"]


@pytest.mark.parametrize("n", [1, 3])
async def test_a_kill_after_a_forum_post_was_created_does_not_create_it_again(
    fake: FakeDiscord, forum_bot: tuple[DiscordAdapter, str], app: App, n: int
) -> None:
    """Forum posts have no nonce: the resumed post is looked for among active threads."""
    adapter, forum = forum_bot
    expected = await forum_digest(fake, app, forum)
    other = await die_and_resume(app, {"discord": adapter}, n, recorded=False)
    await other.close()
    posts = forum_posts(fake, forum)
    assert len(posts) == len(expected)  # each paper once
    assert len({p["name"] for p in posts}) == len(expected)
    assert len(fake.requests_to("GET", rf"/guilds/{fake.guild_id}/threads/active")) == 1
    assert (await item(app)).message_ids == [p["id"] for p in posts]


def test_forum_tags_match_keywords_in_any_case_skip_moderated_and_stop_at_five() -> None:
    tags = [
        {"id": "1", "name": "LLM", "moderated": True},
        *({"id": str(n), "name": f"Topic {n}"} for n in range(2, 10)),
    ]
    keywords = ["llm", *(f"topic {n}" for n in range(2, 10))]
    assert matching_tags(tags, keywords) == ["2", "3", "4", "5", "6"]
    assert matching_tags(tags, ["nothing"]) == []


def test_a_forum_post_name_is_the_title_cut_to_100_without_pings_or_bidi() -> None:
    paper = Paper(id="2501.00001", title="@everyone \u202e" + "Long title " * 20)
    [part] = forum_parts(PaperList("digest", (PaperItem(paper),)), [])
    name = part["forum"]["name"]
    assert len(name) <= 100 and "\u202e" not in name and "@everyone" not in name
    assert part["forum"]["applied_tags"] == []


def test_threaded_and_forum_parts_stay_within_both_platforms_limits() -> None:
    """A digest of 50 papers with hostile, over-long text: every part is one valid message."""
    long = "@everyone <!channel> \u202e" + "Enormous title words " * 40
    papers_ = [
        Paper(
            id=f"2501.{n:05d}",
            title=f"{long} {n}",
            abstract="An abstract. " * 500,
            authors=tuple(f"Author Number {k} With A Very Long Name" for k in range(60)),
            ai_keywords=tuple(f"kw{k}" for k in range(30)),
            upvotes=n,
        )
        for n in range(50)
    ]
    reasons = tuple(f"query {k} " * 20 for k in range(10))
    digest = PaperList(
        long, tuple(PaperItem(p, reasons) for p in papers_), footer=long * 3, thread=True
    )
    discord_parts = discord_compose(digest)
    assert len(discord_parts) == 52  # header, the thread, a message per paper
    assert 1 <= len(discord_parts[1]["open_thread"]["name"]) <= 100
    for part in (discord_parts[0], *discord_parts[2:]):
        assert message_problems(dict(part)) == [], part
        assert "@everyone" not in (part["content"] or "")
    tags = [{"id": str(k), "name": f"KW{k}"} for k in range(20)]
    for part in forum_parts(digest, tags):
        assert 1 <= len(part["forum"]["name"]) <= 100
        assert len(part["forum"]["applied_tags"]) == 5
        assert message_problems({"embeds": part["embeds"]}) == []
    slack_parts = SlackSender.compose(digest)
    assert len(slack_parts) == 51 and slack_parts[0]["thread"] is True
    for part in slack_parts:
        assert slack_problems({"text": part["text"], "blocks": part["blocks"]}) is None
        assert "<!channel>" not in part["text"]


async def test_threads_cannot_be_turned_on_inside_a_thread(
    fake: FakeDiscord, discord_bot: DiscordAdapter
) -> None:
    thread = fake.thread_obj(fake.next_id(), fake.channel_id, "weekly", owner_id=fake.alice["id"])
    payload = fake.interaction(
        "digest", {"mode": "on"}, sub=["threads"], permissions=ALL_PERMISSIONS, channel=thread
    )
    [refused] = await fake.wait_reply(await fake.interact(payload), within=10)
    assert "opens no threads inside one" in refused["content"]
