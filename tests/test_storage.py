"""Storage: the migrated schema equals the models; paper upserts are idempotent."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.app import App
from bot.papers import Paper
from bot.storage.db import make_engine
from bot.storage.models import Base

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
