"""The Hugging Face Daily Papers client and the parser for its JSON items.

Field facts (which keys exist when, and their quirks) are in the HF API notes; the parser is
lenient: optional keys may be absent, unknown keys are ignored, and a malformed item is logged
with its id and skipped instead of failing the whole day. Text is cleaned of what no database
stores or no reader should see (`bot.text`), and counters are clamped to what the
columns hold, so one odd item cannot stop a day's ingest.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from bot.papers import (
    ARTIFACT_KINDS,
    ArtifactRef,
    Artifacts,
    Paper,
    normalize_arxiv_id,
    normalize_space,
)
from bot.sources.http import (
    DEFAULT_USER_AGENT,
    Closing,
    HttpClient,
    RequestWindow,
    Sleep,
    SourceError,
    Throttle,
)
from bot.sources.text import clamp_count
from bot.text import clean as clean_text

if TYPE_CHECKING:
    import aiohttp

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://huggingface.co"
PAGE_SIZE = 100  # the endpoint's maximum; 101 is refused
MAX_PAGES = 20  # a day has ~25 papers; this only stops a server that ignores `p`
_GITHUB_SHORT_RE = re.compile(r"^[\w.-]+/[\w.-]+$")
# Hugging Face usernames and organisation handles (what author:@… and org: compare with).
_HANDLE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
# A Hugging Face repo id, "owner/name": the only form of a citing repo we keep to show. Repo
# names are untrusted text; this leaves no markup but `_`, which renderers escape.
_REPO_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9._-]{1,96}")
TOP_ARTIFACTS = 3  # of each kind, most liked first: what a card links


def utc_today() -> date:
    """Return today's date in UTC (the calendar HF's `date=` uses)."""
    return datetime.now(UTC).date()


def parse_timestamp(value: object) -> datetime | None:
    """Parse an HF ISO timestamp (`...T..:..:..000Z`) into an aware UTC datetime."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"timestamp {value!r} is not a string")
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _pick(paper: dict[str, Any], top: dict[str, Any], key: str) -> Any:
    # Daily items keep enrichment inside `paper`; /api/papers/{id} puts everything at top level.
    value = paper.get(key)
    return top.get(key) if value is None else value


def _clean(value: str) -> str:
    return normalize_space(clean_text(value))


def _text(value: object, key: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"'{key}' is not a string")
    return _clean(value)


def _int(value: object, key: str, default: int | None) -> int | None:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"'{key}' is not an integer")
    return clamp_count(value)


def _authors(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError("'authors' is not a list")
    names = []
    for author in value:
        # One odd author entry should not cost us the whole paper.
        if not isinstance(author, dict) or author.get("hidden") is True:
            continue
        name = author.get("name")
        if isinstance(name, str) and (clean := _clean(name)):
            names.append(clean)
    return tuple(names)


def _claimed(value: object) -> tuple[tuple[str, str], ...]:
    """(name, username) of the visible authors whose claim Hugging Face verified.

    The real shape: an author's `user` object (with its `user` username) and `status`
    "claimed_verified"; an unverified claim is not an identity to follow.
    """
    if not isinstance(value, list):
        return ()
    out = []
    for author in value:
        if not isinstance(author, dict) or author.get("hidden") is True:
            continue
        user, name = author.get("user"), author.get("name")
        if author.get("status") != "claimed_verified" or not isinstance(user, dict):
            continue
        handle = user.get("user")
        valid = isinstance(handle, str) and _HANDLE_RE.fullmatch(handle)
        if valid and isinstance(name, str) and (clean := _clean(name)):
            out.append((clean, str(handle)))
    return tuple(out)


def _organization_handle(value: object) -> str | None:
    if not isinstance(value, dict):
        return None
    handle = value.get("name")
    return handle if isinstance(handle, str) and _HANDLE_RE.fullmatch(handle) else None


def _keywords(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    words = (_clean(w) for w in value if isinstance(w, str))
    return tuple(dict.fromkeys(w for w in words if w))


def _github_repo(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    repo = clean_text(value).strip().rstrip("/")
    if repo.startswith(("https://", "http://")) or _GITHUB_SHORT_RE.match(repo):
        return repo
    return None


def _organization(value: object) -> str | None:
    if not isinstance(value, dict):
        return None
    name = value.get("fullname") or value.get("name")
    return (_clean(name) or None) if isinstance(name, str) else None


def _url(value: object) -> str | None:
    return (clean_text(value).strip() or None) if isinstance(value, str) else None


def _featured_day(
    paper: dict[str, Any], top: dict[str, Any], requested: date | None
) -> tuple[date, ...]:
    """Pick the day the paper was on Daily Papers.

    `paper.submittedOnDailyAt` (since 2025-03-17) is the truth; else the date we asked for.
    With no requested date (saved files), old items fall back to the top-level `publishedAt`,
    which meant "added to Daily Papers" until 2025-03 (right for ~83% of them). Items of the
    newer format (they carry a top-level `summary`) use that key for the arXiv date instead,
    so without `submittedOnDailyAt` their featured day is unknown and left empty.
    """
    featured = parse_timestamp(paper.get("submittedOnDailyAt"))
    if featured is not None:
        return (featured.date(),)
    if requested is not None:
        return (requested,)
    if "summary" not in top and top is not paper:
        published = parse_timestamp(top.get("publishedAt"))
        if published is not None:
            return (published.date(),)
    return ()


def parse_paper(paper: dict[str, Any], top: dict[str, Any], requested: date | None) -> Paper:
    """Build a `Paper` from an HF paper object and the item around it (may be the same dict)."""
    raw_id = paper.get("id")
    if not isinstance(raw_id, str):
        raise ValueError("missing paper id")
    arxiv_id = normalize_arxiv_id(raw_id)
    if arxiv_id is None:
        raise ValueError(f"paper id {raw_id!r} is not an arXiv id")
    title = _text(paper.get("title") or top.get("title"), "title")
    if not title:
        raise ValueError("missing title")
    return Paper(
        id=arxiv_id,
        title=title,
        abstract=_text(_pick(paper, top, "summary"), "summary"),
        authors=_authors(_pick(paper, top, "authors")),
        published_at=parse_timestamp(paper.get("publishedAt")),
        featured_on=_featured_day(paper, top, requested),
        upvotes=_int(_pick(paper, top, "upvotes"), "upvotes", 0) or 0,
        comments=_int(top.get("numComments"), "numComments", 0) or 0,
        github_repo=_github_repo(_pick(paper, top, "githubRepo")),
        github_stars=_int(_pick(paper, top, "githubStars"), "githubStars", None),
        project_page=_url(_pick(paper, top, "projectPage")),
        ai_summary=_text(_pick(paper, top, "ai_summary"), "ai_summary") or None,
        ai_keywords=_keywords(_pick(paper, top, "ai_keywords")),
        organization=_organization(top.get("organization") or paper.get("organization")),
        organization_handle=_organization_handle(
            top.get("organization") or paper.get("organization")
        ),
        claimed=_claimed(_pick(paper, top, "authors")),
        thumbnail=_url(top.get("thumbnail") or top.get("thumbnailUrl")),
    )


def parse_daily_item(item: dict[str, Any], requested: date | None) -> Paper:
    """Parse one `/api/daily_papers` item; raise ValueError naming what is wrong."""
    if not isinstance(item, dict):
        raise ValueError("item is not a JSON object")
    paper = item.get("paper")
    if not isinstance(paper, dict):
        raise ValueError("missing 'paper' object")
    return parse_paper(paper, item, requested)


def _item_id(item: object) -> str:
    if isinstance(item, dict):
        paper = item.get("paper")
        raw = paper.get("id") if isinstance(paper, dict) else item.get("id")
        if raw is not None:
            return str(raw)[:40]
    return "?"


def parse_daily_items(items: list[Any], requested: date | None) -> tuple[list[Paper], int]:
    """Parse a daily_papers array; return the papers (first of each id) and how many were skipped.

    `requested` is the `date=` the array answered; pass None for saved files of unknown date
    (see `_featured_day` for the fallback).
    """
    if not isinstance(items, list):
        raise ValueError(f"expected a JSON array of daily papers, got {type(items).__name__}")
    papers: dict[str, Paper] = {}
    skipped = 0
    for index, item in enumerate(items):
        try:
            paper = parse_daily_item(item, requested)
        except ValueError as exc:
            skipped += 1
            log.warning("skipping daily paper %s (item %s): %s", _item_id(item), index, exc)
            continue
        papers.setdefault(paper.id, paper)
    return list(papers.values()), skipped


def _likes(repo: dict[str, Any]) -> tuple[int, int]:
    def number(key: str) -> int:
        v = repo.get(key)
        return v if isinstance(v, int) and not isinstance(v, bool) else 0

    return number("likes"), number("downloads")


def parse_artifacts(obj: object) -> Artifacts:
    """Read a `GET /api/arxiv/{id}/repos` answer: `{"models": [...], "datasets": [...],
    "spaces": [...]}`, each a list of repo objects with at least `id` ("owner/name").

    The shape is the one the shared API notes give (`../shared/specs/huggingface-papers-api.md`,
    section 2: `{models:[], datasets:[], spaces:[]}`, "HF repos that cite the paper"); each
    repo is the `/api/models`-style object (`id`, `likes`, `downloads`, ...). The notes give the
    lists no cap, so their lengths are taken as the totals: the `numTotal*` fields are only on
    `/api/papers/{id}`, and fetching that too would double the requests a look-up costs.
    Lenient like the daily parser: a missing list counts 0, an item that is not a repo object
    still counts (it is one citing repo) but is never shown, and extra keys are ignored.
    """
    if not isinstance(obj, dict):
        raise SourceError("Hugging Face sent linked repos in an unexpected shape.")
    counts: list[int] = []
    top: list[ArtifactRef] = []
    for kind in ARTIFACT_KINDS:
        repos = obj.get(kind)
        repos = repos if isinstance(repos, list) else []
        counts.append(clamp_count(len(repos)))
        shown = [r for r in repos if isinstance(r, dict) and isinstance(r.get("id"), str)]
        shown = [r for r in shown if _REPO_ID_RE.fullmatch(r["id"])]
        shown.sort(key=_likes, reverse=True)  # stable: HF's own order breaks ties
        top += [ArtifactRef(kind, r["id"]) for r in shown[:TOP_ARTIFACTS]]
    models, datasets, spaces = counts
    return Artifacts(models, datasets, spaces, top=tuple(top))


class HuggingFaceClient(Closing):
    """Read Daily Papers, single papers and search results from the Hugging Face Hub API."""

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        token: str | None = None,
        timeout: float = 30,
        max_retries: int = 3,
        backoff_base: float = 1.0,
        max_retry_wait: float = 120.0,
        user_agent: str = DEFAULT_USER_AGENT,
        today: Callable[[], date] = utc_today,
        session: aiohttp.ClientSession | None = None,
        sleep: Sleep = asyncio.sleep,
        window: RequestWindow | None = None,
        artifact_interval: float = 0.0,
    ) -> None:
        headers = {"User-Agent": user_agent, "Accept": "application/json"}
        # Every request to Hugging Face is counted here, whoever makes it (poll, commands,
        # artifact look-ups): one budget against their limit.
        self.window = window or RequestWindow()
        # Artifact look-ups come in runs of dozens: spaced out, they never burst, and a
        # command's request waits behind at most one of them.
        self._artifact_throttle = Throttle(artifact_interval, sleep=sleep)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._today = today
        self._http = HttpClient(
            name="Hugging Face",
            base_url=base_url,
            headers=headers,
            timeout=timeout,
            max_retries=max_retries,
            backoff_base=backoff_base,
            max_retry_wait=max_retry_wait,
            session=session,
            sleep=sleep,
            window=self.window,
        )

    def __repr__(self) -> str:
        return f"HuggingFaceClient(base_url={self._http.base_url!r})"  # never show the token

    async def close(self) -> None:
        """Close the HTTP session."""
        await self._http.close()

    async def _get_json(
        self,
        path: str,
        params: dict[str, str | int] | None = None,
        throttle: Throttle | None = None,
    ) -> Any:
        response = await self._http.get(path, params, throttle=throttle)
        if response.status == 404:
            return None
        try:
            return json.loads(response.body)
        except ValueError as exc:
            raise SourceError("Hugging Face sent an answer that is not JSON.") from exc

    async def daily_papers(self, day: date) -> list[Paper]:
        """Fetch every paper featured on `day` (UTC); [] for weekends and future days."""
        papers, _ = parse_daily_items(await self.daily_items(day), day)
        return papers

    async def daily_items(self, day: date) -> list[Any]:
        """The `GET /api/daily_papers` items of `day` as Hugging Face sent them, every page."""
        if day > self._today():
            log.debug("not asking HF for %s: it is in the future (UTC)", day)
            return []
        items: list[Any] = []
        seen: set[str] = set()
        for page in range(MAX_PAGES):
            params: dict[str, str | int] = {"date": day.isoformat(), "limit": PAGE_SIZE, "p": page}
            answer = await self._get_json("/api/daily_papers", params)
            if not isinstance(answer, list):
                raise SourceError("Hugging Face sent daily papers in an unexpected shape.")
            parsed, skipped = parse_daily_items(answer, day)
            new = {p.id for p in parsed} - seen
            seen |= new
            items.extend(answer)
            log.debug("HF %s page %s: %s items, %s skipped", day, page, len(answer), skipped)
            if len(answer) < PAGE_SIZE or not new:
                break
        return items

    async def paper(self, arxiv_id: str) -> Paper | None:
        """Fetch one paper by arXiv id; None if HF does not know it."""
        bare = normalize_arxiv_id(arxiv_id)
        if bare is None:
            return None
        obj = await self._get_json(f"/api/papers/{bare}")
        if obj is None:
            return None
        if not isinstance(obj, dict):
            raise SourceError("Hugging Face sent a paper in an unexpected shape.")
        try:
            return parse_paper(obj, obj, None)
        except ValueError as exc:
            log.warning("HF paper %s is malformed: %s", bare, exc)
            return None

    async def artifacts(self, arxiv_id: str) -> Artifacts:
        """The models, datasets and Spaces citing a paper (`GET /api/arxiv/{id}/repos`).

        A paper Hugging Face does not know (404) is cited by nothing: empty counts.
        """
        bare = normalize_arxiv_id(arxiv_id)
        if bare is None:
            raise ValueError(f"{arxiv_id!r} is not an arXiv id")
        obj = await self._get_json(f"/api/arxiv/{bare}/repos", throttle=self._artifact_throttle)
        return Artifacts() if obj is None else parse_artifacts(obj)

    async def search(self, query: str, limit: int = 10) -> list[Paper]:
        """Search HF papers by free text; accepts both the daily-item and the flat result shape."""
        query = normalize_space(query)
        if not query or limit <= 0:
            return []
        items = await self._get_json("/api/papers/search", {"q": query, "limit": limit})
        if items is None:
            return []
        if not isinstance(items, list):
            raise SourceError("Hugging Face sent search results in an unexpected shape.")
        papers: dict[str, Paper] = {}
        for item in items:
            try:
                if isinstance(item, dict) and isinstance(item.get("paper"), dict):
                    paper = parse_daily_item(item, None)
                elif isinstance(item, dict):
                    paper = parse_paper(item, item, None)
                else:
                    raise ValueError("result is not a JSON object")
            except ValueError as exc:
                log.warning("skipping HF search result %s: %s", _item_id(item), exc)
                continue
            papers.setdefault(paper.id, paper)
        return list(papers.values())[:limit]
