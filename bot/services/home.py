"""A person's own state at a glance: subscriptions, alert settings, mute, last deliveries.

What a platform's "home" screen shows (Slack's App Home); read-only, from the repositories.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.delivery.alerts import INSTANT
from bot.delivery.status import schedule
from bot.delivery.timing import describe_local
from bot.messages import Place, User
from bot.papers import Paper
from bot.query import Query
from bot.services.subscriptions import recent_counts

if TYPE_CHECKING:
    from bot.app import App

RECENT_DELIVERIES = 5
# The commands after which a person's home is out of date (registry names).
CHANGES_HOME = frozenset({"subscribe", "unsubscribe", "alerts daily", "alerts instant", "mute"})


@dataclass(frozen=True)
class HomeSubscription:
    id: int
    query: str
    recent: int | None  # matches of the last week; None when the query no longer parses


@dataclass(frozen=True)
class HomeSummary:
    subscriptions: tuple[HomeSubscription, ...]
    instant: bool  # alerts right after each update, else once a day
    schedule: str  # the daily alert's time and zone, e.g. "09:00 UTC, every day"
    muted_until: str | None  # in the person's zone, while a mute lasts
    disabled_reason: str | None  # why alerts cannot be delivered (DMs closed…)
    delivered: tuple[tuple[Paper, datetime], ...]  # newest first


async def home_summary(app: App, user: User, place: Place) -> HomeSummary:
    """What `user`'s home shows: their personal scope, whether or not it exists yet."""
    row = await app.destinations.find(user, place, personal=True)
    if row is None:
        return HomeSummary(
            (), False, f"09:00 {app.settings.default_timezone}, every day", None, None, ()
        )
    subs = await app.subscriptions.list_for(row.id)
    parsed, counts = await recent_counts(app, subs)
    items = tuple(
        HomeSubscription(s.id, s.query, counts[s.id] if isinstance(parsed[s.id], Query) else None)
        for s in subs
    )
    now = app.clock()
    muted = (
        describe_local(row.muted_until, row.timezone)
        if row.muted_until is not None and row.muted_until > now
        else None
    )
    recent = await app.deliveries.recently_delivered(row.id, RECENT_DELIVERIES)
    papers = {p.id: p for p in await app.papers.get_many([pid for pid, _ in recent])}
    delivered = tuple((papers[pid], at) for pid, at in recent if pid in papers)
    return HomeSummary(
        items, row.alerts_mode == INSTANT, schedule(row), muted, row.disabled_reason, delivered
    )
