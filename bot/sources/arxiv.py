"""The arXiv export API client (Atom), used to look up papers HF has not featured.

arXiv's terms allow one request every three seconds over a single connection, so every call
goes through one `Throttle`. Atom is parsed with defusedxml, refusing any DOCTYPE, so no
entity (internal or external, a "billion laughs" or a file URL) is ever expanded.
"""

from __future__ import annotations

import asyncio
import logging
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from bot.papers import Paper, normalize_arxiv_id, normalize_space
from bot.sources.http import (
    DEFAULT_USER_AGENT,
    Closing,
    HttpClient,
    Sleep,
    SourceError,
    Throttle,
)

if TYPE_CHECKING:
    import aiohttp

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://export.arxiv.org"
ATOM = "{http://www.w3.org/2005/Atom}"
_ID_PREFIX_RE = re.compile(r"^https?://(?:www\.|export\.)?arxiv\.org/abs/")
_WORD_RE = re.compile(r"\w+")
MAX_TITLE_TERMS = 12


def _child_text(entry: ET.Element, tag: str) -> str:
    node = entry.find(f"{ATOM}{tag}")
    return normalize_space(node.text or "") if node is not None else ""


def _timestamp(text: str) -> datetime | None:
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def parse_entry(entry: ET.Element) -> Paper | None:
    """Turn one Atom `<entry>` into a `Paper`; None for error entries and empty stubs."""
    raw_id = _child_text(entry, "id")
    if not _ID_PREFIX_RE.match(raw_id):
        return None  # error entries have ids like http://arxiv.org/api/errors#...
    arxiv_id = normalize_arxiv_id(_ID_PREFIX_RE.sub("", raw_id))
    title = _child_text(entry, "title")
    if arxiv_id is None or not title:
        return None
    authors = tuple(
        normalize_space(name.text or "")
        for name in entry.findall(f"{ATOM}author/{ATOM}name")
        if (name.text or "").strip()
    )
    return Paper(
        id=arxiv_id,
        title=title,
        abstract=_child_text(entry, "summary"),
        authors=authors,
        published_at=_timestamp(_child_text(entry, "published")),
    )


def parse_feed(body: bytes) -> list[Paper]:
    """Parse an arXiv Atom feed into papers, dropping error entries; ValueError if unreadable."""
    try:
        # forbid_dtd: arXiv's feeds have none, so any DOCTYPE is refused before it is read.
        root = fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise ValueError(f"feed declares a DOCTYPE or entities, refused: {exc}") from exc
    except ET.ParseError as exc:
        raise ValueError(f"feed is not valid XML: {exc}") from exc
    if root.tag != f"{ATOM}feed":
        raise ValueError(f"root element is {root.tag}, not an Atom feed")
    papers = []
    for entry in root.findall(f"{ATOM}entry"):
        paper = parse_entry(entry)
        if paper is None:
            log.info("arXiv entry skipped: %s", _child_text(entry, "summary")[:200])
            continue
        papers.append(paper)
    return papers


def title_query(text: str) -> str | None:
    """Build a `search_query` that needs every title word (lower-cased: AND/OR are operators)."""
    words = [w.lower() for w in _WORD_RE.findall(text)][:MAX_TITLE_TERMS]
    return " AND ".join(f"ti:{w}" for w in words) if words else None


class ArxivClient(Closing):
    """Look papers up on the arXiv export API, at most one request per `min_interval` seconds."""

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 30,
        max_retries: int = 2,
        backoff_base: float = 3.0,
        max_retry_wait: float = 120.0,
        min_interval: float = 3.0,
        user_agent: str = DEFAULT_USER_AGENT,
        session: aiohttp.ClientSession | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._http = HttpClient(
            name="arXiv",
            base_url=base_url,
            headers={"User-Agent": user_agent, "Accept": "application/atom+xml"},
            timeout=timeout,
            max_retries=max_retries,
            backoff_base=backoff_base,
            max_retry_wait=max_retry_wait,
            session=session,
            sleep=sleep,
            throttle=Throttle(min_interval, sleep),
            # arXiv sometimes answers an empty body to calls that come too fast.
            retry_empty_body=True,
        )

    async def close(self) -> None:
        """Close the HTTP session."""
        await self._http.close()

    async def _query(self, params: dict[str, str | int]) -> list[Paper]:
        response = await self._http.get("/api/query", params)
        if response.status == 404:
            return []
        try:
            return parse_feed(response.body)
        except ValueError as exc:
            log.warning("arXiv answer refused: %s", exc)
            raise SourceError("arXiv sent an answer that is not a readable feed.") from exc

    async def get(self, arxiv_id: str) -> Paper | None:
        """Fetch one paper by arXiv id (any version); None if arXiv does not know it."""
        bare = normalize_arxiv_id(arxiv_id)
        if bare is None:
            return None
        papers = await self._query({"id_list": bare, "max_results": 1})
        return next((p for p in papers if p.id == bare), None)

    async def search_title(self, text: str, limit: int = 5) -> list[Paper]:
        """Find papers whose title holds all the words of `text`, most relevant first."""
        query = title_query(text)
        if query is None or limit <= 0:
            return []
        params: dict[str, str | int] = {
            "search_query": query,
            "max_results": limit,
            "sortBy": "relevance",
        }
        return (await self._query(params))[:limit]
