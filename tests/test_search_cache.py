"""The per-day search cache stays true to the database: edits, new days, other processes.

Each test searches once (so the days are cached), changes the stored papers behind the
cache's back, and searches again: the answer must be what the uncached path says now.
Upvote changes and new papers are checked with the clock fixed between writes, the hardest
case for a version check (no `updated_at` moves); text edits with the clock moving, as every
real writer's does (see `DayVersion`).
"""

from __future__ import annotations

from datetime import date, timedelta

from bot.app import App, build_app
from bot.papers import Paper
from bot.query import parse_query
from bot.services.search import (
    SearchResult,
    recent_papers,
    search_papers,
    search_recent,
)
from bot.settings import load_settings
from tests.helpers import FakeClock, TestBot

TODAY = date(2024, 12, 24)  # the FakeClock's day


def paper(pid: str, title: str, *, days_ago: int = 0, upvotes: int = 1, **kw: object) -> Paper:
    day = TODAY - timedelta(days=days_ago)
    return Paper(id=pid, title=title, featured_on=(day,), upvotes=upvotes, **kw)  # type: ignore[arg-type]


CORPUS = [
    paper("2412.00001", "Diffusion for Video", upvotes=5, abstract="Latent video synthesis."),
    paper("2412.00002", "Agents that Plan", days_ago=1, upvotes=40),
    paper("2412.00003", "Diffusion Models for Audio", days_ago=2, upvotes=12),
    paper("2412.00004", "Rain Forecasting", days_ago=3, upvotes=25, abstract="Radar data."),
    paper("2412.00005", "Old Diffusion Survey", days_ago=20, upvotes=99),
]


async def both(app: App, days: int, text: str) -> tuple[SearchResult, SearchResult]:
    """The cached answer and the uncached one (today's path: load the window, match it)."""
    query = parse_query(text)
    cached = await search_recent(app, days, query)
    papers = await recent_papers(app, days)
    return cached, SearchResult(len(papers), await search_papers(papers, query))


async def same(app: App, days: int, text: str) -> SearchResult:
    cached, fresh = await both(app, days, text)
    assert cached == fresh, text
    return cached


def ids(result: SearchResult) -> list[str]:
    return [p.id for p, _ in result.found]


async def test_a_year_long_search_is_the_uncached_answer(app: App) -> None:
    await app.papers.upsert(CORPUS)
    for days in (1, 7, 30, 365):
        for text in ("diffusion", "diffusion -audio", "title:rain OR agents", "upvotes>=20"):
            await same(app, days, text)
    assert ids(await same(app, 30, "diffusion")) == ["2412.00005", "2412.00003", "2412.00001"]


async def test_days_are_indexed_once_and_reused_by_every_window(app: App) -> None:
    await app.papers.upsert(CORPUS)
    await same(app, 30, "diffusion")
    assert app.search_index.stats.built == 5  # five featured days
    await same(app, 7, "agents")
    await same(app, 30, "rain")
    assert app.search_index.stats.built == 5


async def test_an_upvote_change_reranks_without_moving_the_clock(
    app: App, clock: FakeClock
) -> None:
    await app.papers.upsert(CORPUS, now=clock())
    assert ids(await same(app, 7, "diffusion")) == ["2412.00003", "2412.00001"]
    assert ids(await same(app, 7, "diffusion upvotes>=10")) == ["2412.00003"]
    await app.papers.upsert([paper("2412.00001", "Diffusion for Video", upvotes=50)], now=clock())
    assert ids(await same(app, 7, "diffusion")) == ["2412.00001", "2412.00003"]
    assert ids(await same(app, 7, "diffusion upvotes>=10")) == ["2412.00001", "2412.00003"]
    assert app.search_index.stats.built == 4 + 1  # only that paper's day again


async def test_an_abstract_edit_is_seen(app: App, clock: FakeClock) -> None:
    await app.papers.upsert(CORPUS, now=clock())
    assert ids(await same(app, 7, "radar")) == ["2412.00004"]
    assert ids(await same(app, 7, "sonar")) == []
    edited = paper("2412.00004", "Rain Forecasting", days_ago=3, upvotes=25, abstract="Sonar!")
    # The freshest snapshot wins (its featured day is the latest stored), so this replaces it.
    clock.advance(seconds=1)
    await app.papers.upsert([edited], now=clock())
    assert ids(await same(app, 7, "radar")) == []
    result = await same(app, 7, "sonar")
    assert ids(result) == ["2412.00004"]
    assert result.found[0][0].abstract == "Sonar!"


async def test_a_title_edit_on_a_later_clock_is_seen(app: App, clock: FakeClock) -> None:
    await app.papers.upsert(CORPUS, now=clock())
    assert ids(await same(app, 7, "forecasting")) == ["2412.00004"]
    clock.advance(minutes=5)
    renamed = paper("2412.00004", "Rain Nowcasting", days_ago=3, upvotes=25, abstract="Radar data.")
    await app.papers.upsert([renamed], now=clock())
    assert ids(await same(app, 7, "forecasting")) == []
    assert ids(await same(app, 7, "nowcasting")) == ["2412.00004"]


async def test_a_new_day_is_added_and_the_others_reused(app: App, clock: FakeClock) -> None:
    await app.papers.upsert(CORPUS, now=clock())
    await same(app, 30, "diffusion")
    built = app.search_index.stats.built
    clock.advance(days=1)  # tomorrow's list comes in
    tomorrow = Paper("2412.00010", "Diffusion Tomorrow", featured_on=(TODAY + timedelta(1),))
    await app.papers.upsert([tomorrow], now=clock())
    result = await same(app, 30, "diffusion")
    assert "2412.00010" in ids(result)
    assert app.search_index.stats.built == built + 1


async def test_a_paper_featured_again_counts_once_and_shows_both_days(
    app: App, clock: FakeClock
) -> None:
    await app.papers.upsert(CORPUS, now=clock())
    await same(app, 30, "diffusion")
    again = paper("2412.00005", "Old Diffusion Survey", upvotes=99)  # featured today too
    await app.papers.upsert([again], now=clock())
    result = await same(app, 30, "diffusion")
    assert ids(result).count("2412.00005") == 1
    survey = result.found[0][0]
    assert survey.featured_on == (TODAY - timedelta(days=20), TODAY)
    assert result.papers == 5


async def test_a_paper_another_process_stores_is_found(app: App, clock: FakeClock) -> None:
    await app.papers.upsert(CORPUS, now=clock())
    assert ids(await same(app, 7, "agents")) == ["2412.00002"]
    other = build_app(load_settings({"DATABASE_URL": app.settings.database_url}), clock=clock)
    try:
        # Another process adds a paper to a day this one has cached, and edits another.
        await other.papers.upsert(
            [
                paper("2412.00020", "More Agents", days_ago=1, upvotes=3),
                paper("2412.00002", "Agents that Plan", days_ago=1, upvotes=41, abstract="Tools."),
            ],
            now=clock(),
        )
        assert ids(await same(other, 7, "agents")) == ["2412.00002", "2412.00020"]
    finally:
        await other.close()
    result = await same(app, 7, "agents tools OR more")
    assert ids(result) == ["2412.00002", "2412.00020"]
    assert result.found[0][0].upvotes == 41


async def test_deleted_papers_leave_the_cache(app: App) -> None:
    await app.papers.upsert([paper("sample-01", "Sample Diffusion"), *CORPUS[1:2]])
    assert ids(await same(app, 7, "diffusion")) == ["sample-01"]
    await app.papers.delete_sample(only_beside_real=False)
    assert ids(await same(app, 7, "diffusion")) == []
    assert (await same(app, 7, "agents")).papers == 1


async def test_the_search_command_reads_the_index(bot: TestBot) -> None:
    await bot.app.papers.upsert(CORPUS)
    assert "matches 3 of 5 papers of the last 30 days" in await bot.text(
        "search diffusion --days 30"
    )
    await bot.app.papers.upsert([paper("2412.00030", "Diffusion Again", upvotes=7)])
    text = await bot.text("search diffusion --days 30")
    assert "matches 4 of 6 papers of the last 30 days" in text
    assert "Diffusion Again" in text
