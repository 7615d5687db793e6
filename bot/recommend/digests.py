"""Digest and alert order by the destination's taste: the same papers, best predicted first.

Subscriptions decide WHICH papers a destination gets; this only reorders them (so with a
digest cap it decides which are listed and which are counted in "and N more"). It applies
where the channel chose `digest rank relevance`, or chose nothing and has rated enough
papers; elsewhere the upvote order stays, and scikit-learn is not even loaded.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.recommend.service import COLD_START

if TYPE_CHECKING:
    from bot.app import App
    from bot.delivery.digest import Candidates
    from bot.storage.feedback_repo import Taste

log = logging.getLogger(__name__)

RELEVANCE = "relevance"
UPVOTES = "upvotes"


def ranks_by_relevance(choice: str | None, taste: Taste | None) -> bool:
    """Whether a destination's digests go best predicted first."""
    if choice == UPVOTES or taste is None:
        return False
    return choice == RELEVANCE or taste.size >= COLD_START


async def order_by_taste(
    app: App, destination_ids: Sequence[int], candidates: list[Candidates]
) -> list[Candidates]:
    """Each destination's candidates reordered by its taste where ranking applies.

    A failure here must never hold a digest back: it is logged and the upvote order stays.
    """
    try:
        return await _order(app, destination_ids, candidates)
    except Exception:
        log.exception("ordering digests by taste failed; they keep the upvote order")
        return candidates


async def _order(
    app: App, destination_ids: Sequence[int], candidates: list[Candidates]
) -> list[Candidates]:
    busy = sorted(
        {d for d, c in zip(destination_ids, candidates, strict=True) if len(c.ranked) > 1}
    )
    if not busy or not await app.feedback.any_feedback():
        return candidates
    tastes = await app.feedback.destination_tastes(busy)
    if not tastes:
        return candidates
    choices = await app.feedback.destination_ranks(sorted(tastes))
    jobs = []
    for k, (did, c) in enumerate(zip(destination_ids, candidates, strict=True)):
        taste = tastes.get(did)
        if len(c.ranked) > 1 and taste is not None and ranks_by_relevance(choices.get(did), taste):
            jobs.append((k, f"destination:{did}", taste, [pid for pid, _ in c.ranked]))
    if not jobs:
        return candidates
    orders = await app.recommender.order_many([(name, t, ids) for _, name, t, ids in jobs])
    out = list(candidates)
    for (k, *_), order in zip(jobs, orders, strict=True):
        reasons = dict(out[k].ranked)
        # Papers the model does not know (none, normally: all are stored) keep their place
        # after the ranked ones rather than vanish.
        rest = [pid for pid in reasons if pid not in set(order)]
        out[k] = replace(out[k], ranked=[(pid, reasons[pid]) for pid in [*order, *rest]])
    return out
