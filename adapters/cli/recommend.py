"""`paperbot recommend` and `paperbot similar`: the chat's recommender, for an operator.

Stateless: the ratings come from the command line, nothing is stored, no chat user needed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING

from bot.papers import normalize_arxiv_id
from bot.services.lookup import sample_id

if TYPE_CHECKING:
    from bot.app import App

DEFAULT_DAYS = 7


def add_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], day: Callable[[str], date]
) -> None:
    """Declare both subcommands (`day` parses YYYY-MM-DD, as the parser's other dates)."""
    rec = sub.add_parser(
        "recommend",
        help="rank stored papers for a reader who liked (and disliked) these papers",
    )
    rec.add_argument("--like", nargs="+", required=True, metavar="ID", help="papers liked")
    rec.add_argument("--dislike", nargs="+", default=[], metavar="ID", help="papers disliked")
    rec.add_argument("--since", type=day, metavar="YYYY-MM-DD", help="first featured day")
    rec.add_argument(
        "--until", type=day, metavar="YYYY-MM-DD", help="last featured day (default today)"
    )
    rec.add_argument("--limit", type=int, default=10, help="at most this many (default 10)")
    rec.add_argument("--json", action="store_true", help="print a JSON array, best first")
    sim = sub.add_parser("similar", help="the stored papers nearest to one (TF-IDF cosine)")
    sim.add_argument("id", metavar="ID")
    sim.add_argument("--limit", type=int, default=10, help="at most this many (default 10)")
    sim.add_argument("--json", action="store_true", help="print a JSON array, nearest first")


def _ids(words: list[str]) -> tuple[list[str], list[str]]:
    """The paper ids typed, and the words that are none."""
    ids: list[str] = []
    bad: list[str] = []
    for w in words:
        pid = normalize_arxiv_id(w) or sample_id(w)
        if pid:
            ids.append(pid)
        else:
            bad.append(w)
    return ids, bad


async def _unknown(app: App, ids: list[str]) -> list[str]:
    stored = {p.id for p in await app.papers.get_many(ids)}
    return [pid for pid in ids if pid not in stored]


async def recommend(args: argparse.Namespace, app: App, env: dict[str, str]) -> int:
    from bot.services.recommend import rank_for_ratings

    if args.limit < 1:
        print("paperbot: --limit must be at least 1", file=sys.stderr)
        return 2
    liked, bad_likes = _ids(args.like)
    disliked, bad_dislikes = _ids(args.dislike)
    if bad_likes or bad_dislikes:
        words = ", ".join(repr(w) for w in bad_likes + bad_dislikes)
        print(f"paperbot: not paper ids: {words}; use arXiv ids like 2412.17747", file=sys.stderr)
        return 2
    unknown = await _unknown(app, liked + disliked)
    if unknown:
        print(
            f"paperbot: not stored: {', '.join(unknown)}; import them first "
            "(paperbot ingest, or paperbot lookup ID)",
            file=sys.stderr,
        )
        return 2
    until = args.until or app.clock().date()
    since = args.since or until - timedelta(days=DEFAULT_DAYS - 1)
    if since > until:
        print("paperbot: --since is after --until", file=sys.stderr)
        return 2
    window = await app.papers.featured_between(since, until)
    rated = set(liked) | set(disliked)
    candidates = [p.id for p in window if p.id not in rated]
    ranked = await rank_for_ratings(app, liked, disliked, candidates, limit=args.limit)
    by_id = {p.id: p for p in window}
    if args.json:
        out = [
            {**by_id[r.paper_id].to_json(), "score": round(r.score, 4), "reason": r.reason()}
            for r in ranked
        ]
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        for r in ranked:
            p = by_id[r.paper_id]
            print(f"{p.id}\t{r.score:.3f}\t▲{p.upvotes}\t{p.title}\t{r.reason()}")
    if not ranked:
        print(f"paperbot: no unrated papers featured {since} to {until}", file=sys.stderr)
        return 1
    return 0


async def similar(args: argparse.Namespace, app: App, env: dict[str, str]) -> int:
    if args.limit < 1:
        print("paperbot: --limit must be at least 1", file=sys.stderr)
        return 2
    ids, bad = _ids([args.id])
    if bad:
        print(
            f"paperbot: {args.id!r} is not a paper id; use an arXiv id like 2412.17747",
            file=sys.stderr,
        )
        return 2
    pid = ids[0]
    if await _unknown(app, [pid]):
        print(
            f"paperbot: {pid} is not stored; import it first (paperbot lookup {pid})",
            file=sys.stderr,
        )
        return 2
    near = await app.recommender.similar(pid, args.limit)
    papers = {p.id: p for p in await app.papers.get_many([i for i, _ in near])}
    if args.json:
        out = [{**papers[i].to_json(), "similarity": round(s, 4)} for i, s in near if i in papers]
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        for i, s in near:
            if i in papers:
                print(f"{i}\t{s:.3f}\t{papers[i].title}")
    return 0 if near else 1
