"""ArxivClient against a local fake of the arXiv export API, over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from bot.sources import ArxivClient, SourceError
from bot.sources.arxiv import parse_feed, title_query
from tests.fakes.arxiv_server import FakeArxiv

FIXTURES = Path(__file__).parent / "fixtures" / "arxiv"


def feed(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


@pytest.fixture
async def server() -> AsyncIterator[FakeArxiv]:
    async with FakeArxiv() as fake:
        yield fake


def client(server: FakeArxiv, **kwargs: Any) -> ArxivClient:
    options: dict[str, Any] = {"min_interval": 0.0, "backoff_base": 0.01, "timeout": 5}
    options.update(kwargs)
    return ArxivClient(base_url=server.url, **options)


async def test_get_parses_the_entry(server: FakeArxiv) -> None:
    server.by_id["2611.04217"] = feed("entry.xml")
    async with client(server) as arxiv:
        paper = await arxiv.get("arXiv:2611.04217v2")
    assert server.hits[0].query == {"id_list": "2611.04217", "max_results": "1"}
    assert server.hits[0].headers["User-Agent"].startswith("paperbot/")
    assert paper is not None
    assert paper.id == "2611.04217"  # version suffix stripped
    assert paper.title == (
        "Sparse Rehearsal: Keeping Small Language Models Honest Under Continual Instruction Tuning"
    )
    assert paper.abstract.startswith("Continual instruction tuning lets small language models")
    assert paper.abstract.endswith("Rehearsal & show it keeps 97% of earlier accuracy.")
    assert paper.authors == ("Ines Calloway", "Tomás Ferreira", "Hyun-woo Baek")
    assert paper.published_at == datetime(2026, 11, 12, 18, 44, 5, tzinfo=UTC)
    assert paper.featured_on == () and paper.upvotes == 0


async def test_unknown_id_is_none(server: FakeArxiv) -> None:
    server.by_id["1234.12345"] = feed("error.xml")
    async with client(server) as arxiv:
        assert await arxiv.get("2611.99999") is None  # empty feed
        assert await arxiv.get("1234.12345") is None  # error entry
        assert await arxiv.get("not an id at all") is None  # never sent
    assert len(server.hits) == 2


async def test_search_title_builds_a_title_query(server: FakeArxiv) -> None:
    server.search_feed = feed("title_search.xml")
    async with client(server) as arxiv:
        papers = await arxiv.search_title("Sparse  Rehearsal AND", limit=5)
    assert server.hits[0].query["search_query"] == "ti:sparse AND ti:rehearsal AND ti:and"
    assert server.hits[0].query["max_results"] == "5"
    assert [p.id for p in papers] == ["2611.04217", "hep-ex/0412077"]
    # Offsets are converted: 09:30 at -05:00 is 14:30 UTC.
    assert papers[1].published_at == datetime(2004, 12, 21, 14, 30, tzinfo=UTC)


def test_title_query_ignores_punctuation() -> None:
    assert title_query('"Attention" (is) all: you-need!') == (
        "ti:attention AND ti:is AND ti:all AND ti:you AND ti:need"
    )
    assert title_query(" ?! ") is None


async def test_requests_are_spaced_by_min_interval(server: FakeArxiv) -> None:
    server.by_id["2611.04217"] = feed("entry.xml")
    async with client(server, min_interval=0.2) as arxiv:
        # Fired together on purpose: the throttle must serialise and space them.
        await asyncio.gather(*(arxiv.get("2611.04217") for _ in range(4)))
    times = [hit.at for hit in server.hits]
    assert len(times) == 4
    gaps = [b - a for a, b in pairwise(times)]
    assert min(gaps) >= 0.19, gaps


async def test_empty_body_is_retried(server: FakeArxiv) -> None:
    server.by_id["2611.04217"] = feed("entry.xml")
    server.queued.append((200, ""))
    async with client(server) as arxiv:
        paper = await arxiv.get("2611.04217")
    assert paper is not None and len(server.hits) == 2


async def test_unreadable_feed_is_a_source_error(server: FakeArxiv) -> None:
    server.queued.append((200, "<html><body>Service Unavailable</body></html>"))
    async with client(server) as arxiv:
        with pytest.raises(SourceError, match="arXiv"):
            await arxiv.get("2611.04217")


def test_doctype_is_refused() -> None:
    evil = (
        b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY x "boom">]>'
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>&x;</title></feed>'
    )
    with pytest.raises(ValueError, match="DOCTYPE"):
        parse_feed(evil)


_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE feed [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">\n'
        for i in range(1, 10)
    )
    + ']>\n<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&lol9;</title>'
    "<id>http://arxiv.org/abs/2611.04217v1</id><summary>s</summary></entry></feed>"
)
_EXTERNAL = (
    '<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    '<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&x;</title>'
    "<id>http://arxiv.org/abs/2611.04217v1</id><summary>s</summary></entry></feed>"
)
HOSTILE = {
    "billion laughs": _LAUGHS.encode(),
    "external entity": _EXTERNAL.encode(),
    # UTF-16 hides "<!DOCTYPE" from a byte search: the parser itself must refuse it.
    "external entity, UTF-16": _EXTERNAL.replace('"1.0"?>', '"1.0" encoding="UTF-16"?>').encode(
        "utf-16"
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_feed_is_refused_not_expanded(name: str) -> None:
    with pytest.raises(ValueError, match="DOCTYPE or entities, refused") as exc:
        parse_feed(HOSTILE[name])
    assert "lol" not in str(exc.value) and "root:" not in str(exc.value)


@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_hostile_feed_from_arxiv_is_a_source_error(server: FakeArxiv, name: str) -> None:
    server.queued.append((200, HOSTILE[name]))
    async with client(server) as arxiv:
        with pytest.raises(SourceError, match="not a readable feed") as exc:
            await arxiv.get("2611.04217")
    assert isinstance(exc.value.__cause__, ValueError)
    assert "DOCTYPE or entities" in str(exc.value.__cause__)


async def test_cancelled_waiter_does_not_block_the_throttle(server: FakeArxiv) -> None:
    server.by_id["2611.04217"] = feed("entry.xml")
    throttled = asyncio.Event()

    async def sleep(seconds: float) -> None:
        throttled.set()  # no request fails here, so the only wait is the throttle's
        await asyncio.sleep(seconds)

    async with client(server, min_interval=0.3, sleep=sleep) as arxiv:
        await arxiv.get("2611.04217")
        waiting = asyncio.create_task(arxiv.get("2611.04217"))
        await asyncio.wait_for(throttled.wait(), 5)  # it is now waiting inside the throttle
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        paper = await asyncio.wait_for(arxiv.get("2611.04217"), timeout=2)
    assert paper is not None
    assert len(server.hits) == 2
