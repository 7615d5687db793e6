"""Storage: the migrated schema equals the models; paper upserts are idempotent."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.papers import Paper
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.models import Base
from bot.storage.papers_repo import PaperRepo

T0 = datetime(2024, 12, 24, 8, 0, tzinfo=UTC)


async def test_migrated_schema_equals_the_models(db_url: str) -> None:
    engine = make_engine(db_url)

    def diff(connection: object) -> list[object]:
        ctx = MigrationContext.configure(connection, opts={"compare_type": True})  # type: ignore[arg-type]
        return compare_metadata(ctx, Base.metadata)

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    await engine.dispose()
    assert differences == []


def paper(**kw: object) -> Paper:
    base = Paper(
        id="2412.17747",
        title="Deliberation in Latent Space via Differentiable Cache Augmentation",
        abstract="Techniques enabling large language models to think more.",
        authors=("Luyang Liu", "Jonas Pfeiffer"),
        published_at=datetime(2024, 12, 23, tzinfo=UTC),
        featured_on=(date(2024, 12, 24),),
        upvotes=10,
        comments=2,
        ai_keywords=("kv cache", "latent reasoning"),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


async def test_upsert_twice_changes_nothing(app: App) -> None:
    first = await app.papers.upsert([paper()], now=T0)
    again = await app.papers.upsert([paper()], now=T0.replace(hour=9))
    assert (first.new, first.updated, first.unchanged) == (1, 0, 0)
    assert first.new_features == [("2412.17747", date(2024, 12, 24))]
    assert (again.new, again.updated, again.unchanged) == (0, 0, 1)
    assert again.new_features == []
    assert await app.papers.count() == 1
    stored = await app.papers.get("2412.17747")
    assert stored is not None and stored.updated_at == T0


async def test_upvotes_refresh_and_never_roll_back(app: App) -> None:
    await app.papers.upsert([paper(upvotes=10)], now=T0)
    await app.papers.upsert([paper(upvotes=25, comments=5)], now=T0)
    await app.papers.upsert([paper(upvotes=12)], now=T0)  # an older archive re-imported
    stored = await app.papers.get("2412.17747")
    assert stored is not None
    assert (stored.upvotes, stored.comments) == (25, 5)


async def test_featured_again_keeps_one_row_with_both_days(app: App) -> None:
    await app.papers.upsert([paper()], now=T0)
    stats = await app.papers.upsert([paper(featured_on=(date(2025, 1, 6),))], now=T0)
    assert stats.new_features == [("2412.17747", date(2025, 1, 6))]
    stored = await app.papers.get("2412.17747")
    assert stored is not None
    assert stored.featured_on == (date(2024, 12, 24), date(2025, 1, 6))
    assert await app.papers.count() == 1
    assert [p.id for p in await app.papers.featured_on(date(2025, 1, 6))] == ["2412.17747"]


async def test_a_missing_optional_value_does_not_erase_a_known_one(app: App) -> None:
    await app.papers.upsert([paper(github_repo="https://github.com/a/b", ai_summary="S.")], now=T0)
    await app.papers.upsert([paper()], now=T0)
    stored = await app.papers.get("2412.17747")
    assert stored is not None
    assert stored.github_repo == "https://github.com/a/b"
    assert stored.ai_summary == "S."
    assert stored.ai_keywords == ("kv cache", "latent reasoning")


async def test_times_come_back_timezone_aware_utc(app: App) -> None:
    await app.papers.upsert([paper()], now=T0)
    stored = await app.papers.get("2412.17747")
    assert stored is not None
    assert stored.published_at == datetime(2024, 12, 23, tzinfo=UTC)
    assert stored.first_seen_at is not None and stored.first_seen_at.tzinfo is not None


async def test_a_batch_mixing_new_known_and_repeated_papers(app: App) -> None:
    known = paper(id="2501.00001", title="Known Paper", upvotes=5)
    await app.papers.upsert([known], now=T0)
    batch = [
        paper(id="2501.00002", title="First Snapshot", upvotes=1),
        replace(known, upvotes=9, featured_on=(date(2025, 1, 7),)),
        paper(id="2501.00003", title="Brand New"),
        paper(id="2501.00002", title="Second Snapshot", upvotes=3),  # the later one wins
    ]
    stats = await app.papers.upsert(batch, now=T0.replace(hour=9))
    assert (stats.new, stats.updated, stats.unchanged) == (2, 1, 0)
    assert sorted(stats.new_features) == [
        ("2501.00001", date(2025, 1, 7)),
        ("2501.00002", date(2024, 12, 24)),
        ("2501.00003", date(2024, 12, 24)),
    ]
    twice = await app.papers.get("2501.00002")
    assert twice is not None and (twice.title, twice.upvotes) == ("Second Snapshot", 3)
    refreshed = await app.papers.get("2501.00001")
    assert refreshed is not None
    assert refreshed.upvotes == 9 and refreshed.updated_at == T0.replace(hour=9)
    assert refreshed.first_seen_at == T0
    assert refreshed.featured_on == (date(2024, 12, 24), date(2025, 1, 7))


async def test_many_papers_in_one_upsert(app: App) -> None:
    batch = [paper(id=f"2501.{i:05d}", title=f"Paper number {i}") for i in range(1, 451)]
    stats = await app.papers.upsert(batch, now=T0)
    assert (stats.new, len(stats.new_features)) == (450, 450)
    again = await app.papers.upsert(batch, now=T0)
    assert (again.new, again.updated, again.unchanged, again.new_features) == (0, 0, 450, [])
    assert await app.papers.count() == 450


async def test_changed_titles_are_reported_for_the_title_index(app: App) -> None:
    first = await app.papers.upsert([paper()], now=T0)
    assert first.titles == [("2412.17747", paper().title)]
    same = await app.papers.upsert([paper(upvotes=50)], now=T0)
    assert same.updated == 1 and same.titles == []
    renamed = await app.papers.upsert([paper(title="Deliberation in Latent Space v2")], now=T0)
    assert renamed.titles == [("2412.17747", "Deliberation in Latent Space v2")]


async def test_a_row_inserted_meanwhile_by_another_process_is_merged(app: App, db_url: str) -> None:
    """Between our read and our insert, another process stores the same paper."""
    other = make_engine(db_url)
    sessions = make_sessionmaker(other)

    class Racing(PaperRepo):
        async def _load(self, s: AsyncSession, ids: list[str]) -> dict[str, dict[str, Any]]:
            found = await super()._load(s, ids)
            if "2412.17747" in ids and not found:
                await PaperRepo(sessions).upsert([paper(upvotes=30, comments=4)], now=T0)
            return found

    try:
        stats = await Racing(app.sessions).upsert(
            [paper(upvotes=20, featured_on=(date(2024, 12, 24), date(2025, 1, 6)))],
            now=T0.replace(hour=9),
        )
    finally:
        await other.dispose()
    assert (stats.new, stats.updated, stats.unchanged) == (0, 0, 1)
    # The other process recorded the first day; this run only the second.
    assert stats.new_features == [("2412.17747", date(2025, 1, 6))]
    stored = await app.papers.get("2412.17747")
    assert stored is not None
    assert (stored.upvotes, stored.comments) == (30, 4)  # never rolled back
    assert stored.featured_on == (date(2024, 12, 24), date(2025, 1, 6))
    assert await app.papers.count() == 1


async def test_every_sqlite_migration_keeps_the_subscriptions(tmp_path: Path) -> None:
    """Batch mode rebuilds SQLite tables; a rebuilt `destinations` must not cascade away.

    Foreign keys are on in every paperbot connection, and dropping the old copy of a table
    with them on deletes its dependents: each step from 0006 to the head must keep them.
    """
    from alembic.script import ScriptDirectory
    from sqlalchemy import text

    from bot.storage.db import alembic_config, upgrade

    url = f"sqlite+aiosqlite:///{tmp_path}/old.sqlite3"
    await upgrade(url, "0006")
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO destinations (platform, kind, external_id, timezone, digest_time,"
                " digest_max, min_upvotes, weekdays_only, paused, alerts_mode, created_at)"
                " VALUES ('test', 'channel', 'C1', 'UTC', '09:00', 10, 0, 0, 0, 'daily',"
                " '2025-02-03 07:00:00.000000')"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO subscriptions (destination_id, query, canonical, created_at)"
                " VALUES (1, 'diffusion', 'diffusion', '2025-02-03 07:00:00.000000')"
            )
        )
    await engine.dispose()
    scripts = ScriptDirectory.from_config(alembic_config(url))
    steps = [s.revision for s in scripts.walk_revisions("0006", "heads")][::-1][1:]
    assert steps, "no migration after 0006"
    for revision in steps:
        await upgrade(url, revision)
        engine = make_engine(url)
        async with engine.connect() as conn:
            kept = (await conn.execute(text("SELECT count(*) FROM subscriptions"))).scalar()
        await engine.dispose()
        assert kept == 1, f"migration {revision} lost the subscriptions"
