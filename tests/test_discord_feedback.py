"""👍 👎 🔖 Similar on Discord: buttons and menus through the real discord.py, after restarts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.discord import DiscordAdapter
from adapters.discord.feedback import NOT_YOURS
from adapters.discord.sender import compose
from bot.app import App, build_app
from bot.commands import build_registry
from bot.core import Core
from bot.messages import PaperItem, PaperList
from bot.port import Destination
from bot.storage.feedback_repo import DOWN, UP, Person
from tests.discord_helpers import embed_titles, running_adapter, say
from tests.fakes.discord_server import EPHEMERAL, FakeDiscord
from tests.helpers import FakeClock
from tests.port_helpers import send

BOB = FakeDiscord.user("1300000000000000002", "bob")


@pytest.fixture
async def pid(sample_app: App, clock: FakeClock) -> str:
    """A stored paper of today's sample."""
    today = clock().date()
    return (await sample_app.papers.featured_between(today, today))[0].id


@pytest.fixture
async def bot(fake: FakeDiscord, sample_app: App) -> AsyncIterator[DiscordAdapter]:
    async with running_adapter(fake, Core(sample_app, build_registry())) as adapter:
        yield adapter


def components(msg: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for row in msg["components"] for c in row["components"]]


def button(msg: dict[str, Any], label: str) -> str:
    [cid] = [c["custom_id"] for c in components(msg) if c["type"] == 2 and c["label"] == label]
    return str(cid)


def menu(msg: dict[str, Any]) -> dict[str, Any]:
    [found] = [c for c in components(msg) if c.get("custom_id", "").startswith("pb:fbm:")]
    return found


def alice(fake: FakeDiscord) -> Person:
    return Person("discord", str(fake.alice["id"]))


async def ratings(app: App, who: Person) -> dict[str, int]:
    return dict((await app.feedback.taste(who)).ratings)


async def test_a_card_rates_up_and_undo_takes_it_back(
    fake: FakeDiscord, pid: str, bot: DiscordAdapter, sample_app: App
) -> None:
    [card] = await say(fake, "paper", {"query": pid})
    labels = [c["label"] for c in components(card)]
    assert labels == ["👍", "👎", "🔖 Save", "Similar"]
    assert button(card, "👍") == f"pb:fb:up:{pid}:0"  # a public card: anyone rates for themselves

    answer = await fake.press(fake.click(button(card, "👍"), card))
    assert answer["flags"] & EPHEMERAL and not answer.get("edit_of_component")
    assert answer["content"].startswith(f"✅ 👍 Rated {pid}")
    assert answer["allowed_mentions"] == {"parse": []}
    assert await ratings(sample_app, alice(fake)) == {pid: UP}
    # Undo is the clicker's own: it clears the rating they had not given before.
    assert button(answer, "Undo") == f"pb:fb:clear:{pid}:{fake.alice['id']}"

    undone = await fake.press(fake.click(button(answer, "Undo"), answer))
    assert undone["content"] == f"✅ Cleared your rating of {pid}." and undone["flags"] & EPHEMERAL
    assert await ratings(sample_app, alice(fake)) == {}
    # Undoing the undo brings the 👍 back.
    again = await fake.press(fake.click(button(undone, "Undo"), undone))
    assert "Rated" in again["content"] and await ratings(sample_app, alice(fake)) == {pid: UP}


async def test_save_and_its_undo_and_similar(
    fake: FakeDiscord, pid: str, bot: DiscordAdapter, sample_app: App
) -> None:
    [card] = await say(fake, "paper", {"query": pid})
    saved = await fake.press(fake.click(button(card, "🔖 Save"), card))
    assert saved["content"].startswith(f"✅ 🔖 Saved {pid}")
    assert (await sample_app.feedback.saved(alice(fake))) == [pid]
    await fake.press(fake.click(button(saved, "Undo"), saved))
    assert (await sample_app.feedback.saved(alice(fake))) == []

    similar = await fake.press(fake.click(button(card, "Similar"), card))
    assert similar["flags"] & EPHEMERAL
    assert similar["content"].startswith(f"**Papers like {pid}")
    assert menu(similar)["custom_id"] == f"pb:fbm:{fake.alice['id']}"  # a personal list


async def test_a_click_by_another_member_counts_for_them_only(
    fake: FakeDiscord, pid: str, bot: DiscordAdapter, sample_app: App
) -> None:
    [card] = await say(fake, "paper", {"query": pid})
    await fake.press(fake.click(button(card, "👎"), card, user=BOB))
    assert await ratings(sample_app, Person("discord", str(BOB["id"]))) == {pid: DOWN}
    assert await ratings(sample_app, alice(fake)) == {}


async def test_a_digest_offers_one_menu_per_message_and_a_click_after_a_restart_works(
    fake: FakeDiscord, pid: str, sample_app: App, clock: FakeClock
) -> None:
    today = clock().date()
    items = tuple(
        PaperItem(p) for p in (await sample_app.papers.featured_between(today, today))[:12]
    )
    assert len(items) == 12
    digest = PaperList("Your daily digest", items)
    async with running_adapter(fake, Core(sample_app, build_registry())) as adapter:
        await send(adapter, Destination("discord", "channel", fake.channel_id), digest, key="d:1")
    posted = fake.messages[fake.channel_id]
    assert [len(m["embeds"]) for m in posted] == [10, 2]
    for msg in posted:  # within Discord's limits: one row, one select menu of its papers
        assert len(msg["components"]) == 1
        ranks = [t.split(". ", 1)[0] for t in embed_titles(msg)]
        assert [o["label"].split(". ", 1)[0] for o in menu(msg)["options"]] == ranks
    first = posted[0]
    assert menu(first)["custom_id"] == "pb:fbm:0"
    assert [o["value"] for o in menu(first)["options"]] == [i.paper.id for i in items[:10]]

    # A new process: new services on the same database, a new discord.py client.
    app = build_app(sample_app.settings, source_name="sample", clock=clock)
    try:
        async with running_adapter(fake, Core(app, build_registry())):
            panel = await fake.press(fake.click("pb:fbm:0", first, values=[pid]))
            assert panel["flags"] & EPHEMERAL and panel["content"].startswith("1. ")
            assert [c["label"] for c in components(panel)] == ["👍", "👎", "🔖 Save", "Similar"]
            assert button(panel, "👍") == f"pb:fb:up:{pid}:{fake.alice['id']}"
            rated = await fake.press(fake.click(button(panel, "👍"), panel))
            assert "Rated" in rated["content"]
            # Someone else cannot use alice's private panel.
            refused = await fake.press(fake.click(button(panel, "👎"), panel, user=BOB))
            assert refused["content"] == NOT_YOURS and refused["flags"] & EPHEMERAL
    finally:
        await app.close()
    assert await ratings(sample_app, alice(fake)) == {pid: UP}
    assert await ratings(sample_app, Person("discord", str(BOB["id"]))) == {}


@pytest.mark.parametrize(
    ("custom_id", "answer"),
    [
        ("pb:fb:up", "This button is out of date"),  # ours, but cut short (or a newer format)
        ("pb:fb:love:2501.00001:0", "This button is out of date"),  # no such action
        ("pb:fb:up:9999.99999:0", "Paper 9999.99999 is not among the stored Daily Papers"),
        ("pb:fb:up:2501.00001:1300000000000000002", "Only the person"),  # bob's, not alice's
    ],
)
async def test_a_forged_or_stale_button_answers_briefly_and_stores_nothing(
    fake: FakeDiscord, pid: str, bot: DiscordAdapter, sample_app: App, custom_id: str, answer: str
) -> None:
    [card] = await say(fake, "paper", {"query": pid})
    card["components"][0]["components"][0]["custom_id"] = custom_id  # as if posted so
    before = len(fake.requests)
    reply = await fake.press(fake.click(custom_id, card))
    assert reply["flags"] & EPHEMERAL and answer in reply["content"]
    assert len(reply["content"]) < 200 and "Traceback" not in reply["content"]
    assert await ratings(sample_app, alice(fake)) == {}
    # One answer (the ephemeral message), no edit of the card, nothing posted in the channel.
    sent = fake.requests[before:]
    assert [r.method for r in sent] == ["POST"] and "/callback" in sent[0].path


async def test_a_forged_menu_choice_answers_briefly(
    fake: FakeDiscord, pid: str, bot: DiscordAdapter, sample_app: App
) -> None:
    [msg] = await say(fake, "papers", {"day": "today", "limit": 3})
    cid = menu(msg)["custom_id"]
    assert cid == "pb:fbm:0"
    reply = await fake.press(fake.click(cid, msg, values=["../../x y"]))
    assert reply["flags"] & EPHEMERAL and reply["content"].startswith("This button is out of date")
    menu(msg)["custom_id"] = "pb:fbm:zz"  # as if posted so
    bad = await fake.press(fake.click("pb:fbm:zz", msg, values=[pid]))
    assert bad["content"].startswith("This button is out of date")
    assert await ratings(sample_app, alice(fake)) == {}


async def test_a_dm_alert_and_a_digest_thread_carry_the_controls(
    fake: FakeDiscord, sample_app: App, clock: FakeClock
) -> None:
    today = clock().date()
    papers = (await sample_app.papers.featured_between(today, today))[:3]
    alert = PaperList("New for you", (PaperItem(papers[0]),))
    threaded = PaperList("Digest", tuple(PaperItem(p) for p in papers), thread=True)
    async with running_adapter(fake, Core(sample_app, build_registry())) as adapter:
        user = str(fake.alice["id"])
        await send(adapter, Destination("discord", "user", user), alert, key="alert:1")
        # A digest in a thread: the header, the thread, then one message per paper.
        parts = compose(threaded)
        assert [len(p.get("papers", ())) for p in parts] == [0, 0, 1, 1, 1]
        channel = Destination("discord", "channel", fake.channel_id)
        for n, part in enumerate(parts[2:]):
            await adapter.post(channel, part, key=f"t:{n}")
    dm = fake.dm_channel(user)
    assert dm is not None
    [msg] = fake.messages[dm]
    # One paper: its own row of buttons, for whoever reads the DM.
    assert [c["custom_id"] for c in components(msg)] == [
        f"pb:fb:{a}:{papers[0].id}:0" for a in ("up", "down", "save", "similar")
    ]
    in_thread = fake.messages[fake.channel_id]
    assert [button(m, "👍") for m in in_thread] == [f"pb:fb:up:{p.id}:0" for p in papers]
