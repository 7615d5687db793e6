"""Parsed queries are stored and read back without parsing; compiled engines are kept
across sweeps and never outlive a change of the subscriptions they were compiled for."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

import bot.services.queries as queries_service
from bot.delivery.compiled import QueryCache
from bot.query import parse_query
from bot.query.stored import VERSION, dump, load
from bot.storage.db import make_engine, upgrade
from bot.storage.models import SubscriptionRow
from tests.delivery_helpers import FakeSource, Harness, RecordingAdapter, make_app, paper, utc
from tests.helpers import FakeClock

QUERIES = [
    "diffusion",
    "LLM",
    '"chain of thought"',
    "self-supervised video",
    "difusion",
    "title:(diffusion OR flow) -survey",
    'author:"Yann LeCun"',
    "author:LeCun",
    "upvotes>=10 RAG",
    "NOT (video OR audio) agent",
    "keyword:reasoning abstract:benchmark",
    "multi-modal OR multimodal",
    '"or" ViT',
    "(a OR b) (c OR -d)",
]


@pytest.mark.parametrize("typed", QUERIES)
def test_the_stored_form_reads_back_as_the_parsed_query(typed: str) -> None:
    parsed = parse_query(typed)
    back = load(dump(parsed), typed, parsed.canonical)
    assert back is not None
    assert back.root == parsed.root and back.text == typed
    assert str(back) == str(parsed)


def test_a_stored_form_of_another_version_or_broken_is_parsed_again() -> None:
    parsed = parse_query("diffusion video")
    assert load({**dump(parsed), "v": VERSION + 1}, "diffusion video", "") is None
    assert load({"v": VERSION, "tree": ["x"]}, "diffusion video", "") is None
    assert load(None, "diffusion video", "") is None
    cache = QueryCache()
    assert cache.get("diffusion video", {"v": VERSION + 1}, "") == parsed


def test_engines_are_kept_per_set_of_queries() -> None:
    cache = QueryCache(keep_from=1)
    first, order = cache.engine(["video", "diffusion", "video"])
    assert order == ["diffusion", "video"] and cache.compiled == 1
    again, _ = cache.engine(["diffusion", "video"])
    assert again is first and cache.compiled == 1
    other, order = cache.engine(["diffusion", "video", "agent"])
    assert other is not first and order == ["agent", "diffusion", "video"]
    assert cache.compiled == 2
    small = QueryCache()  # sets under KEEP_FROM queries compile each time: microseconds
    assert small.engine(["video"])[0] is not small.engine(["video"])[0]
    found = other.match_batch([paper(1, "An agent for video")])
    assert sorted(order[n] for n in found) == ["agent", "video"]


async def channel(db_url: str) -> Harness:
    source = FakeSource()
    h = Harness(
        make_app(db_url, FakeClock(utc(2025, 2, 3, 7, 0)), source), source, RecordingAdapter()
    )
    for c in ("subscribe diffusion", "digest time 09:00 UTC"):
        await h.bot.say(c)
    return h


async def test_sweeps_reuse_the_engine_until_the_subscriptions_change(db_url, monkeypatch):
    h = await channel(db_url)
    cache = h.scheduler.sweeper.queries = QueryCache(keep_from=1)

    def no_parsing(text: str) -> None:
        raise AssertionError(f"parsed {text!r} again")

    # Every subscription has its parsed form stored: no sweep parses.
    monkeypatch.setattr(queries_service, "_parse_saved", no_parsing)
    h.source.feature(utc(2025, 2, 3).date(), paper(1, "Diffusion A"), paper(2, "Agent B"))
    await h.tick(utc(2025, 2, 3, 9, 0))
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00001"]]
    assert cache.compiled == 1
    h.source.feature(utc(2025, 2, 4).date(), paper(3, "Diffusion C"), paper(4, "Agent D"))
    await h.tick(utc(2025, 2, 4, 9, 0))
    assert [s.paper_ids for s in h.adapter.sent][1:] == [["2501.00003"]]
    assert cache.compiled == 1, "the same queries: the engine of yesterday"
    await h.bot.say("subscribe agent")
    h.source.feature(utc(2025, 2, 5).date(), paper(5, "Diffusion E"), paper(6, "Agent F"))
    await h.tick(utc(2025, 2, 5, 9, 0))
    # The agent papers of the days before count too (not offered yet, see RECONSIDER).
    assert {"2501.00005", "2501.00006"} <= set(h.adapter.sent[2].paper_ids)
    assert cache.compiled == 2, "a new subscription: a new engine"


async def test_a_subscription_saved_before_the_stored_form_is_parsed(db_url):
    h = await channel(db_url)
    async with h.app.sessions.begin() as s:
        await s.execute(text("UPDATE subscriptions SET parsed = NULL"))
    h.source.feature(utc(2025, 2, 3).date(), paper(1, "Diffusion A"))
    await h.tick(utc(2025, 2, 3, 9, 0))
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00001"]]


async def test_the_migration_stores_the_parsed_form_of_saved_queries(tmp_path: Path):
    url = f"sqlite+aiosqlite:///{tmp_path}/old.sqlite3"
    await upgrade(url, "0006")
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO destinations (platform, kind, external_id, timezone, digest_time,"
                " digest_max, min_upvotes, weekdays_only, paused, alerts_mode, created_at)"
                " VALUES ('test', 'channel', 'C1', 'UTC', '09:00', 10, 0, 0, 0, 'daily',"
                " '2025-02-03 07:00:00.000000')"
            )
        )
        for q in ("diffusion video", "(((unbalanced"):
            await conn.execute(
                text(
                    "INSERT INTO subscriptions (destination_id, query, canonical, created_at)"
                    " VALUES (1, :q, :q, '2025-02-03 07:00:00.000000')"
                ),
                {"q": q},
            )
    await engine.dispose()
    await upgrade(url)
    engine = make_engine(url)
    async with engine.connect() as conn:
        t = SubscriptionRow.__table__
        rows = dict((await conn.execute(select(t.c.query, t.c.parsed))).all())
    await engine.dispose()
    assert rows["diffusion video"] == dump(parse_query("diffusion video"))
    assert rows["(((unbalanced"] is None, "a query that no longer parses stays as typed"
