"""The quick SQLite read of `paperbot lookup <id>` (bot.storage.sqlite_read) against the repository.

The quick read decodes the papers row itself; these tests hold it to the repository's answer
for every kind of stored paper, to the model's column types, and to giving way (None) in every
case the full path has more to do than read.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import JSON
from sqlalchemy.engine import make_url

from bot.app import build_app
from bot.papers import ArtifactRef, Artifacts, Paper
from bot.settings import ConfigError, load_settings
from bot.storage.models import PaperRow, UTCDateTime
from bot.storage.sqlite_read import JSON_COLUMNS, TIME_COLUMNS, stored_paper
from bot.storage.sqlite_url import parse_sqlite_url

NOW = datetime(2024, 12, 24, 8, 30, 15, 123456, tzinfo=UTC)
PAPERS = [
    Paper(id="2412.00001", title="Bare"),
    Paper(
        id="2412.17747",
        title="Deliberation in Latent Space — “quoted”, 日本語 and an emoji 🧠",
        abstract="Line one.\nLine two with <tags> & ampersands.",
        authors=("Luyang Liu", "Jonas Pfeiffer"),
        claimed=(("Luyang Liu", "luyang"),),
        published_at=datetime(2024, 12, 23, 17, 5, tzinfo=UTC),
        featured_on=(date(2024, 12, 24), date(2025, 1, 2), date(2024, 12, 26)),
        upvotes=140,
        comments=7,
        github_repo="https://github.com/owner/repo",
        github_stars=0,
        project_page="https://example.org/p",
        ai_summary="A summary.",
        ai_keywords=("latent", "cache"),
        organization="Google DeepMind",
        organization_handle="google",
        thumbnail="https://cdn.example/t.png",
    ),
]


@pytest.fixture
def db_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated SQLite file: the quick read is SQLite's (PostgreSQL takes the full path)."""
    path = tmp_path / "paperbot.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


async def _repo_reads(db_url: str, ids: list[str]) -> list[Paper | None]:
    app = build_app(load_settings({"DATABASE_URL": db_url}), source_name="huggingface")
    try:
        return [await app.papers.get(i) for i in ids]
    finally:
        await app.close()


def _same(quick: Paper | None, repo: Paper | None) -> None:
    assert quick is not None and repo is not None
    assert quick == repo
    # Not part of Paper's equality, but part of what the read gives.
    assert (quick.first_seen_at, quick.updated_at) == (repo.first_seen_at, repo.updated_at)
    assert quick.first_seen_at is not None and quick.first_seen_at.tzinfo is UTC


async def test_the_quick_read_is_the_repository_read(db_url: str) -> None:
    app = build_app(load_settings({"DATABASE_URL": db_url}), source_name="huggingface")
    try:
        await app.papers.upsert(PAPERS, now=NOW)
        await app.papers.save_artifacts(
            "2412.17747",
            Artifacts(3, 1, 0, top=(ArtifactRef("model", "o/m"), ArtifactRef("dataset", "o/d"))),
            NOW,
        )
    finally:
        await app.close()
    # An author list as Hugging Face gives it, with a hidden author (the parser keeps those).
    path = make_url(db_url).database
    assert path is not None
    with sqlite3.connect(path) as conn:
        authors = [{"name": "A"}, {"name": "B", "hidden": True}, {"name": "C", "user": "c"}]
        conn.execute(
            "UPDATE papers SET authors = ? WHERE id = ?", (json.dumps(authors), "2412.00001")
        )
    ids = [p.id for p in PAPERS]
    repo = await _repo_reads(db_url, ids)
    for paper_id, expected in zip(ids, repo, strict=True):
        _same(stored_paper(db_url, paper_id), expected)
    quick = stored_paper(db_url, "2412.17747")
    assert quick is not None and quick.artifacts is not None and quick.artifacts.models == 3
    assert quick.featured_on == (date(2024, 12, 24), date(2024, 12, 26), date(2025, 1, 2))
    bare = stored_paper(db_url, "2412.00001")
    assert bare is not None and bare.authors == ("A", "C") and bare.claimed == (("C", "c"),)


async def test_the_quick_read_gives_way_to_the_full_path(db_url: str, tmp_path: Path) -> None:
    app = build_app(load_settings({"DATABASE_URL": db_url}), source_name="huggingface")
    try:
        await app.papers.upsert(PAPERS, now=NOW)
        assert stored_paper(db_url, "2412.17747") is not None
        # Not stored: the full path fetches it online.
        assert stored_paper(db_url, "2412.99999") is None
        # A demo's sample papers are still there: the full path deletes them first.
        await app.papers.upsert([Paper(id="sample-01", title="A sample paper")], now=NOW)
        assert stored_paper(db_url, "2412.17747") is None
        assert await app.papers.delete_sample(only_beside_real=True) == 1
        assert stored_paper(db_url, "2412.17747") is not None
    finally:
        await app.close()
    path = make_url(db_url).database
    assert path is not None
    # A database behind the migrations: the full path migrates it.
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0016'")
    assert stored_paper(db_url, "2412.17747") is None
    # No file: nothing is created (the full path creates and migrates it).
    missing = tmp_path / "none" / "missing.sqlite3"
    assert stored_paper(f"sqlite+aiosqlite:///{missing}", "2412.17747") is None
    assert not missing.exists()
    # Not a database: the full path says so in one line.
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    assert stored_paper(f"sqlite+aiosqlite:///{junk}", "2412.17747") is None


def test_the_decoded_columns_are_the_models() -> None:
    columns = PaperRow.__table__.columns
    assert {c.name for c in columns if isinstance(c.type, JSON)} == JSON_COLUMNS
    assert {c.name for c in columns if isinstance(c.type, UTCDateTime)} == TIME_COLUMNS


@pytest.mark.parametrize(
    "url",
    [
        "sqlite+aiosqlite:///paperbot.sqlite3",
        "sqlite+aiosqlite:////abs/path/paperbot.sqlite3",
        "sqlite+aiosqlite:///./rel/with%20space.db",
        "sqlite+aiosqlite://",
        "sqlite+aiosqlite:///",
        "sqlite+aiosqlite:///:memory:",
        "sqlite+aiosqlite:///file:pb?mode=memory&cache=shared&uri=true",
        "sqlite+aiosqlite:///file:pb.db?mode=ro&uri=true",
        "sqlite+aiosqlite:///a.db?timeout=5&timeout=6",
        "sqlite+aiosqlite://host:12/a.db",
        "sqlite+aiosqlite://user:pw@host/a.db",
    ],
)
def test_a_sqlite_url_has_the_parts_sqlalchemy_gives(url: str) -> None:
    ours, theirs = parse_sqlite_url(url), make_url(url)
    assert ours.database == theirs.database
    assert ours.query == dict(theirs.normalized_query)


def test_a_sqlite_url_sqlalchemy_cannot_parse_is_refused_alike() -> None:
    with pytest.raises(ValueError):
        make_url("sqlite+aiosqlite://host:port/a.db")
    with pytest.raises(ValueError):
        parse_sqlite_url("sqlite+aiosqlite://host:port/a.db")
    with pytest.raises(ConfigError, match="DATABASE_URL must be"):
        load_settings({"DATABASE_URL": "sqlite+aiosqlite://host:port/a.db"})
    with pytest.raises(ConfigError, match="not an in-memory SQLite database"):
        load_settings({"DATABASE_URL": "sqlite:///file:x?mode=memory&uri=true"})
