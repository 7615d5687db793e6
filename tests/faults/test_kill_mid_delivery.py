"""kill -9 of a real `paperbot run` while it posts split digests to the fake Discord, on
SQLite and PostgreSQL; the papers change between its lives. Every paper of every digest
arrives exactly once, with Discord's nonce kept for 60 s (a real server keeps it for "a few
minutes"). `bench/faults.py` runs the long version.
"""

from __future__ import annotations

from pathlib import Path

from bot.app import build_app
from bot.services.ingest import ingest_day
from bot.settings import load_settings
from tests.fakes.discord_server import FakeDiscord
from tests.faults.killing import compose_split_digests, kill_and_restart, pending, tally
from tests.helpers import FakeClock
from tests.test_discord_run import run_env


async def test_kill_9_mid_delivery_loses_and_doubles_nothing(
    fake: FakeDiscord, tmp_path: Path, clock: FakeClock, db_url: str
) -> None:
    # A short lease, so that on PostgreSQL the next life takes over the dead one's claims
    # within seconds (SQLite frees them on start).
    env = run_env(fake, tmp_path, DATABASE_URL=db_url, DELIVERY_LEASE_SECONDS="3")
    # Composed at the fake clock's time, in the past for the bot process: due at once.
    app = build_app(load_settings({"DATABASE_URL": db_url}), source_name="sample", clock=clock)
    try:
        await ingest_day(app, clock().date())
        listed = await compose_split_digests(app, fake, channels=6)
        assert len(listed) == 6 and min(listed.values()) >= 20  # several messages each
        fake.nonce_window = 60.0
        await kill_and_restart(app, fake, listed, env, tmp_path, kills=3, seed=20261201)
        assert await pending(app) == 0
        result = tally(fake, listed)
        assert (result.lost, result.doubled) == (0, 0), result
        assert result.messages > 2 * len(listed)
    finally:
        await app.close()


async def test_kill_9_mid_threaded_delivery_keeps_one_thread_and_every_paper_once(
    fake: FakeDiscord, tmp_path: Path, clock: FakeClock, db_url: str
) -> None:
    """`digest threads on`: every life goes on in the thread the first one opened."""
    env = run_env(fake, tmp_path, DATABASE_URL=db_url, DELIVERY_LEASE_SECONDS="3")
    app = build_app(load_settings({"DATABASE_URL": db_url}), source_name="sample", clock=clock)
    try:
        await ingest_day(app, clock().date())
        listed = await compose_split_digests(app, fake, channels=3, threads=True)
        assert len(listed) == 3 and min(listed.values()) >= 20
        fake.nonce_window = 60.0
        await kill_and_restart(app, fake, listed, env, tmp_path, kills=3, seed=20261202)
        assert await pending(app) == 0
        result = tally(fake, listed)
        assert (result.lost, result.doubled) == (0, 0), result
        for cid in listed:  # one header and one thread per digest, the papers in it
            [header] = fake.messages[cid]
            [thread] = [t for t in fake.threads.values() if t["parent_id"] == cid]
            assert thread["id"] == header["id"]
            assert len(fake.messages[thread["id"]]) == listed[cid]
    finally:
        await app.close()
