"""Linked models, datasets and Spaces: the HF client for /api/arxiv/{id}/repos over real HTTP
(the fake HF server), the artifact round and its rate-limit budget, storage, and has:model."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import App, build_app
from bot.papers import ArtifactRef, Artifacts, Paper
from bot.services.artifacts import artifact_round
from bot.settings import load_settings
from bot.sources import HuggingFaceClient, SourceError
from bot.sources.http import RequestWindow
from tests.fakes.hf_server import FakeHF, Scripted
from tests.helpers import FakeClock, TestBot

FIXTURES = Path(__file__).parent / "fixtures" / "hf"
NOW = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)


def repos() -> dict[str, Any]:
    return copy.deepcopy(json.loads((FIXTURES / "arxiv_repos.json").read_text()))


class RecordingSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class Ticks:
    """A monotonic clock a test moves by hand (for the request window)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def server() -> AsyncIterator[FakeHF]:
    async with FakeHF() as fake:
        yield fake


def client(server: FakeHF, **kwargs: Any) -> HuggingFaceClient:
    options: dict[str, Any] = {"backoff_base": 0.01, "timeout": 5, "today": lambda: NOW.date()}
    options.update(kwargs)
    return HuggingFaceClient(base_url=server.url, **options)


async def test_counts_and_the_most_liked_few_of_each_kind(server: FakeHF) -> None:
    server.repos["2611.10001"] = repos()
    async with client(server) as hf:
        found = await hf.artifacts("arXiv:2611.10001v2")
    assert server.paths() == ["/api/arxiv/2611.10001/repos"]
    assert (found.models, found.datasets, found.spaces) == (3, 1, 2)
    # The hostile repo id still counts (it is a citing repo) but is never kept to show.
    assert found.top == (
        ArtifactRef("models", "acme-lab/wavelet-7b"),
        ArtifactRef("models", "someone/wavelet-7b-GGUF"),
        ArtifactRef("datasets", "acme-lab/wavelet_bench"),
        ArtifactRef("spaces", "acme-lab/wavelet-demo"),
        ArtifactRef("spaces", "fan/wavelet-playground"),
    )
    assert found.summary() == "3 models, 1 dataset, 2 Spaces"
    assert found.top[2].url == "https://huggingface.co/datasets/acme-lab/wavelet_bench"
    assert found.top[3].url == "https://huggingface.co/spaces/acme-lab/wavelet-demo"


async def test_a_paper_nothing_cites_and_a_404(server: FakeHF) -> None:
    async with client(server) as hf:
        assert await hf.artifacts("2611.10002") == Artifacts()
        server.script(Scripted(404, body={"error": "Paper not found"}))
        assert await hf.artifacts("2611.10003") == Artifacts()


async def test_odd_shapes_are_read_leniently_or_refused(server: FakeHF) -> None:
    server.repos["2611.10004"] = {"models": [{"id": 5}, "x"], "spaces": "no", "extra": 1}
    async with client(server) as hf:
        odd = await hf.artifacts("2611.10004")
        assert (odd.models, odd.datasets, odd.spaces, odd.top) == (2, 0, 0, ())
        server.script(Scripted(200, body=["not", "an", "object"]))
        with pytest.raises(SourceError, match="unexpected shape"):
            await hf.artifacts("2611.10005")


async def test_429_waits_as_told_then_answers(server: FakeHF) -> None:
    server.repos["2611.10001"] = repos()
    server.script(Scripted(429, {"Retry-After": "7"}, {"error": "rate limited"}))
    sleep = RecordingSleep()
    async with client(server, sleep=sleep) as hf:
        found = await hf.artifacts("2611.10001")
    assert found.models == 3
    assert 7.0 in sleep.delays


async def test_5xx_is_retried_and_then_gives_up(server: FakeHF) -> None:
    server.repos["2611.10001"] = repos()
    server.script(Scripted(503, body={"error": "Service Unavailable"}))
    async with client(server, sleep=RecordingSleep()) as hf:
        assert (await hf.artifacts("2611.10001")).spaces == 2
        server.fail_always(500)
        with pytest.raises(SourceError, match="did not answer after 4 tries"):
            await hf.artifacts("2611.10001")


async def test_a_slow_answer_times_out_and_is_retried(server: FakeHF) -> None:
    server.repos["2611.10001"] = repos()
    server.script(Scripted(delay=2.0))
    async with client(server, timeout=0.3, sleep=RecordingSleep()) as hf:
        assert (await hf.artifacts("2611.10001")).datasets == 1
    assert len(server.requests) == 2


async def test_the_answer_changing_between_fetches_is_seen(server: FakeHF) -> None:
    server.repos["2611.10001"] = repos()
    async with client(server) as hf:
        first = await hf.artifacts("2611.10001")
        server.repos["2611.10001"]["datasets"] = []
        server.repos["2611.10001"]["models"].append({"id": "new/finetune", "likes": 100})
        second = await hf.artifacts("2611.10001")
    assert (first.models, first.datasets) == (3, 1)
    assert (second.models, second.datasets) == (4, 0)
    assert second.top[0] == ArtifactRef("models", "new/finetune")


async def test_the_window_counts_every_attempt_and_forgets_after_5_minutes(
    server: FakeHF,
) -> None:
    ticks = Ticks()
    window = RequestWindow(clock=ticks)
    server.script(Scripted(500, body={"error": "x"}))
    async with client(server, window=window, sleep=RecordingSleep()) as hf:
        await hf.daily_papers(NOW.date())  # the poll's own requests count too
        await hf.artifacts("2611.10001")
        assert window.used() == 3  # the 500, its retry, and the look-up
        ticks.now += 299
        assert window.used() == 3
        ticks.now += 2
        assert window.used() == 0


# -- the round, on a database -------------------------------------------------------------


@pytest.fixture
async def hf_app(db_url: str, server: FakeHF) -> AsyncIterator[tuple[App, FakeClock, Ticks]]:
    clock = FakeClock(NOW)
    ticks = Ticks()
    settings = load_settings({"DATABASE_URL": db_url, "HF_REQUEST_BUDGET": "5"})
    hf = client(server, window=RequestWindow(clock=ticks), sleep=RecordingSleep())
    app = build_app(settings, source_name="huggingface", source=hf, clock=clock)
    yield app, clock, ticks
    await app.close()


def featured(n: int, days_ago: int) -> Paper:
    return Paper(
        id=f"2611.{10000 + n}",
        title=f"Paper {n}",
        featured_on=(NOW.date() - timedelta(days=days_ago),),
    )


async def test_the_round_looks_up_recent_papers_newest_first_and_refreshes_later(
    hf_app: tuple[App, FakeClock, Ticks], server: FakeHF
) -> None:
    app, clock, ticks = hf_app
    await app.papers.upsert([featured(1, 0), featured(2, 3), featured(3, 9)])
    server.repos["2611.10001"] = repos()
    report = await artifact_round(app)
    # The paper of 9 days ago is not recent: never looked up.
    assert server.paths() == ["/api/arxiv/2611.10001/repos", "/api/arxiv/2611.10002/repos"]
    assert (report.checked, report.changed) == (2, 2)
    one = await app.papers.get("2611.10001")
    assert one is not None and one.artifacts is not None
    assert one.artifacts.summary() == "3 models, 1 dataset, 2 Spaces"
    two = await app.papers.get("2611.10002")
    assert two is not None and two.artifacts == Artifacts()  # looked up: nothing cites it
    old = await app.papers.get("2611.10003")
    assert old is not None and old.artifacts is None  # never looked up

    # Nothing is due again before the refresh time.
    server.requests.clear()
    clock.advance(hours=11)
    ticks.now += 600
    assert (await artifact_round(app)).checked == 0
    assert server.paths() == []

    # After it, both are looked up again and the change is stored, the unchanged one kept.
    clock.advance(hours=2)
    server.repos["2611.10001"]["spaces"] = []
    report = await artifact_round(app)
    assert (report.checked, report.changed) == (2, 1)
    one = await app.papers.get("2611.10001")
    assert one is not None and one.artifacts is not None and one.artifacts.spaces == 0


async def test_the_round_stops_at_the_budget_the_poll_shares(
    hf_app: tuple[App, FakeClock, Ticks], server: FakeHF
) -> None:
    app, _, ticks = hf_app
    await app.papers.upsert([featured(n, 0) for n in range(1, 9)])
    source = app.source
    assert isinstance(source, HuggingFaceClient)
    await source.daily_papers(NOW.date())  # a poll spent 1 of the budget of 5
    report = await artifact_round(app)
    assert (report.checked, report.due, report.stopped) == (4, 8, "budget")
    assert len(server.requests) == 5
    ticks.now += 301  # 5 minutes later the window is empty again: the rest goes
    report = await artifact_round(app)
    assert (report.checked, report.due) == (4, 4)


async def test_a_failing_source_pauses_the_round_and_loses_nothing(
    hf_app: tuple[App, FakeClock, Ticks], server: FakeHF
) -> None:
    app, _, ticks = hf_app
    await app.papers.upsert([featured(1, 0), featured(2, 0)])
    server.script(Scripted(429, {"Retry-After": "600"}, {"error": "rate limited"}))
    report = await artifact_round(app)
    assert report.checked == 0 and report.stopped and "try again in 600 s" in report.stopped
    ticks.now += 301
    report = await artifact_round(app)
    assert report.checked == 2  # both still due


async def test_the_sample_source_looks_nothing_up(app: App) -> None:
    await app.papers.upsert([featured(1, 0)])
    assert (await artifact_round(app)).checked == 0


async def test_artifacts_are_stored_read_back_and_move_the_day_version(app: App) -> None:
    await app.papers.upsert([featured(1, 0)])
    day = NOW.date()
    before = (await app.papers.day_versions(day, day))[day]
    found = Artifacts(2, 0, 1, top=(ArtifactRef("models", "a/b"), ArtifactRef("spaces", "c/d")))
    later = NOW + timedelta(minutes=5)
    assert await app.papers.save_artifacts("2611.10001", found, later)
    assert not await app.papers.save_artifacts("2611.10001", found, later)  # unchanged
    paper = await app.papers.get("2611.10001")
    assert paper is not None and paper.artifacts == found
    after = (await app.papers.day_versions(day, day))[day]
    assert after != before  # a cached day index of has:model sees the new counts
    # A later poll of the daily list (an upsert) leaves the artifacts as they are.
    await app.papers.upsert([featured(1, 0)])
    paper = await app.papers.get("2611.10001")
    assert paper is not None and paper.artifacts == found


async def test_subscribe_and_why_speak_has_model(bot: TestBot) -> None:
    today = bot.app.clock().date()
    await bot.app.papers.upsert(
        [
            Paper(id="2501.00001", title="Diffusion with weights", featured_on=(today,)),
            Paper(id="2501.00002", title="Diffusion without", featured_on=(today,)),
        ]
    )
    cited = Artifacts(models=2, spaces=1, top=(ArtifactRef("models", "a/b"),))
    await bot.app.papers.save_artifacts("2501.00001", cited, bot.app.clock())
    text = await bot.text("/subscribe diffusion has:model")
    assert "It would have matched 1 paper in the last 7 days" in text
    why = " ".join((await bot.text("/why 2501.00001 #1")).split())
    assert "has:model" in why and "2 models" in why
    why = " ".join((await bot.text("/why 2501.00002 #1")).split())
    assert "does not match" in why
    bad = await bot.text("/subscribe diffusion has:weights")
    assert bad.count("\n") <= 3
    assert 'Unknown "has:weights" (use has:code, has:model, has:dataset or has:space)' in bad


async def test_migration_0014_keeps_the_ledger_trigger_both_ways(db_url: str) -> None:
    """0014 alters `papers` in place: a rebuild would drop the trigger 0011 put on it."""
    import asyncio

    from sqlalchemy import text

    from alembic import command
    from bot.storage.db import alembic_config, make_engine

    if not db_url.startswith("sqlite"):
        pytest.skip("a SQLite promise: PostgreSQL alters in place anyway")
    cfg = alembic_config(db_url)
    engine = make_engine(db_url)

    async def triggers() -> set[str]:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT name FROM sqlite_master WHERE type='trigger'"))
            return {r[0] for r in rows}

    try:
        assert "deliveries_of_paper" in await triggers()
        await asyncio.to_thread(command.downgrade, cfg, "0013")
        assert "deliveries_of_paper" in await triggers()
        await asyncio.to_thread(command.upgrade, cfg, "head")
        assert "deliveries_of_paper" in await triggers()
    finally:
        await engine.dispose()
