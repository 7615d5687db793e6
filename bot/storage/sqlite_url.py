"""A SQLite database URL taken apart without SQLAlchemy.

The settings check every DATABASE_URL, and `paperbot lookup <id>` reads a SQLite file with
the standard library: neither should pay the ~0.2 s of importing SQLAlchemy to learn a
file name (issue 17, bench/RESULTS.md, cli). The pattern is SQLAlchemy's own
(`sqlalchemy.engine.url._parse_url`), so the parts are the ones its `make_url` gives; a
test holds the two to the same answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

_URL = re.compile(
    r"""
        (?P<name>[\w\+]+)://
        (?:
            (?P<username>[^:/]*)
            (?::(?P<password>[^@]*))?
        @)?
        (?:
            (?:
                \[(?P<ipv6host>[^/\?]+)\] |
                (?P<ipv4host>[^/:\?]+)
            )?
            (?::(?P<port>[^/\?]*))?
        )?
        (?:/(?P<database>[^\?]*))?
        (?:\?(?P<query>.*))?
    """,
    re.X,
)


@dataclass(frozen=True)
class SqliteUrl:
    database: str | None  # the file name; None or "" or ":memory:" is SQLite's in-memory one
    query: dict[str, tuple[str, ...]]  # every value of each query parameter, in order

    def flag(self, name: str) -> bool:
        """Whether query parameter `name` is set to true ("?uri=true")."""
        return any(v.lower() in ("true", "1") for v in self.query.get(name, ()))

    @property
    def in_memory(self) -> bool:
        """Whether the URL names no file: each connection would see an empty database."""
        if self.database in (None, "", ":memory:"):
            return True
        return any("memory" in v for v in self.query.get("mode", ()))


def parse_sqlite_url(url: str) -> SqliteUrl:
    """The parts of a sqlite:// URL; ValueError if SQLAlchemy could not parse it either."""
    m = _URL.match(url)
    if m is None or not m.group("name").startswith("sqlite"):
        raise ValueError("not a SQLite URL")
    if m.group("port"):
        int(m.group("port"))  # ValueError, as make_url raises for "host:port" with no number
    query: dict[str, tuple[str, ...]] = {}
    for key, value in parse_qsl(m.group("query") or ""):
        query[key] = (*query.get(key, ()), value)
    database = m.group("database")
    return SqliteUrl(None if database is None else unquote(database), query)
