"""A look-up of a stored paper by id, answered at once from a SQLite file (`paperbot lookup`).

An operator scripting look-ups waits for the whole process each time (issue 17: 0.5 s). For
an arXiv id on SQLite the answer is one row, which bot.storage.sqlite_read reads with the
standard library. Anything else (PostgreSQL, title words, a paper to fetch online, a
database to migrate or tidy) gets None and goes through `lookup_papers`, the full path.
"""

from __future__ import annotations

from bot.papers import Paper, normalize_arxiv_id
from bot.settings import Settings


def stored_by_id(settings: Settings, query: str) -> Paper | None:
    """The stored paper `query` names by arXiv id or link; None: ask `lookup_papers`."""
    # PAPERS_SOURCE=sample is offline: there the full path refuses a database of real papers.
    if not settings.is_sqlite or settings.papers_source == "sample":
        return None
    arxiv_id = normalize_arxiv_id(query.strip())
    if arxiv_id is None:
        return None
    from bot.storage.sqlite_read import stored_paper

    return stored_paper(settings.database_url, arxiv_id)
