"""One bad item never stops ingestion: odd text and huge numbers from Hugging Face are
cleaned, and a paper the database refuses costs only itself, visibly.

Run on SQLite and on PostgreSQL: a NUL is storable in SQLite text but not in PostgreSQL's,
an integer over 2^31 fits SQLite but not a PostgreSQL INTEGER, and neither driver encodes a
lone surrogate.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.app import App
from bot.messages import Fields
from bot.papers import Paper
from bot.services.ingest import ingest_day
from bot.sources import HuggingFaceClient
from tests.delivery_helpers import FakeSource, Harness, RecordingAdapter, make_app, utc
from tests.fakes.hf_server import FakeHF
from tests.helpers import FakeClock, daily_item
from tests.test_cli import paperbot

DAY = "2025-02-03"


def hostile_items(day: str = DAY) -> list[dict[str, Any]]:
    """A day's list with every kind of item that used to stop the whole ingest."""
    nul = daily_item("2502.00001", "Diffusion\x00 with a NUL", day=day, upvotes=5)
    surrogate = daily_item(
        "2502.00002",
        "Diffusion with a lone \ud800 surrogate",
        day=day,
        abstract="Abstract \udfff here.",
        authors=("Ada \ud83d Lovelace",),
        keywords=("diffusion", "\ud800"),
    )
    huge = daily_item("2502.00003", "Diffusion counted big", day=day, upvotes=2**31 + 5)
    huge["numComments"] = 2**40
    assert isinstance(huge["paper"], dict)
    huge["paper"]["githubStars"] = 2**70
    bidi = daily_item("2502.00004", "Diffusion \u202etxet desrever\u202c ok", day=day)
    plain = daily_item("2502.00005", "Plain diffusion", day=day, upvotes=3)
    return [nul, surrogate, huge, bidi, plain]


def check_stored(papers: dict[str, Paper]) -> None:
    assert sorted(papers) == [f"2502.0000{i}" for i in range(1, 6)]
    assert papers["2502.00001"].title == "Diffusion with a NUL"
    assert papers["2502.00002"].title == "Diffusion with a lone surrogate"
    assert papers["2502.00002"].abstract == "Abstract here."
    assert papers["2502.00002"].authors == ("Ada Lovelace",)
    assert papers["2502.00002"].ai_keywords == ("diffusion",)
    big = papers["2502.00003"]
    assert (big.upvotes, big.comments, big.github_stars) == (2**31 - 1, 2**31 - 1, 2**31 - 1)
    assert papers["2502.00004"].title == "Diffusion txet desrever ok"


@pytest.fixture
async def hf() -> AsyncIterator[FakeHF]:
    async with FakeHF() as server:
        server.days[DAY] = hostile_items()
        yield server


async def test_hostile_items_from_hugging_face_are_stored_cleaned(db_url, hf):
    clock = FakeClock(utc(2025, 2, 3, 10, 0))
    source = HuggingFaceClient(base_url=hf.url, max_retries=0, today=lambda: clock().date())
    app = make_app(db_url, clock, source)  # type: ignore[arg-type]
    try:
        await ingest_day(app, date(2025, 2, 3))
        check_stored({p.id: p for p in await app.papers.featured_on(date(2025, 2, 3))})
    finally:
        await app.close()


async def test_a_paper_the_database_refuses_is_skipped_and_the_rest_stored(app: App):
    good = Paper(id="2502.00010", title="Good one", featured_on=(date(2025, 2, 3),))
    # Not from a parser, so not cleaned: what any other writer might hand the repository.
    bad = Paper(id="2502.00011", title="Bad \ud800 one", upvotes=2**64)
    also = Paper(id="2502.00012", title="Good two", upvotes=4)
    stats = await app.papers.upsert([good, bad, also], now=utc(2025, 2, 3, 10, 0))
    assert stats.new == 2
    assert [pid for pid, _ in stats.failed] == ["2502.00011"]
    assert "\ud800" not in stats.failed[0][1]  # the reason is storable and printable
    stored = await app.papers.get_many(["2502.00010", "2502.00011", "2502.00012"])
    assert [p.id for p in stored] == ["2502.00010", "2502.00012"]
    assert await app.papers.featured_on(date(2025, 2, 3)) == [stored[0]]


async def test_a_refused_paper_shows_in_status_and_the_digest_still_goes_out(db_url):
    source = FakeSource()
    h = Harness(
        make_app(db_url, FakeClock(utc(2025, 2, 3, 7, 0)), source), source, RecordingAdapter()
    )
    try:
        await h.bot.say("subscribe diffusion")
        await h.bot.say("digest time 09:00 UTC")
        bad = Paper(id="2502.00021", title="Diffusion \ud800 refused", upvotes=2**64)
        good = Paper(id="2502.00022", title="Diffusion stored", upvotes=3)
        source.feature(date(2025, 2, 3), bad, good)
        await h.tick(utc(2025, 2, 3, 8, 45))
        await h.tick(utc(2025, 2, 3, 9, 0))
        assert [s.paper_ids for s in h.adapter.sent] == [["2502.00022"]]
        [reply] = await h.bot.say("status")
        assert isinstance(reply, Fields)
        line = dict(reply.rows)["Paper source"]
        assert "last complete poll Mon 2025-02-03 09:00 UTC" in line
        assert "1 paper could not be stored: 2025-02-03: paper 2502.00021: " in line
    finally:
        await h.app.close()


async def test_ingest_from_file_stores_hostile_items(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / f"{DAY}.json"
    # As a saved HF response: json.dumps escapes the lone surrogates as "\ud800".
    path.write_text(json.dumps(hostile_items()), encoding="utf-8")
    code, out, err = await paperbot(
        "ingest", "--from-file", str(path), cwd=tmp_path, env={"DATABASE_URL": db_url}
    )
    assert "Traceback" not in err
    assert code == 0, err
    assert "ingested 5 items: 5 new" in out and "5 papers stored" in out
    code, out, err = await paperbot(
        "papers", "--date", DAY, "--json", cwd=tmp_path, env={"DATABASE_URL": db_url}
    )
    assert code == 0, err
    listed = json.loads(out)
    check_stored({p["id"]: Paper(**_paper_fields(p)) for p in listed})


def _paper_fields(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": p["id"],
        "title": p["title"],
        "abstract": p["abstract"],
        "authors": tuple(p["authors"]),
        "upvotes": p["upvotes"],
        "comments": p["comments"],
        "github_stars": p["github_stars"],
        "ai_keywords": tuple(p["ai_keywords"]),
    }
