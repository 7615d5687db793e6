"""HuggingFaceClient against a local fake of the HF papers API, over real HTTP."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.sources import HuggingFaceClient, SourceError, parse_daily_item, parse_daily_items
from bot.sources.http import retry_after_seconds
from tests.fakes.hf_server import FakeHF, Scripted

FIXTURES = Path(__file__).parent / "fixtures" / "hf"
TODAY = date(2026, 11, 17)  # a Tuesday
SECRET = "hf_TESTtokenDoNotLog123"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def make_item(n: int, day: date, upvotes: int = 1) -> dict[str, Any]:
    """A real-shaped item with its own id, title and featured day."""
    item = copy.deepcopy(load("daily_item.json"))
    item["paper"]["id"] = f"2611.{10000 + n}"
    item["paper"]["title"] = item["title"] = f"Paper number {n}"
    item["paper"]["submittedOnDailyAt"] = f"{day.isoformat()}T08:00:00.000Z"
    item["paper"]["upvotes"] = upvotes
    return item


class RecordingSleep:
    """Stands in for asyncio.sleep so rate-limit waits are checked without waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
async def server() -> AsyncIterator[FakeHF]:
    async with FakeHF() as fake:
        yield fake


def client(server: FakeHF, **kwargs: Any) -> HuggingFaceClient:
    options: dict[str, Any] = {"backoff_base": 0.01, "timeout": 5, "today": lambda: TODAY}
    options.update(kwargs)
    return HuggingFaceClient(base_url=server.url, **options)


async def test_pages_until_a_short_page(server: FakeHF) -> None:
    server.days[TODAY.isoformat()] = [make_item(n, TODAY, 200 - n) for n in range(130)]
    async with client(server) as hf:
        papers = await hf.daily_papers(TODAY)
    assert len(papers) == 130
    assert len({p.id for p in papers}) == 130
    assert [r.query for r in server.requests] == [
        {"date": "2026-11-17", "limit": "100", "p": "0"},
        {"date": "2026-11-17", "limit": "100", "p": "1"},
    ]


async def test_duplicates_across_pages_are_dropped(server: FakeHF) -> None:
    items = [make_item(n, TODAY) for n in range(100)]
    items.append(make_item(5, TODAY))  # the list grew while we paged
    server.days[TODAY.isoformat()] = items
    async with client(server) as hf:
        papers = await hf.daily_papers(TODAY)
    assert len(papers) == 100
    assert len(server.requests) == 2


async def test_429_with_ratelimit_header_waits_t_seconds(server: FakeHF) -> None:
    server.days[TODAY.isoformat()] = [make_item(1, TODAY)]
    server.script(Scripted(429, {"RateLimit": '"api";r=0;t=55'}, {"error": "rate limited"}))
    sleep = RecordingSleep()
    async with client(server, sleep=sleep) as hf:
        papers = await hf.daily_papers(TODAY)
    assert [p.id for p in papers] == ["2611.10001"]
    assert sleep.delays == [55.0]
    assert len(server.requests) == 2


async def test_429_with_retry_after_waits(server: FakeHF) -> None:
    server.days[TODAY.isoformat()] = [make_item(1, TODAY)]
    server.script(Scripted(429, {"Retry-After": "7"}, {"error": "rate limited"}))
    sleep = RecordingSleep()
    async with client(server, sleep=sleep) as hf:
        assert len(await hf.daily_papers(TODAY)) == 1
    assert sleep.delays == [7.0]


async def test_429_asking_too_long_gives_up_with_retry_after(server: FakeHF) -> None:
    server.script(Scripted(429, {"RateLimit": '"api";r=0;t=290'}, {"error": "rate limited"}))
    async with client(server, max_retry_wait=60) as hf:
        with pytest.raises(SourceError) as err:
            await hf.daily_papers(TODAY)
    assert err.value.retry_after == 290
    assert "290 s" in str(err.value)
    assert len(server.requests) == 1


def test_retry_after_forms() -> None:
    assert retry_after_seconds({"RateLimit": '"api";r=0;t=12'}) == 12
    assert retry_after_seconds({"Retry-After": "3"}) == 3
    now = datetime(2026, 11, 17, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds({"Retry-After": "Tue, 17 Nov 2026 12:00:30 GMT"}, now) == 30
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({}) is None


async def test_500_then_success(server: FakeHF) -> None:
    server.days[TODAY.isoformat()] = [make_item(1, TODAY)]
    server.script(Scripted(500, body={"error": "Internal Error"}))
    sleep = RecordingSleep()
    async with client(server, backoff_base=1.0, sleep=sleep) as hf:
        assert len(await hf.daily_papers(TODAY)) == 1
    assert len(server.requests) == 2
    assert len(sleep.delays) == 1
    assert 1.0 <= sleep.delays[0] <= 1.5  # base, plus up to 50% jitter


async def test_500_forever_raises_source_error(server: FakeHF) -> None:
    server.fail_always(503)
    sleep = RecordingSleep()
    async with client(server, max_retries=3, backoff_base=1.0, sleep=sleep) as hf:
        with pytest.raises(SourceError) as err:
            await hf.daily_papers(TODAY)
    # One sentence naming the service and its address once, for every caller to show as is.
    assert str(err.value) == (
        f"Hugging Face at {server.url} did not answer after 4 tries (last: HTTP 503)."
    )
    assert not err.value.slow
    assert len(server.requests) == 4
    # Exponential from the base, each with up to 50% jitter on top.
    assert len(sleep.delays) == 3
    for delay, base in zip(sleep.delays, [1, 2, 4], strict=True):
        assert base <= delay <= base * 1.5


async def test_other_4xx_is_a_source_error_without_retry(server: FakeHF) -> None:
    server.script(Scripted(400, body={"error": "Invalid date"}))
    async with client(server) as hf:
        with pytest.raises(SourceError, match="refused the request"):
            await hf.daily_papers(TODAY)
    assert len(server.requests) == 1


async def test_unreachable_server_is_a_source_error() -> None:
    async with FakeHF() as gone:
        url = gone.url
    hf = HuggingFaceClient(base_url=url, max_retries=1, backoff_base=0.01, today=lambda: TODAY)
    async with hf:
        with pytest.raises(SourceError, match="connection failed"):
            await hf.daily_papers(TODAY)


async def test_slow_answer_times_out_then_retries(server: FakeHF) -> None:
    server.days[TODAY.isoformat()] = [make_item(1, TODAY)]
    server.script(Scripted(delay=2.0))
    async with client(server, timeout=0.3) as hf:
        papers = await hf.daily_papers(TODAY)
    assert len(papers) == 1
    assert len(server.requests) == 2


async def test_retries_log_at_debug_and_no_warning(
    server: FakeHF, caplog: pytest.LogCaptureFixture
) -> None:
    """An outage is one WARNING by whoever gives up (with context), not one per try."""
    server.fail_always(503)
    with caplog.at_level(logging.DEBUG, logger="bot.sources"):
        async with client(server, max_retries=3, sleep=RecordingSleep()) as hf:
            with pytest.raises(SourceError):
                await hf.daily_papers(TODAY)
    retries = [r for r in caplog.records if "try" in r.getMessage()]
    assert len(retries) == 4 and {r.levelno for r in retries} == {logging.DEBUG}
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_timing_out_every_try_is_a_slow_source_error(server: FakeHF) -> None:
    server.script(Scripted(delay=2.0), Scripted(delay=2.0))
    async with client(server, timeout=0.2, max_retries=1, sleep=RecordingSleep()) as hf:
        with pytest.raises(SourceError) as err:
            await hf.paper("2611.10001")
    assert err.value.slow
    assert str(err.value) == (
        f"Hugging Face at {server.url} did not answer after 2 tries (timed out after 0.2 s)."
    )


async def test_malformed_item_is_skipped_and_logged(
    server: FakeHF, caplog: pytest.LogCaptureFixture
) -> None:
    bad = make_item(2, TODAY)
    bad["paper"]["upvotes"] = "lots"
    no_title = make_item(3, TODAY)
    del no_title["paper"]["title"], no_title["title"]
    server.days[TODAY.isoformat()] = [make_item(1, TODAY), bad, no_title, make_item(4, TODAY)]
    with caplog.at_level(logging.WARNING, logger="bot.sources.huggingface"):
        async with client(server) as hf:
            papers = await hf.daily_papers(TODAY)
    assert [p.id for p in papers] == ["2611.10001", "2611.10004"]
    assert "2611.10002" in caplog.text and "upvotes" in caplog.text
    assert "2611.10003" in caplog.text and "title" in caplog.text


async def test_weekend_day_is_empty(server: FakeHF) -> None:
    saturday = date(2026, 11, 14)
    async with client(server) as hf:
        assert await hf.daily_papers(saturday) == []
    assert len(server.requests) == 1


async def test_future_day_is_not_requested(server: FakeHF) -> None:
    async with client(server) as hf:
        assert await hf.daily_papers(date(2026, 11, 18)) == []
        await hf.daily_papers(TODAY)
    assert [r.query["date"] for r in server.requests] == ["2026-11-17"]


async def test_token_is_sent_as_bearer_and_never_logged(
    server: FakeHF, caplog: pytest.LogCaptureFixture
) -> None:
    server.script(Scripted(500, body={"error": "Internal Error"}))
    with caplog.at_level(logging.DEBUG):
        async with client(server, token=SECRET) as hf:
            await hf.daily_papers(TODAY)
            assert SECRET not in repr(hf)
    assert server.requests[0].headers["Authorization"] == f"Bearer {SECRET}"
    assert caplog.records  # the retry was logged...
    assert SECRET not in caplog.text  # ...without the token


async def test_no_token_no_authorization_header(server: FakeHF) -> None:
    async with client(server) as hf:
        await hf.daily_papers(TODAY)
    assert "Authorization" not in server.requests[0].headers


async def test_user_agent_is_descriptive(server: FakeHF) -> None:
    async with client(server) as hf:
        await hf.daily_papers(TODAY)
    async with client(server, user_agent="paperbot-test/9") as hf:
        await hf.daily_papers(TODAY)
    assert server.requests[0].headers["User-Agent"].startswith("paperbot/")
    assert "+https://" in server.requests[0].headers["User-Agent"]
    assert server.requests[1].headers["User-Agent"] == "paperbot-test/9"


def test_full_item_is_parsed() -> None:
    paper = parse_daily_item(load("daily_item.json"), TODAY)
    assert paper.id == "2611.04217"
    assert paper.title == (
        "Sparse Rehearsal: Keeping Small Language Models Honest Under Continual Instruction Tuning"
    )
    assert "\n" not in paper.abstract and "  " not in paper.abstract
    assert paper.abstract.startswith("Continual instruction tuning lets small language models")
    assert paper.authors == ("Ines Calloway", "Tomás Ferreira", "Hyun-woo Baek")  # hidden one gone
    assert paper.published_at == datetime(2026, 11, 13, tzinfo=UTC)
    assert paper.published_at.tzinfo is not None
    assert paper.featured_on == (date(2026, 11, 17),)
    assert (paper.upvotes, paper.comments) == (42, 3)
    assert paper.github_url == "https://github.com/icalloway/sparse-rehearsal"
    assert paper.github_stars == 128
    assert paper.project_page == "https://sparse-rehearsal.github.io"
    assert paper.ai_summary is not None and "\n" not in paper.ai_summary
    assert paper.ai_keywords[0] == "continual instruction tuning"
    assert paper.organization == "Tidewater Lab"
    assert paper.thumbnail is not None and paper.thumbnail.endswith("/2611.04217.png")


def test_featured_day_prefers_submitted_on_daily_at() -> None:
    item = load("daily_item.json")
    # The requested date loses to submittedOnDailyAt when both are known.
    assert parse_daily_item(item, date(2026, 11, 16)).featured_on == (date(2026, 11, 17),)
    del item["paper"]["submittedOnDailyAt"]
    assert parse_daily_item(item, date(2026, 11, 16)).featured_on == (date(2026, 11, 16),)
    # Newer-format item, no date known: top-level publishedAt is the arXiv date, so unknown.
    assert parse_daily_item(item, None).featured_on == ()


def test_old_item_without_requested_date_uses_top_level_published_at() -> None:
    paper = parse_daily_item(load("daily_item_2024.json"), None)
    assert paper.featured_on == (date(2024, 6, 17),)
    assert paper.published_at == datetime(2024, 6, 14, 17, 58, 31, tzinfo=UTC)
    assert paper.title == "Tiled Attention for Gigapixel Histology Images"
    assert (paper.github_repo, paper.ai_keywords, paper.organization) == (None, (), None)


def test_unknown_keys_are_ignored_and_non_array_is_refused() -> None:
    item = load("daily_item_2024.json")
    item["brandNewKey"] = {"anything": [1, 2]}
    item["paper"]["anotherNewKey"] = True
    papers, skipped = parse_daily_items([item, "not an item"], None)
    assert (len(papers), skipped) == (1, 1)
    with pytest.raises(ValueError, match="JSON array"):
        parse_daily_items({"error": "Invalid date"}, None)  # type: ignore[arg-type]


def test_github_repo_short_form_is_kept() -> None:
    item = load("daily_item.json")
    item["paper"]["githubRepo"] = "icalloway/sparse-rehearsal"
    paper = parse_daily_item(item, None)
    assert paper.github_url == "https://github.com/icalloway/sparse-rehearsal"


async def test_paper_found_and_not_found(server: FakeHF) -> None:
    server.papers["2610.20931"] = load("paper_info.json")
    async with client(server) as hf:
        paper = await hf.paper("https://arxiv.org/abs/2610.20931v3")
        missing = await hf.paper("2610.99999")
        invalid = await hf.paper("not an id")
    assert server.paths() == ["/api/papers/2610.20931", "/api/papers/2610.99999"]
    assert missing is None and invalid is None
    assert paper is not None
    assert paper.title == "Cheap Critics: Small Verifiers for Long-Horizon Agents"
    assert paper.authors == ("Priya Raghunathan", "Oskar Lindqvist")
    assert paper.featured_on == (date(2026, 10, 26),)
    assert paper.github_url == "https://github.com/praghu/cheap-critics"
    assert paper.ai_keywords == ("verifiers", "long-horizon agents", "trajectory scoring")


async def test_search_accepts_both_result_shapes(server: FakeHF) -> None:
    server.search_results = load("search_results.json")
    async with client(server) as hf:
        papers = await hf.search("  verifier\nguided  ", limit=5)
        assert await hf.search("   ") == []
    assert server.requests[0].path == "/api/papers/search"
    assert server.requests[0].query == {"q": "verifier guided", "limit": "5"}
    assert len(server.requests) == 1
    assert [p.id for p in papers] == ["2609.15502", "2508.00914"]
    assert papers[0].featured_on == (date(2026, 9, 18),)
    assert papers[0].comments == 2
    assert papers[1].title == "Process Verifiers at Scale"
    assert papers[1].thumbnail is not None


async def test_search_respects_limit(server: FakeHF) -> None:
    server.search_results = [make_item(n, TODAY) for n in range(8)]
    async with client(server) as hf:
        assert len(await hf.search("paper", limit=3)) == 3


async def test_429_forever_raises_with_retry_after(server: FakeHF) -> None:
    server.fail_always(429)
    sleep = RecordingSleep()
    async with client(server, max_retries=2, sleep=sleep) as hf:
        with pytest.raises(SourceError, match="rate limit") as err:
            await hf.paper("2610.20931")
    assert len(server.requests) == 3
    assert err.value.retry_after is not None
