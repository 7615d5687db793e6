"""Recommendations for a reader given by their ratings alone (the operator CLI)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.storage.feedback_repo import Taste

if TYPE_CHECKING:
    from bot.app import App
    from bot.recommend.model import Ranked


async def rank_for_ratings(
    app: App,
    liked: Sequence[str],
    disliked: Sequence[str],
    candidates: Sequence[str],
    *,
    limit: int | None = None,
) -> list[Ranked]:
    """Candidates best first for a reader who liked and disliked these papers; stores nothing."""
    taste = Taste({**{p: 1 for p in liked}, **{p: -1 for p in disliked}})
    return await app.recommender.rank("cli", taste, candidates, limit=limit)
