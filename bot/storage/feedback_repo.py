"""Feedback: each person's ratings and saves, and the ranking preferences of destinations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.db import rowcount
from bot.storage.destinations_repo import CHANNEL, USER
from bot.storage.models import (
    DestinationRow,
    RatingRow,
    SaveRow,
    SubscriptionRow,
    TasteSettingsRow,
)
from bot.storage.papers_repo import _insert_for

CHUNK = 500  # destination ids per IN (...) list
UP = 1
DOWN = -1


@dataclass(frozen=True)
class Person:
    """A platform user: feedback is theirs wherever they gave it."""

    platform: str
    user_id: str


@dataclass(frozen=True)
class Taste:
    """What a reader (a person or a channel) told us: paper id -> +1 or -1, and saves."""

    ratings: dict[str, int]
    saved: frozenset[str] = frozenset()

    @property
    def liked(self) -> list[str]:
        """Positives, as arxiv-sanity counts them: 👍 and saves (a 👎 wins over a save)."""
        ups = {p for p, v in self.ratings.items() if v > 0} | set(self.saved)
        return sorted(p for p in ups if self.ratings.get(p, 0) >= 0)

    @property
    def disliked(self) -> list[str]:
        return sorted(p for p, v in self.ratings.items() if v < 0)

    @property
    def size(self) -> int:
        return len(self.liked) + len(self.disliked)


@dataclass(frozen=True)
class Forgotten:
    ratings: int
    saves: int
    settings: int
    subscriptions: int
    destinations: int
    anonymised: int  # channel subscriptions they created: kept, no longer naming them


class FeedbackRepo:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions

    async def rate(
        self,
        who: Person,
        paper_id: str,
        value: int | None,
        *,
        place_id: str | None,
        now: datetime | None = None,
    ) -> int | None:
        """Set (or with None clear) a person's rating of a paper; return the one before."""
        now = now or datetime.now(UTC)
        async with self._sessions.begin() as s:
            key = (RatingRow.platform == who.platform, RatingRow.user_id == who.user_id)
            before = await s.scalar(
                select(RatingRow.value).where(*key, RatingRow.paper_id == paper_id)
            )
            if value is None:
                await s.execute(delete(RatingRow).where(*key, RatingRow.paper_id == paper_id))
                return before
            insert = _insert_for(s)
            values = {"value": value, "place_id": place_id, "rated_at": now}
            await s.execute(
                insert(RatingRow)
                .values(platform=who.platform, user_id=who.user_id, paper_id=paper_id, **values)
                .on_conflict_do_update(
                    index_elements=["platform", "user_id", "paper_id"], set_=values
                )
            )
            return before

    async def save(
        self, who: Person, paper_id: str, *, place_id: str | None, now: datetime | None = None
    ) -> bool:
        """Save a paper for a person; False if it was saved already."""
        now = now or datetime.now(UTC)
        async with self._sessions.begin() as s:
            insert = _insert_for(s)
            result = await s.execute(
                insert(SaveRow)
                .values(
                    platform=who.platform,
                    user_id=who.user_id,
                    paper_id=paper_id,
                    place_id=place_id,
                    saved_at=now,
                )
                .on_conflict_do_nothing(index_elements=["platform", "user_id", "paper_id"])
            )
            return rowcount(result) > 0

    async def unsave(self, who: Person, paper_id: str) -> bool:
        async with self._sessions.begin() as s:
            result = await s.execute(
                delete(SaveRow).where(
                    SaveRow.platform == who.platform,
                    SaveRow.user_id == who.user_id,
                    SaveRow.paper_id == paper_id,
                )
            )
            return rowcount(result) > 0

    async def saved(self, who: Person) -> list[str]:
        """The person's saved paper ids, most recently saved first."""
        async with self._sessions() as s:
            rows = await s.scalars(
                select(SaveRow.paper_id)
                .where(SaveRow.platform == who.platform, SaveRow.user_id == who.user_id)
                .order_by(SaveRow.saved_at.desc(), SaveRow.paper_id)
            )
            return list(rows)

    async def taste(self, who: Person) -> Taste:
        """Everything the person rated and saved."""
        async with self._sessions() as s:
            ratings = await s.execute(
                select(RatingRow.paper_id, RatingRow.value).where(
                    RatingRow.platform == who.platform, RatingRow.user_id == who.user_id
                )
            )
            saves = await s.scalars(
                select(SaveRow.paper_id).where(
                    SaveRow.platform == who.platform, SaveRow.user_id == who.user_id
                )
            )
            return Taste({p: int(v) for p, v in ratings.all()}, frozenset(saves))

    async def channel_taste(self, platform: str, place_id: str) -> Taste:
        """A channel's taste: its members' votes given there, summed per paper.

        The ratings table holds one vote per person per paper, so nobody counts twice; a
        paper whose votes cancel out is left out.
        """
        async with self._sessions() as s:
            rows = await s.execute(
                select(RatingRow.paper_id, func.sum(RatingRow.value))
                .where(RatingRow.platform == platform, RatingRow.place_id == place_id)
                .group_by(RatingRow.paper_id)
            )
            sums = {p: int(v) for p, v in rows.all() if v}
            return Taste({p: (1 if v > 0 else -1) for p, v in sums.items()})

    async def any_feedback(self) -> bool:
        """Whether anyone rated or saved anything: a sweep skips ranking work otherwise."""
        async with self._sessions() as s:
            rated = await s.scalar(select(RatingRow.paper_id).limit(1))
            return (
                rated is not None or await s.scalar(select(SaveRow.paper_id).limit(1)) is not None
            )

    async def destination_tastes(self, ids: Sequence[int]) -> dict[int, Taste]:
        """The taste of each of these destinations that has any: a channel's members' votes
        given there, a person's own ratings and saves for their DMs. Read in chunks."""
        out: dict[int, Taste] = {}
        d = DestinationRow
        async with self._sessions() as s:
            for i in range(0, len(ids), CHUNK):
                chunk = list(ids[i : i + CHUNK])
                channel = await s.execute(
                    select(d.id, RatingRow.paper_id, func.sum(RatingRow.value))
                    .join(
                        RatingRow,
                        (RatingRow.platform == d.platform) & (RatingRow.place_id == d.external_id),
                    )
                    .where(d.id.in_(chunk), d.kind == CHANNEL)
                    .group_by(d.id, RatingRow.paper_id)
                )
                personal = await s.execute(
                    select(d.id, RatingRow.paper_id, RatingRow.value)
                    .join(
                        RatingRow,
                        (RatingRow.platform == d.platform) & (RatingRow.user_id == d.external_id),
                    )
                    .where(d.id.in_(chunk), d.kind == USER)
                )
                saves = await s.execute(
                    select(d.id, SaveRow.paper_id)
                    .join(
                        SaveRow,
                        (SaveRow.platform == d.platform) & (SaveRow.user_id == d.external_id),
                    )
                    .where(d.id.in_(chunk), d.kind == USER)
                )
                ratings: dict[int, dict[str, int]] = {}
                for did, pid, v in [*channel.all(), *personal.all()]:
                    if v:
                        ratings.setdefault(did, {})[pid] = 1 if v > 0 else -1
                saved: dict[int, set[str]] = {}
                for did, pid in saves.all():
                    saved.setdefault(did, set()).add(pid)
                for did in set(ratings) | set(saved):
                    out[did] = Taste(ratings.get(did, {}), frozenset(saved.get(did, ())))
        return out

    async def destination_ranks(self, ids: Sequence[int]) -> dict[int, str]:
        """The digest order chosen for each of these destinations that chose one."""
        out: dict[int, str] = {}
        d, t = DestinationRow, TasteSettingsRow
        async with self._sessions() as s:
            for i in range(0, len(ids), CHUNK):
                rows = await s.execute(
                    select(d.id, t.digest_rank)
                    .join(
                        t,
                        (t.platform == d.platform)
                        & (t.kind == d.kind)
                        & (t.external_id == d.external_id),
                    )
                    .where(d.id.in_(list(ids[i : i + CHUNK])), t.digest_rank.is_not(None))
                )
                out.update({did: str(rank) for did, rank in rows.all()})
        return out

    async def destination_suggest(self, ids: Sequence[int]) -> dict[int, bool]:
        """Whether each of these (personal) destinations chose suggestions on or off."""
        out: dict[int, bool] = {}
        d, t = DestinationRow, TasteSettingsRow
        async with self._sessions() as s:
            for i in range(0, len(ids), CHUNK):
                rows = await s.execute(
                    select(d.id, t.suggest)
                    .join(
                        t,
                        (t.platform == d.platform)
                        & (t.kind == d.kind)
                        & (t.external_id == d.external_id),
                    )
                    .where(d.id.in_(list(ids[i : i + CHUNK])), t.suggest.is_not(None))
                )
                out.update({did: bool(on) for did, on in rows.all()})
        return out

    async def setting(self, platform: str, kind: str, external_id: str) -> TasteSettingsRow | None:
        async with self._sessions() as s:
            return await s.get(TasteSettingsRow, (platform, kind, external_id))

    async def set_setting(
        self,
        platform: str,
        kind: str,
        external_id: str,
        *,
        now: datetime | None = None,
        **values: str | bool | None,
    ) -> None:
        """Set `digest_rank` of a channel or a person, or `suggest` of a person."""
        now = now or datetime.now(UTC)
        async with self._sessions.begin() as s:
            insert = _insert_for(s)
            changes = {**values, "updated_at": now}
            await s.execute(
                insert(TasteSettingsRow)
                .values(platform=platform, kind=kind, external_id=external_id, **changes)
                .on_conflict_do_update(
                    index_elements=["platform", "kind", "external_id"], set_=changes
                )
            )

    async def forget(self, who: Person) -> Forgotten:
        """Delete everything stored about a person, in one transaction.

        Their ratings, saves and preferences, and their own destination (personal
        subscriptions, alert settings, and its ledger and outbox by cascade). Subscriptions
        they added to a channel belong to the channel: they stay, no longer naming them.
        """
        async with self._sessions.begin() as s:
            ratings = await s.execute(
                delete(RatingRow).where(
                    RatingRow.platform == who.platform, RatingRow.user_id == who.user_id
                )
            )
            saves = await s.execute(
                delete(SaveRow).where(
                    SaveRow.platform == who.platform, SaveRow.user_id == who.user_id
                )
            )
            settings = await s.execute(
                delete(TasteSettingsRow).where(
                    TasteSettingsRow.platform == who.platform,
                    TasteSettingsRow.kind == USER,
                    TasteSettingsRow.external_id == who.user_id,
                )
            )
            own = select(DestinationRow.id).where(
                DestinationRow.platform == who.platform,
                DestinationRow.kind == USER,
                DestinationRow.external_id == who.user_id,
            )
            subs = await s.execute(
                delete(SubscriptionRow).where(SubscriptionRow.destination_id.in_(own))
            )
            # The destination's ledger, runs and outbox go with it (ON DELETE CASCADE).
            dests = await s.execute(delete(DestinationRow).where(DestinationRow.id.in_(own)))
            anonymised = await s.execute(
                update(SubscriptionRow)
                .where(
                    SubscriptionRow.created_by == who.user_id,
                    SubscriptionRow.destination_id.in_(
                        select(DestinationRow.id).where(DestinationRow.platform == who.platform)
                    ),
                )
                .values(created_by=None)
            )
            return Forgotten(
                ratings=rowcount(ratings),
                saves=rowcount(saves),
                settings=rowcount(settings),
                subscriptions=rowcount(subs),
                destinations=rowcount(dests),
                anonymised=rowcount(anonymised),
            )
