"""Reading and upserting papers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.papers import Paper
from bot.storage.models import PaperFeature, PaperRow

# SQLite caps bound parameters per statement; stay well below it.
_CHUNK = 200


@dataclass
class UpsertStats:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    new_features: list[tuple[str, date]] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.new} new, {self.updated} updated, {self.unchanged} unchanged"


def row_to_paper(row: PaperRow) -> Paper:
    return Paper(
        id=row.id,
        title=row.title,
        abstract=row.abstract,
        authors=tuple(a["name"] for a in row.authors or () if not a.get("hidden")),
        published_at=row.published_at,
        featured_on=tuple(f.day for f in row.features),
        upvotes=row.upvotes,
        comments=row.comments,
        github_repo=row.github_repo,
        github_stars=row.github_stars,
        project_page=row.project_page,
        ai_summary=row.ai_summary,
        ai_keywords=tuple(row.ai_keywords or ()),
        organization=row.organization,
        thumbnail=row.thumbnail,
        first_seen_at=row.first_seen_at,
        updated_at=row.updated_at,
    )


def _values(p: Paper) -> dict[str, Any]:
    return {
        "title": p.title,
        "abstract": p.abstract,
        "authors": [{"name": a, "hidden": False} for a in p.authors],
        "published_at": p.published_at,
        "upvotes": p.upvotes,
        "comments": p.comments,
        "github_repo": p.github_repo,
        "github_stars": p.github_stars,
        "project_page": p.project_page,
        "ai_summary": p.ai_summary,
        "ai_keywords": list(p.ai_keywords),
        "organization": p.organization,
        "thumbnail": p.thumbnail,
    }


def _merge(old: PaperRow, new: dict[str, Any]) -> dict[str, Any]:
    """Merge a fresh snapshot into a stored row.

    Older snapshots lack keys that newer ones have, so a missing value never erases a known
    one; upvotes and comments only grow in reality, so re-importing an old archive file does
    not roll them back.
    """
    merged: dict[str, Any] = {}
    for key, value in new.items():
        current = getattr(old, key)
        if key in ("upvotes", "comments"):
            merged[key] = max(value or 0, current or 0)
        elif key == "github_stars":
            merged[key] = value if value is not None else current
        elif value in (None, "", []):
            merged[key] = current
        else:
            merged[key] = value
    return merged


class PaperRepo:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions

    async def upsert(self, papers: Iterable[Paper], now: datetime | None = None) -> UpsertStats:
        """Insert new papers, refresh known ones, and record the days they were featured."""
        now = now or datetime.now(UTC)
        stats = UpsertStats()
        batch: dict[str, Paper] = {}
        for p in papers:
            batch[p.id] = p  # a later snapshot of the same paper wins
        ids = list(batch)
        async with self._sessions.begin() as s:
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                existing = {
                    r.id: r
                    for r in (await s.scalars(select(PaperRow).where(PaperRow.id.in_(chunk)))).all()
                }
                for pid in chunk:
                    await self._upsert_one(s, batch[pid], existing.get(pid), now, stats)
        return stats

    async def _upsert_one(
        self,
        s: AsyncSession,
        paper: Paper,
        row: PaperRow | None,
        now: datetime,
        stats: UpsertStats,
    ) -> None:
        values = _values(paper)
        if row is None:
            insert = _insert_for(s)
            stmt = insert(PaperRow).values(id=paper.id, first_seen_at=now, updated_at=now, **values)
            # Another process may have inserted it meanwhile; then this run counts it unchanged.
            result = await s.execute(stmt.on_conflict_do_nothing(index_elements=["id"]))
            if result.rowcount:
                stats.new += 1
            else:
                stats.unchanged += 1
            known_days: set[date] = set()
        else:
            merged = _merge(row, values)
            if any(getattr(row, k) != v for k, v in merged.items()):
                for k, v in merged.items():
                    setattr(row, k, v)
                row.updated_at = now
                stats.updated += 1
            else:
                stats.unchanged += 1
            known_days = {f.day for f in row.features}
        for day in paper.featured_on:
            if day in known_days:
                continue
            insert = _insert_for(s)
            res = await s.execute(
                insert(PaperFeature)
                .values(paper_id=paper.id, day=day, seen_at=now)
                .on_conflict_do_nothing(index_elements=["paper_id", "day"])
            )
            if res.rowcount:
                stats.new_features.append((paper.id, day))

    async def get(self, paper_id: str) -> Paper | None:
        async with self._sessions() as s:
            row = await s.get(PaperRow, paper_id)
            return row_to_paper(row) if row else None

    async def get_many(self, ids: Sequence[str]) -> list[Paper]:
        async with self._sessions() as s:
            rows = (await s.scalars(select(PaperRow).where(PaperRow.id.in_(list(ids))))).all()
        by_id = {r.id: row_to_paper(r) for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    async def featured_on(self, day: date, limit: int | None = None) -> list[Paper]:
        """Papers featured on `day`, most upvoted first."""
        stmt = (
            select(PaperRow)
            .join(PaperFeature)
            .where(PaperFeature.day == day)
            .order_by(PaperRow.upvotes.desc(), PaperRow.id)
        )
        if limit:
            stmt = stmt.limit(limit)
        async with self._sessions() as s:
            return [row_to_paper(r) for r in (await s.scalars(stmt)).unique().all()]

    async def featured_between(self, first: date, last: date) -> list[Paper]:
        """Papers featured on any day in [first, last], most upvoted first, each once."""
        stmt = (
            select(PaperRow)
            .where(
                PaperRow.id.in_(
                    select(PaperFeature.paper_id).where(
                        PaperFeature.day >= first, PaperFeature.day <= last
                    )
                )
            )
            .order_by(PaperRow.upvotes.desc(), PaperRow.id)
        )
        async with self._sessions() as s:
            return [row_to_paper(r) for r in (await s.scalars(stmt)).all()]

    async def seen_between(self, start: datetime, end: datetime) -> list[Paper]:
        """Papers whose featuring we first saw in [start, end), most upvoted first."""
        stmt = (
            select(PaperRow)
            .where(
                PaperRow.id.in_(
                    select(PaperFeature.paper_id).where(
                        PaperFeature.seen_at >= start, PaperFeature.seen_at < end
                    )
                )
            )
            .order_by(PaperRow.upvotes.desc(), PaperRow.id)
        )
        async with self._sessions() as s:
            return [row_to_paper(r) for r in (await s.scalars(stmt)).all()]

    async def all_papers(self) -> list[Paper]:
        """Every stored paper, featured or not, most upvoted first."""
        stmt = select(PaperRow).order_by(PaperRow.upvotes.desc(), PaperRow.id)
        async with self._sessions() as s:
            return [row_to_paper(r) for r in (await s.scalars(stmt)).all()]

    async def latest_day(self) -> date | None:
        async with self._sessions() as s:
            return await s.scalar(select(func.max(PaperFeature.day)))

    async def count(self) -> int:
        async with self._sessions() as s:
            return int(await s.scalar(select(func.count()).select_from(PaperRow)) or 0)

    async def titles(self) -> list[tuple[str, str]]:
        """(id, title) of every stored paper, for the look-up index."""
        async with self._sessions() as s:
            return [(r[0], r[1]) for r in (await s.execute(select(PaperRow.id, PaperRow.title)))]


def _insert_for(s: AsyncSession) -> Any:
    name = s.get_bind().dialect.name
    return postgresql.insert if name == "postgresql" else sqlite.insert
