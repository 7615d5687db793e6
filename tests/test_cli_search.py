"""`paperbot search`: the query engine from the command line, on a temporary SQLite file."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from adapters.cli import main
from bot.app import build_app
from bot.papers import Paper
from bot.settings import load_settings
from bot.storage.db import upgrade
from tests.helpers import FakeClock

# The CLI runs on a fixed clock: "the last 7 days" never straddles a real midnight.
TODAY = date(2025, 1, 15)
CLOCK = FakeClock(datetime(2025, 1, 15, 12, 0, tzinfo=UTC))


def _papers() -> list[Paper]:
    today = TODAY

    def featured(days_ago: int) -> tuple:
        return (today - timedelta(days=days_ago),)

    return [
        Paper("2412.00001", "Latent Diffusion for Video", featured_on=featured(0), upvotes=8),
        Paper(
            "2412.00002",
            "Diffusion Models for Audio",
            abstract="Speech synthesis with a diffusion model.",
            featured_on=featured(2),
            upvotes=30,
        ),
        Paper("2412.00003", "Rain Forecasting", featured_on=featured(1), upvotes=50),
        Paper("2401.00004", "An Old Diffusion Survey", featured_on=featured(40), upvotes=99),
        # Looked up once, never on Daily Papers: only --all sees it.
        Paper("2301.00005", "Diffusion Without a Feature", upvotes=3),
    ]


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"

    async def fill() -> None:
        await upgrade(url)
        app = build_app(load_settings({"DATABASE_URL": url}), source_name="sample")
        await app.papers.upsert(_papers())
        await app.close()

    asyncio.run(fill())
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    return url


def test_search_json_lists_matches_most_upvoted_first(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "--json", "diffusion"], clock=CLOCK) == 0
    out = json.loads(capsys.readouterr().out)
    assert [p["id"] for p in out] == ["2412.00002", "2412.00001"]
    first = out[0]
    assert first["title"] == "Diffusion Models for Audio"
    assert first["upvotes"] == 30
    assert first["url"] == "https://huggingface.co/papers/2412.00002"
    assert first["reasons"] == ["diffusion in title, abstract"]


def test_search_days_and_all(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--json", "--days", "60", "diffusion"], clock=CLOCK) == 0
    assert [p["id"] for p in json.loads(capsys.readouterr().out)] == [
        "2401.00004",
        "2412.00002",
        "2412.00001",
    ]
    assert main(["search", "--json", "--all", "diffusion"], clock=CLOCK) == 0
    assert [p["id"] for p in json.loads(capsys.readouterr().out)] == [
        "2401.00004",
        "2412.00002",
        "2412.00001",
        "2301.00005",
    ]


def test_search_query_words_and_negation_after_double_dash(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "--json", "--", "diffusion", "-audio"], clock=CLOCK) == 0
    assert [p["id"] for p in json.loads(capsys.readouterr().out)] == ["2412.00001"]


def test_search_text_output(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "title:difusion"], clock=CLOCK) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        "2412.00002\t▲30\tDiffusion Models for Audio\ttitle:difusion in title",
        "2412.00001\t▲8\tLatent Diffusion for Video\ttitle:difusion in title",
    ]
    assert "2 of 3 papers of the last 7 days match 'title:difusion'" in captured.err


def test_search_without_matches_exits_1(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--json", "protein"], clock=CLOCK) == 1
    assert json.loads(capsys.readouterr().out) == []


def test_bad_query_exits_2_with_one_line(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", '"chain of thought'], clock=CLOCK) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        'paperbot: Unclosed quote " at position 1; a valid query looks like: '
        '"chain of thought" reasoning\n'
    )
    assert main(["search", "--days", "0", "diffusion"], clock=CLOCK) == 2
    assert capsys.readouterr().err == "paperbot: --days must be at least 1\n"


def test_a_window_older_than_every_stored_day_says_so(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    later = FakeClock(datetime(2025, 4, 25, 12, 0, tzinfo=UTC))  # 100 days on
    assert main(["search", "diffusion"], clock=later) == 1
    err = capsys.readouterr().err
    assert "0 of 0 papers of the last 7 days match 'diffusion'" in err
    assert (
        "the newest stored papers are from 2025-01-15 (100 days ago); search them with --all "
        "or --days 101" in err
    )


def test_the_query_is_echoed_as_typed(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--", "Diffusion", "-audio"], clock=CLOCK) == 0
    assert "match 'Diffusion -audio'" in capsys.readouterr().err
