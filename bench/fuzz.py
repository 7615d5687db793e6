"""Fuzz every command with hostile input through the real core: `python bench/fuzz.py`.

The long version of `tests/test_fuzz_commands.py`: 20,000 seeded lines (`--n`, `--seed`)
from `tests/fuzzing.py` on a fresh SQLite file with the bundled sample stored, or on
PostgreSQL with `--postgres URL` (a database of that server is created and dropped). Prints
how many commands ran, how many failed, and the first failing lines. A failure is an answer
that is the central handler's apology ("internal error"), an exception out of the core
("raised"), or an error answer of more than one line or 400 characters ("long error").
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import build_app
from bot.services.ingest import ingest_day
from bot.settings import load_settings
from bot.storage.db import make_engine, upgrade
from tests.fuzzing import fuzz
from tests.helpers import FakeClock, TestBot


async def _admin(url: str, statement: str) -> None:
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(statement))
    await engine.dispose()


async def main(n: int, seed: int, postgres: str | None) -> int:
    logging.basicConfig(level=logging.CRITICAL)  # the failures are counted, not logged
    if postgres:
        admin = load_settings({"DATABASE_URL": postgres}).database_url
        name = f"paperbot_fuzz_{uuid.uuid4().hex[:8]}"
        await _admin(admin, f'CREATE DATABASE "{name}"')
        url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/fuzz.sqlite3"
    try:
        await upgrade(url)
        clock = FakeClock(datetime(2024, 12, 24, 10, 0, tzinfo=UTC))
        app = build_app(load_settings({"DATABASE_URL": url}), source_name="sample", clock=clock)
        await ingest_day(app, clock().date())
        started = time.monotonic()
        report = await fuzz(TestBot(app), n, seed)
        elapsed = time.monotonic() - started
        await app.close()
    finally:
        if postgres:
            await _admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    backend = "postgresql" if postgres else "sqlite"
    print(f"backend: {backend}; seed {seed}; {report.commands} commands in {elapsed:.1f} s")
    kinds = Counter(what.split(":")[0] for _, what in report.failures)
    print(f"failures: {len(report.failures)} {dict(kinds)}")
    for line, what in report.failures[:20]:
        print(f"  {what}: {line[:120]!r}")
    return 1 if report.failures else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--postgres", metavar="URL", help="run on this PostgreSQL server")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.n, args.seed, args.postgres)))
