"""`paperbot recommend` and `paperbot similar` on the hand-written corpus, stateless."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.cli import main
from bot.app import build_app
from bot.settings import load_settings
from bot.sources.huggingface import parse_daily_items
from bot.storage.db import upgrade
from tests.helpers import FakeClock
from tests.recommend_corpus import DIFFUSION, KV, items

CLOCK = FakeClock(datetime(2024, 12, 24, 12, 0, tzinfo=UTC))
KV_IDS = [p[0] for p in KV]
DIFF_IDS = [p[0] for p in DIFFUSION]


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"

    async def fill() -> None:
        await upgrade(url)
        app = build_app(load_settings({"DATABASE_URL": url}), source_name="sample")
        papers, _ = parse_daily_items(items(), None)
        await app.papers.upsert(papers)
        await app.close()

    asyncio.run(fill())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    return url


def test_recommend_ranks_the_window_for_those_ratings(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["recommend", "--like", *KV_IDS[:3], "--dislike", *DIFF_IDS[:2], "--json"]
    assert main(argv, clock=CLOCK) == 0
    out = json.loads(capsys.readouterr().out)
    ids = [p["id"] for p in out]
    assert set(ids[:2]) == set(KV_IDS[3:])
    assert not set(ids) & set(KV_IDS[:3] + DIFF_IDS[:2])  # rated: not offered again
    assert "you liked" in out[0]["reason"] and isinstance(out[0]["score"], float)
    argv = [*argv, "--since", "2024-12-24", "--until", "2024-12-24", "--limit", "1"]
    assert main(argv, clock=CLOCK) == 0
    assert [p["id"] for p in json.loads(capsys.readouterr().out)] == [ids[0]]


def test_recommend_refuses_bad_and_unknown_ids(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["recommend", "--like", "nonsense", "--json"], clock=CLOCK) == 2
    assert "not paper ids: 'nonsense'" in capsys.readouterr().err
    assert main(["recommend", "--like", "2501.99999"], clock=CLOCK) == 2
    assert "not stored: 2501.99999" in capsys.readouterr().err
    argv = ["recommend", "--like", KV_IDS[0], "--since", "2024-12-25", "--until", "2024-12-24"]
    assert main(argv, clock=CLOCK) == 2


def test_similar(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["similar", KV_IDS[0], "--limit", "4", "--json"], clock=CLOCK) == 0
    out = json.loads(capsys.readouterr().out)
    assert {p["id"] for p in out} == set(KV_IDS[1:])
    assert all(0 < p["similarity"] <= 1 for p in out)
    assert main(["similar", "2501.99999"], clock=CLOCK) == 2
