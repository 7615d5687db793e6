"""'You may also like' in personal alerts: a few papers no query of the reader matched.

Off until the reader has rated COLD_START papers, then on, unless they said `alerts suggest
off`; `alerts suggest on` turns it on earlier (then mostly by upvotes). What is suggested is
decided here, when the alert is composed; which of these the destination never had, and so
gets, is decided with the ledger in the transaction that records the alert (see
bot/storage/suggest_record.py), so a retry re-posts the same suggestions and never others.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from bot.recommend.service import COLD_START
from bot.storage.feedback_repo import Taste

if TYPE_CHECKING:
    from bot.app import App
    from bot.delivery.digest import Candidates, Occasion
    from bot.papers import Paper

log = logging.getLogger(__name__)

# Ranked a few more than are shown: the ledger may hold some of them already.
OFFERED = 10


def suggests(choice: bool | None, taste: Taste | None) -> bool:
    """Whether a person's alerts carry suggestions."""
    if choice is not None:
        return choice
    return taste is not None and taste.size >= COLD_START


async def add_suggestions(
    app: App,
    occasions: Sequence[Occasion],
    starts: Sequence[datetime],
    candidates: list[Candidates],
    papers: dict[str, Paper],
) -> list[Candidates]:
    """Each personal occasion's candidates with the papers to suggest, where it suggests.

    A failure here must never hold an alert back: it is logged and the alert goes without.
    """
    try:
        # One worker session for the whole sweep: a reader with many ratings fits in the
        # worker process, which would otherwise start and end once per such reader.
        async with app.recommender.worker.session():
            return await _add(app, occasions, starts, candidates, papers)
    except Exception:
        log.exception("choosing suggestions failed; the alerts go without them")
        return candidates


async def _add(
    app: App,
    occasions: Sequence[Occasion],
    starts: Sequence[datetime],
    candidates: list[Candidates],
    papers: dict[str, Paper],
) -> list[Candidates]:
    personal = sorted(
        {
            o.destination.id
            for o, c in zip(occasions, candidates, strict=True)
            if o.destination.kind == "user" and c.ranked
        }
    )
    if not personal:
        return candidates
    choices = await app.feedback.destination_suggest(personal)
    tastes = await app.feedback.destination_tastes(personal)
    out = list(candidates)
    for k, (o, start, c) in enumerate(zip(occasions, starts, candidates, strict=True)):
        did = o.destination.id
        if did not in personal or not suggests(choices.get(did), tastes.get(did)):
            continue
        taste = tastes.get(did) or Taste({})
        matched = {pid for pid, _ in c.ranked}
        known = matched | set(taste.ratings) | set(taste.saved)
        # Papers of this alert's window, as the matching saw them.
        pool = [
            pid
            for pid, p in papers.items()
            if pid not in known and (p.first_seen_at is None or p.first_seen_at >= start)
        ]
        if not pool:
            continue
        ranked = await app.recommender.rank(f"destination:{did}", taste, pool, limit=OFFERED)
        out[k] = replace(c, suggested=[(r.paper_id, (r.reason(),)) for r in ranked])
    return out
