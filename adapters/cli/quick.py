"""`paperbot lookup <arXiv id>` of a stored paper, answered before the services are built.

bot.services.stored says when that is; otherwise the command takes the full path, which
prints what it found the same way (`print_found`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from bot.papers import Paper
from bot.services.stored import stored_by_id
from bot.settings import Settings


def quick_lookup(args: argparse.Namespace, settings: Settings) -> int | None:
    """The exit code, when the stored paper was printed; None: the full path answers."""
    paper = stored_by_id(settings, " ".join(args.query))
    if paper is None:
        return None
    return print_found([paper], as_json=args.json, query=paper.id)


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
