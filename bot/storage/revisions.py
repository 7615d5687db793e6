"""Where the migrations are and which one is the newest, without loading Alembic or SQLAlchemy.

Every command checks the database's revision against the head before it decides to migrate
(bot.storage.db.upgrade), and the quick id look-up (bot.storage.sqlite_read) before it reads.
"""

from __future__ import annotations

import re
import sqlite3
from importlib import resources
from pathlib import Path

from bot.storage.sqlite_url import parse_sqlite_url

# The Alembic scripts ship inside the package (bot/storage/migrations), so a wheel has them.
MIGRATIONS_PACKAGE = "bot.storage.migrations"

_REVISION = re.compile(r"^revision(?:: str)? = [\"']([^\"']+)[\"']", re.M)
_DOWN = re.compile(r"^down_revision(?:: [^=]+)? = [\"']([^\"']+)[\"']", re.M)


def migrations_dir() -> Path:
    """The directory of the Alembic scripts (env.py, versions/), found through the package."""
    return Path(str(resources.files(MIGRATIONS_PACKAGE)))


def head_revision() -> str:
    """The newest migration's revision, read off the scripts without loading Alembic.

    Every script names its `revision` and the `down_revision` it follows; the head is the
    one no other script follows (a test checks it against Alembic's own answer).
    """
    revisions: set[str] = set()
    followed: set[str] = set()
    for path in (migrations_dir() / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        if found := _REVISION.search(source):
            revisions.add(found.group(1))
        if down := _DOWN.search(source):
            followed.add(down.group(1))
    heads = revisions - followed
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


def connect_sqlite(url: str) -> sqlite3.Connection:
    """A standard-library connection to the SQLite file of `url`, opened as aiosqlite opens it."""
    parsed = parse_sqlite_url(url)
    return sqlite3.connect(parsed.database or "", timeout=30, uri=parsed.flag("uri"))


def sqlite_revision(conn: sqlite3.Connection) -> str | None:
    """The schema revision of an open SQLite database; None if it was never migrated.

    Fails on a file that is not a database (reading the header), like a connection would.
    """
    conn.execute("PRAGMA schema_version")
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:  # no such table: never migrated
        return None
    return str(row[0]) if row else None
