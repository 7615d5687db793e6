"""Reading and upserting papers."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, delete, func, not_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.papers import Artifacts, Paper
from bot.storage.db import rowcount
from bot.storage.models import PaperFeature, PaperRow, StateRow
from bot.storage.paper_rows import SAMPLE_IDS, paper_from_columns
from bot.text import clean_paper

log = logging.getLogger(__name__)

# SQLite caps bound parameters per statement; stay well below it.
_CHUNK = 200
# The state key whose time says when stored titles last changed.
TITLES_MARK = "titles_changed"


@dataclass
class UpsertStats:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    new_features: list[tuple[str, date]] = field(default_factory=list)
    # (id, title) of papers stored new or renamed: what the title index must learn.
    titles: list[tuple[str, str]] = field(default_factory=list)
    # (id, why) of papers the database refused: skipped, the others stored.
    failed: list[tuple[str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"{self.new} new, {self.updated} updated, {self.unchanged} unchanged"
        return text + (f", {len(self.failed)} not stored" if self.failed else "")

    def add(self, other: UpsertStats) -> None:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.new_features += other.new_features
        self.titles += other.titles
        self.failed += other.failed


@dataclass(frozen=True, slots=True)
class DayVersion:
    """What a cached index of one featured day checks before trusting itself.

    Every upsert that changes a paper sets its `updated_at` to the writer's clock; upvotes
    only grow; a new feature row changes the counts. So an edit is seen unless it is stored
    with the very clock reading of the day's latest write before it (only a test's fixed
    clock does that); an upvote change or a new paper is seen even then. Text sizes would
    catch the rest, but reading them costs a search ~2x this check (see bench/RESULTS.md).
    """

    papers: int
    features: int  # featured days of those papers, this day's and others'
    updated_at: datetime | None
    upvotes: int


def row_to_paper(row: PaperRow) -> Paper:
    return paper_from_columns(row, [f.day for f in row.features])


def artifacts_to_json(a: Artifacts) -> dict[str, Any]:
    """The stored form of `Artifacts` (the papers.artifacts column)."""
    return {
        "models": a.models,
        "datasets": a.datasets,
        "spaces": a.spaces,
        "top": [[r.kind, r.repo_id] for r in a.top],
    }


def _values(p: Paper) -> dict[str, Any]:
    return {
        "title": p.title,
        "abstract": p.abstract,
        # Parsers drop HF's hidden authors, so every stored author is shown and matched.
        # A verified claim rides along as the author's "user" (the Hugging Face username).
        "authors": _authors_json(p),
        "published_at": p.published_at,
        "upvotes": p.upvotes,
        "comments": p.comments,
        "github_repo": p.github_repo,
        "github_stars": p.github_stars,
        "project_page": p.project_page,
        "ai_summary": p.ai_summary,
        "ai_keywords": list(p.ai_keywords),
        "organization": p.organization,
        "organization_handle": p.organization_handle,
        "thumbnail": p.thumbnail,
    }


def _authors_json(p: Paper) -> list[dict[str, Any]]:
    users = dict(p.claimed)
    out: list[dict[str, Any]] = []
    for name in p.authors:
        entry: dict[str, Any] = {"name": name, "hidden": False}
        if name in users:
            entry["user"] = users[name]
        out.append(entry)
    return out


_FIELDS = tuple(_values(Paper(id="", title="")))
_GROWING = ("upvotes", "comments")


def _merge(old: Mapping[str, Any], new: dict[str, Any], *, fresher: bool) -> dict[str, Any]:
    """Merge a snapshot into a stored row; the same snapshots in any order give one row.

    Upvotes and comments only grow in reality, so the larger count wins. The other fields
    come from the freshest snapshot, the one of the latest featured day (`fresher`: this
    one is no older than every day stored): a paper featured on two days keeps the second
    day's values when the first day's file is imported again, or alone, and re-importing
    the same files changes nothing. Older snapshots lack keys that newer ones have, so a
    missing value never erases a known one, and fills one that is missing.
    """
    merged: dict[str, Any] = {}
    for key, value in new.items():
        current = old[key]
        if key in _GROWING:
            merged[key] = max(value or 0, current or 0)
        elif value in (None, "", []) or (not fresher and current not in (None, "", [])):
            merged[key] = current
        else:
            merged[key] = value
    return merged


def _fresher(p: Paper, stored_days: Sequence[date]) -> bool:
    """Whether snapshot `p` is no older than what is stored: its latest featured day is
    at least every stored one. A snapshot with no featured day (a look-up by id) is news."""
    if not p.featured_on or not stored_days:
        return True
    return max(p.featured_on) >= max(stored_days)


def _update_statement() -> Any:
    """One UPDATE by id for executemany; counters keep the larger value, even under a race."""
    t = cast(Table, PaperRow.__table__)
    values: dict[str, Any] = {
        k: bindparam(f"b_{k}", type_=t.c[k].type) for k in (*_FIELDS, "updated_at")
    }
    for k in _GROWING:
        fresh = bindparam(f"b_{k}", type_=t.c[k].type)
        values[k] = case((t.c[k] > fresh, t.c[k]), else_=fresh)
    return update(t).where(t.c.id == bindparam("b_id")).values(values)


class PaperRepo:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions

    async def upsert(self, papers: Iterable[Paper], now: datetime | None = None) -> UpsertStats:
        """Insert new papers, refresh known ones, and record the days they were featured.

        A paper the database refuses is skipped and reported in `failed`; the rest are stored.
        """
        now = now or datetime.now(UTC)
        batch: dict[str, Paper] = {}
        for p in papers:
            # Cleaned here, the one way in: no stored text carries NUL, lone surrogates or
            # bidi controls, whichever source or file it came from (see bot.text).
            batch[p.id] = clean_paper(p)  # a later snapshot of the same paper wins
        try:
            return await self._upsert_all(list(batch.values()), now)
        except Exception as exc:
            if not _refused(exc):
                raise
            log.warning("storing %d papers at once failed (%s); one by one", len(batch), exc)
        return await self._upsert_each(list(batch.values()), now)

    async def _upsert_all(self, papers: list[Paper], now: datetime) -> UpsertStats:
        """Everything in one transaction, a few statements per chunk: the usual path."""
        stats = UpsertStats()
        async with self._sessions.begin() as s:
            for start in range(0, len(papers), _CHUNK):
                await self._upsert_chunk(s, papers[start : start + _CHUNK], now, stats)
            if stats.titles:
                await self._mark_titles_changed(s, now)
        return stats

    async def _upsert_each(self, papers: list[Paper], now: datetime) -> UpsertStats:
        """One transaction per paper, so one the database refuses costs only itself.

        (Separate transactions rather than savepoints: SQLite's driver handles SAVEPOINT
        outside an explicit BEGIN badly, and papers need not be stored together.)
        """
        stats = UpsertStats()
        for p in papers:
            one = UpsertStats()
            try:
                async with self._sessions.begin() as s:
                    await self._upsert_chunk(s, [p], now, one)
                    if one.titles:
                        await self._mark_titles_changed(s, now)
            except Exception as exc:
                if not _refused(exc):
                    raise
                why = refusal_reason(exc)
                log.warning("paper %s not stored: %s", p.id, why)
                stats.failed.append((p.id, why))
                continue
            stats.add(one)
        return stats

    async def _mark_titles_changed(self, s: AsyncSession, now: datetime) -> None:
        """Tell every process's title index that titles changed (see `titles_mark`)."""
        insert = _insert_for(s)
        value = {"at": now.isoformat()}
        stmt = insert(StateRow).values(key=TITLES_MARK, value=value, updated_at=now)
        await s.execute(
            stmt.on_conflict_do_update(
                index_elements=["key"], set_={"value": value, "updated_at": now}
            )
        )

    async def titles_mark(self) -> datetime | None:
        """When titles last changed, by any process; None when never."""
        async with self._sessions() as s:
            value = await s.scalar(select(StateRow.value).where(StateRow.key == TITLES_MARK))
        return datetime.fromisoformat(value["at"]) if value else None

    async def _load(self, s: AsyncSession, ids: list[str]) -> dict[str, dict[str, Any]]:
        """The stored values of those of `ids` that exist, by id."""
        t = PaperRow.__table__
        rows = await s.execute(select(t.c.id, *(t.c[k] for k in _FIELDS)).where(t.c.id.in_(ids)))
        return {r.id: dict(r._mapping) for r in rows}

    async def _upsert_chunk(
        self, s: AsyncSession, chunk: list[Paper], now: datetime, stats: UpsertStats
    ) -> None:
        """Upsert up to _CHUNK papers in a handful of statements, whatever their number."""
        insert = _insert_for(s)
        ids = [p.id for p in chunk]
        stored = await self._load(s, ids)
        inserted: set[str] = set()
        fresh = [p for p in chunk if p.id not in stored]
        if fresh:
            rows = [
                {"id": p.id, "first_seen_at": now, "updated_at": now, **_values(p)} for p in fresh
            ]
            # One executemany: SQLAlchemy sends it as multi-row INSERTs ("insertmanyvalues")
            # and compiles the statement once for every chunk.
            t = PaperRow.__table__
            stmt = insert(t).on_conflict_do_nothing(index_elements=["id"]).returning(t.c.id)
            inserted = set((await s.execute(stmt, rows)).scalars())
            stats.new += len(inserted)
            stats.titles += [(p.id, p.title) for p in fresh if p.id in inserted]
            # Another process inserted the others meanwhile: merge into its rows instead.
            raced = [p.id for p in fresh if p.id not in inserted]
            if raced:
                stored.update(await self._load(s, raced))
        days = await self._feature_days(s, ids)
        changes: list[dict[str, Any]] = []
        for p in chunk:
            if p.id in inserted:
                continue
            current = stored[p.id]
            merged = _merge(current, _values(p), fresher=_fresher(p, days.get(p.id, ())))
            if all(current[k] == v for k, v in merged.items()):
                stats.unchanged += 1
                continue
            stats.updated += 1
            if merged["title"] != current["title"]:
                stats.titles.append((p.id, merged["title"]))
            changes.append({"b_id": p.id, "b_updated_at": now, **_prefixed(merged)})
        if changes:
            await s.execute(_update_statement(), changes)
        await self._add_features(s, insert, chunk, now, stats, days)

    @staticmethod
    async def _feature_days(s: AsyncSession, ids: list[str]) -> dict[str, list[date]]:
        """The stored featured days of those of `ids` that have some."""
        stmt = select(PaperFeature.paper_id, PaperFeature.day).where(PaperFeature.paper_id.in_(ids))
        days: dict[str, list[date]] = {}
        for pid, day in await s.execute(stmt):
            days.setdefault(pid, []).append(day)
        return days

    async def _add_features(
        self,
        s: AsyncSession,
        insert: Any,
        chunk: list[Paper],
        now: datetime,
        stats: UpsertStats,
        days: Mapping[str, list[date]],
    ) -> None:
        """Record the featured days not known yet; report those this call added."""
        known = {(pid, day) for pid, stored in days.items() for day in stored}
        wanted = list(
            dict.fromkeys(
                (p.id, day) for p in chunk for day in p.featured_on if (p.id, day) not in known
            )
        )
        if not wanted:
            return
        t = PaperFeature.__table__
        add = (
            insert(t)
            .on_conflict_do_nothing(index_elements=["paper_id", "day"])
            .returning(t.c.paper_id, t.c.day)
        )
        rows = [{"paper_id": pid, "day": day, "seen_at": now} for pid, day in wanted]
        added = {(pid, day) for pid, day in await s.execute(add, rows)}
        stats.new_features += [f for f in wanted if f in added]

    async def artifacts_due(
        self, *, now: datetime, since: date, refresh: timedelta, limit: int
    ) -> list[str]:
        """Ids of papers featured on `since` or later whose artifacts are unknown or older than
        `refresh`: never looked up first (newest featured first), then the stalest."""
        if limit <= 0:
            return []
        p = PaperRow
        newest = (
            select(PaperFeature.paper_id, func.max(PaperFeature.day).label("day"))
            .where(PaperFeature.day >= since)
            .group_by(PaperFeature.paper_id)
            .subquery()
        )
        stmt = (
            select(p.id)
            .join(newest, newest.c.paper_id == p.id)
            .where(
                not_(p.id.like(SAMPLE_IDS)),
                (p.artifacts_checked_at.is_(None)) | (p.artifacts_checked_at <= now - refresh),
            )
            .order_by(
                p.artifacts_checked_at.is_not(None),
                newest.c.day.desc(),
                p.artifacts_checked_at,
                p.id,
            )
            .limit(limit)
        )
        async with self._sessions() as s:
            return list((await s.scalars(stmt)).all())

    async def save_artifacts(self, paper_id: str, artifacts: Artifacts, now: datetime) -> bool:
        """Store what cites a paper, as looked up at `now`; True when it changed.

        A change also moves `updated_at`, so a cached day index sees it (`DayVersion`); an
        unchanged answer only records the look-up.
        """
        value = artifacts_to_json(artifacts)
        async with self._sessions.begin() as s:
            row = await s.get(PaperRow, paper_id)
            if row is None:
                return False
            changed = row.artifacts != value
            row.artifacts_checked_at = now
            if changed:
                row.artifacts = value
                row.updated_at = now
        return changed

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

    async def day_versions(self, first: date, last: date) -> dict[date, DayVersion]:
        """The version of each day in [first, last] that has featured papers (one query)."""
        other = aliased(PaperFeature)
        features = (
            select(func.count())
            .where(other.paper_id == PaperFeature.paper_id)
            .correlate(PaperFeature)
            .scalar_subquery()
        )
        p = PaperRow
        stmt = (
            select(
                PaperFeature.day,
                func.count(),
                func.sum(features),
                func.max(p.updated_at),
                func.sum(p.upvotes),
            )
            .join(p, p.id == PaperFeature.paper_id)
            .where(PaperFeature.day >= first, PaperFeature.day <= last)
            .group_by(PaperFeature.day)
        )
        async with self._sessions() as s:
            rows = (await s.execute(stmt)).all()
        return {
            day: DayVersion(int(n), int(f or 0), updated, int(up or 0))
            for day, n, f, updated, up in rows
        }

    async def featured_on_days(self, days: Sequence[date]) -> dict[date, list[Paper]]:
        """The papers featured on each of `days` (those with some), most upvoted first."""
        stmt = (
            select(PaperFeature.day, PaperRow)
            .join(PaperRow, PaperRow.id == PaperFeature.paper_id)
            .where(PaperFeature.day.in_(list(days)))
            .order_by(PaperFeature.day, PaperRow.upvotes.desc(), PaperRow.id)
        )
        out: dict[date, list[Paper]] = {}
        async with self._sessions() as s:
            for day, row in (await s.execute(stmt)).all():
                out.setdefault(day, []).append(row_to_paper(row))
        return out

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

    async def first_real_id(self) -> str | None:
        """The id of one stored paper that is not from the bundled sample, if any."""
        stmt = select(PaperRow.id).where(not_(PaperRow.id.like(SAMPLE_IDS))).limit(1)
        async with self._sessions() as s:
            return await s.scalar(stmt)

    async def delete_sample(self, *, only_beside_real: bool) -> int:
        """Delete the bundled sample's papers; how many went.

        With `only_beside_real`, only when a real paper is stored too: the check and the
        delete are one transaction, so a paper stored meanwhile cannot slip between them.
        """
        is_sample = PaperRow.id.like(SAMPLE_IDS)
        async with self._sessions.begin() as s:
            # Almost always there is none: a read says so without a write (every CLI command
            # runs this, and a DELETE on SQLite would wait for a running bot's writes).
            if await s.scalar(select(PaperRow.id).where(is_sample).limit(1)) is None:
                return 0
            if only_beside_real:
                real = await s.scalar(select(PaperRow.id).where(not_(is_sample)).limit(1))
                if real is None:
                    return 0
            # The session holds no papers to keep in step with the delete.
            stmt = delete(PaperRow).where(is_sample).execution_options(synchronize_session=False)
            result = await s.execute(stmt)
            return rowcount(result)

    async def titles(self, changed_since: datetime | None = None) -> list[tuple[str, str]]:
        """(id, title) of every stored paper, or of those changed since a time, for look-ups."""
        stmt = select(PaperRow.id, PaperRow.title)
        if changed_since is not None:
            stmt = stmt.where(PaperRow.updated_at >= changed_since)
        async with self._sessions() as s:
            return [(r[0], r[1]) for r in await s.execute(stmt)]


def _refused(exc: BaseException) -> bool:
    """Whether the database refused the data (not: the database is unreachable or busy)."""
    if isinstance(exc, OperationalError | InterfaceError):
        return False
    if isinstance(exc, DBAPIError):
        return not exc.connection_invalidated
    # sqlite3 raises these itself, before SQLAlchemy sees a DBAPI error.
    return isinstance(exc, ValueError | OverflowError)


def refusal_reason(exc: BaseException) -> str:
    """The driver's first line about a refused value, without the SQL and parameters.

    Drivers quote the refused value, so what made it unstorable (a NUL, a lone surrogate) is
    escaped: the reason itself is stored and shown.
    """
    text = str(getattr(exc, "orig", None) or exc).strip()
    line = text.splitlines()[0][:200] if text else type(exc).__name__
    return line.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _prefixed(values: dict[str, Any]) -> dict[str, Any]:
    return {f"b_{k}": v for k, v in values.items()}


def _insert_for(s: AsyncSession) -> Any:
    name = s.get_bind().dialect.name
    return postgresql.insert if name == "postgresql" else sqlite.insert
