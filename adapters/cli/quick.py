"""`paperbot lookup <arXiv id>` of a stored paper, answered before the services are built.

An operator scripting look-ups waits for the whole process each time (issue 17: 0.5 s). For
an id on SQLite the answer is one row, which bot.storage.sqlite_read reads with the
standard library; anything else (PostgreSQL, title words, a paper to fetch online, a
database to migrate or tidy) returns None and takes the full path, which prints the same way.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from bot.papers import Paper, normalize_arxiv_id
from bot.settings import Settings


def quick_lookup(args: argparse.Namespace, settings: Settings) -> int | None:
    """The exit code, when the stored paper was printed; None: the full path answers."""
    # PAPERS_SOURCE=sample is offline: there the full path refuses a database of real papers.
    if not settings.is_sqlite or settings.papers_source == "sample":
        return None
    arxiv_id = normalize_arxiv_id(" ".join(args.query).strip())
    if arxiv_id is None:
        return None
    from bot.storage.sqlite_read import stored_paper

    paper = stored_paper(settings.database_url, arxiv_id)
    if paper is None:
        return None
    return print_found([paper], as_json=args.json, query=arxiv_id)


def print_found(papers: Sequence[Paper], *, as_json: bool, query: str) -> int:
    """Print what a look-up found (a line each, or JSON); the command's exit code."""
    if as_json:
        print(json.dumps([p.to_json() for p in papers], ensure_ascii=False, indent=2))
    else:
        for p in papers:
            print(f"{p.id}\t▲{p.upvotes}\t{p.title}")
    if not papers and not as_json:
        print(f"no paper matches {query!r}", file=sys.stderr)
    return 0 if papers else 1
