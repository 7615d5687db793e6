"""One stored paper read from a SQLite file with the standard library: `paperbot lookup <id>`.

An operator's id look-up reads one row and its featured days. Through the async engine the
process first spends ~0.3 s importing SQLAlchemy, its ORM and aiosqlite, and issue 17 asks
for the whole process in 0.5 s (bench/RESULTS.md, cli). This read answers only when it is
the whole answer: the file exists, its schema is at the head, it holds none of the bundled
sample's papers (the full path deletes those first), and the paper is stored. Otherwise it
returns None and the command runs through the repositories as always: it migrates, tidies,
and fetches the paper online.

The values are decoded as SQLAlchemy decodes these column types on SQLite (JSON as text,
datetimes as ISO text in UTC without a zone), then made into a Paper by the repository's own
conversion (bot.storage.paper_rows). Tests compare this read with the repository's for
every kind of stored paper, and these column lists with the model's types.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bot.papers import Paper
from bot.storage.paper_rows import SAMPLE_IDS, paper_from_columns
from bot.storage.revisions import connect_sqlite, head_revision, sqlite_revision
from bot.storage.sqlite_url import parse_sqlite_url

log = logging.getLogger(__name__)

# The papers columns stored as JSON text, and as UTC datetimes (models.PaperRow).
JSON_COLUMNS = frozenset({"authors", "ai_keywords", "artifacts"})
TIME_COLUMNS = frozenset({"published_at", "first_seen_at", "updated_at", "artifacts_checked_at"})


def stored_paper(url: str, paper_id: str) -> Paper | None:
    """The paper `paper_id` from the SQLite database at `url`, when this read is the answer.

    None when the full path must answer: not a SQLite file that exists, not at the head
    revision, sample papers stored, the paper not stored, or any sqlite3 error.
    """
    try:
        database = parse_sqlite_url(url).database
    except ValueError:
        return None
    # sqlite3 would create a missing file; the full path creates and migrates it.
    if not database or database.startswith("file:") or not Path(database).is_file():
        return None
    try:
        conn = connect_sqlite(url)
    except sqlite3.Error:
        return None
    try:
        return _read(conn, paper_id)
    except (sqlite3.Error, ValueError, TypeError, KeyError) as exc:
        # A file the quick read does not understand: the full path answers, or says why.
        log.debug("quick read of %s gave up: %s", paper_id, exc)
        return None
    finally:
        conn.close()


def _read(conn: sqlite3.Connection, paper_id: str) -> Paper | None:
    if sqlite_revision(conn) != head_revision():
        return None
    # One read transaction: the row, its days and the sample check see one state.
    conn.execute("BEGIN")
    try:
        if conn.execute("SELECT 1 FROM papers WHERE id LIKE ? LIMIT 1", (SAMPLE_IDS,)).fetchone():
            return None
        cur = conn.execute("SELECT * FROM papers WHERE id = ?", (paper_id,))
        row = cur.fetchone()
        if row is None:
            return None
        names = [d[0] for d in cur.description]
        days = [
            date.fromisoformat(day)
            for (day,) in conn.execute(
                "SELECT day FROM paper_features WHERE paper_id = ? ORDER BY day", (paper_id,)
            )
        ]
    finally:
        conn.rollback()
    columns = SimpleNamespace(**{n: _decode(n, v) for n, v in zip(names, row, strict=True)})
    return paper_from_columns(columns, days)


def _decode(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in JSON_COLUMNS:
        return json.loads(value)
    if name in TIME_COLUMNS:
        # UTCDateTime: stored in UTC without its zone, read back aware.
        t = datetime.fromisoformat(value)
        return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    return value
