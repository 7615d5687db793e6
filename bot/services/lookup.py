"""Paper look-up: resolve an id, a link or title words to papers, locally first, then online.

Shared by the `paper` and `why` commands and `paperbot lookup`.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.errors import CommandError, UsageError
from bot.papers import Paper, normalize_arxiv_id
from bot.sources import SourceError
from bot.sources.sample import load_sample_papers

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

_LOCAL_ID_RE = re.compile(r"sample-(\d{1,3})", re.IGNORECASE)
MAX_QUERY = 300  # a look-up longer than this is a pasted abstract, not a reference


def refuse_too_long(text: str) -> None:
    """Refuse a look-up longer than MAX_QUERY characters (`paper` and `why` alike)."""
    if len(text) > MAX_QUERY:
        raise UsageError(
            f"That is too long for a paper look-up; use at most {MAX_QUERY} characters."
        )


@dataclass(frozen=True)
class Lookup:
    """What a look-up found, and how sure it is."""

    papers: list[Paper]  # best first
    confident: bool  # the first one is clearly the paper meant
    # Set when a source was too slow and what is shown came from elsewhere: the reply says so.
    note: str | None = None


async def lookup_papers(app: App, query: str) -> Lookup:
    """Resolve a paper reference (id, URL or title words), locally first, then online."""
    query = query.strip()
    arxiv_id = normalize_arxiv_id(query)
    local_id = sample_id(query)
    if arxiv_id is None and local_id is not None:
        paper = await app.papers.get(local_id)
        return Lookup([paper] if paper else [], confident=True)
    if arxiv_id is not None:
        paper = await app.papers.get(arxiv_id)
        note = None
        if paper is None and app.online:
            paper, note = await _fetch_by_id(app, arxiv_id)
        return Lookup([paper] if paper else [], confident=True, note=note)
    index = await app.title_index()
    # Fuzzy scoring over a large index is CPU work: off the event loop. The result is
    # plain frozen data, and the index's readers-writer lock lets searches run in threads.
    result = await asyncio.to_thread(index.lookup, query, 5)
    if result.best is not None:
        ids = [result.best.paper_id]
        ids += [h.paper_id for h in result.hits if h.paper_id != result.best.paper_id]
        return Lookup(await app.papers.get_many(ids), confident=True)
    # No clear local match: the stored titles that came close are near misses, so Hugging
    # Face's search (then arXiv's) is asked first, and the near misses follow its answer.
    near = await app.papers.get_many([h.paper_id for h in result.hits]) if result.hits else []
    if not app.online:
        return Lookup(near, confident=len(near) == 1)
    try:
        found, note = await _search_online(app, query)
    except CommandError:
        if not near:
            raise
        return Lookup(near, confident=False)  # nobody answered: the near misses, as a list
    if not found:
        return Lookup(near, confident=len(near) == 1)
    online = {p.id for p in found}
    return Lookup([*found, *(p for p in near if p.id not in online)], len(found) == 1, note)


def sample_id(text: str) -> str | None:
    """The id of the bundled sample's paper `text` names ("Sample-2" -> "sample-02"), if any."""
    m = _LOCAL_ID_RE.fullmatch(text.strip())
    return f"sample-{int(m.group(1)):02d}" if m else None


def _slow_note(exc: SourceError, shown: str) -> str | None:
    """What a reply says when Hugging Face was too slow and `shown` stands in for its answer."""
    if not exc.slow:
        return None
    return f"Hugging Face was too slow to answer ({exc.message.rstrip('.')}); {shown}."


async def _fetch_by_id(app: App, arxiv_id: str) -> tuple[Paper | None, str | None]:
    """The paper from Hugging Face, else arXiv; and a note when HF was too slow."""
    hf_error: SourceError | None = None
    try:
        paper = await app.source.paper(arxiv_id)
    except SourceError as exc:
        log.warning("HF look-up of %s failed: %s", arxiv_id, exc)
        paper, hf_error = None, exc
    if paper is not None:
        # Imported here: a look-up of a stored paper (most of them) stores nothing.
        from bot.services.ingest import store

        await store(app, [paper])
        return await app.papers.get(arxiv_id) or paper, None
    if app.arxiv is not None:
        try:
            found = await app.arxiv.get(arxiv_id)
        except SourceError as exc:
            log.warning("arXiv look-up of %s failed: %s", arxiv_id, exc)
            hf = f"{hf_error.message.rstrip('.')}; " if hf_error else ""
            raise CommandError(
                f"Could not look up {arxiv_id}: {hf}{exc.message.rstrip('.')}. Try again later."
            ) from exc
        note = None
        if hf_error is not None and found is not None:
            note = _slow_note(hf_error, "this is arXiv's record, without upvotes or Daily Papers")
        return found, note
    return None, None


async def _search_online(app: App, query: str) -> tuple[list[Paper], str | None]:
    """Ask Hugging Face, then arXiv; raise CommandError when neither answers at all."""
    answered = True
    hf_error: SourceError | None = None
    try:
        found = await app.source.search(query, limit=5)
    except SourceError as exc:
        log.warning("HF search failed: %s", exc)
        found, answered, hf_error = [], False, exc
    if not found and app.arxiv is not None:
        try:
            found = await app.arxiv.search_title(query, limit=5)
            answered = True
        except SourceError as exc:
            log.warning("arXiv search failed: %s", exc)
    if not answered:
        # "No match" would be a false answer: nobody was asked successfully.
        raise CommandError(
            f"No stored paper matches {query!r}, and neither Hugging Face nor arXiv answered "
            "to search further. Try again later."
        )
    note = None
    if hf_error is not None and found:
        note = _slow_note(hf_error, "these are arXiv's title matches")
    return list(found), note


def not_found_text(app: App, query: str, prefix: str) -> str:
    """Say that no paper answers to `query`, naming where the bot looked (for paper, why)."""
    arxiv_id = normalize_arxiv_id(query)
    local_id = sample_id(query)
    if local_id and not arxiv_id:
        size = len(load_sample_papers(app.clock().date()))
        return (
            f"There is no sample paper {local_id}; the bundled sample holds sample-01 to "
            f"sample-{size:02d}. Browse them with {prefix}papers today."
        )
    if arxiv_id and not app.online:
        return (
            f"Paper {arxiv_id} is not in the local database, and the bot is offline "
            "(PAPERS_SOURCE=sample), so it cannot ask Hugging Face or arXiv. "
            f"Search the stored papers by title instead: {prefix}paper <title words>."
        )
    if arxiv_id:
        return (
            f"Paper {arxiv_id} is not stored here, and neither Hugging Face nor arXiv knows it. "
            "Check the id (e.g. 2412.17747)."
        )
    where = "Hugging Face or arXiv" if app.online else "the stored papers"
    return (
        f"No paper matches {query!r} in {where}. Try fewer or other title words, "
        f"an arXiv id, or browse with {prefix}papers today."
    )
