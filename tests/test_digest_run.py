"""`paperbot digest run` tells cron and Kubernetes about problems through its exit status."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from adapters.cli import EXIT_DELIVERY_PROBLEM, EXIT_POLL_FAILED, main
from bot.app import build_app
from bot.port import DeliveryError
from bot.services.ingest import poll_round
from bot.settings import load_settings
from bot.storage.db import upgrade
from tests.delivery_helpers import RecordingAdapter, utc
from tests.fakes.hf_server import FakeHF
from tests.helpers import FakeClock, TestBot
from tests.test_cli import paperbot


async def test_a_failed_poll_exits_3(tmp_path: Path) -> None:
    async with FakeHF() as hf:
        hf.fail_always(403)
        code, out, err = await paperbot("digest", "run", cwd=tmp_path, env={"HF_API_URL": hf.url})
    assert code == EXIT_POLL_FAILED == 3
    assert "digest run: 0 queued" in out
    assert err.strip().splitlines()[-1].startswith("paperbot: polling the paper source failed: ")
    assert "Traceback" not in err


async def test_messages_waiting_on_send_errors_exit_4(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Set up before the digest time (a first digest comes at the next time after set-up),
    # with today polled in a complete round; the cron run comes two minutes after 09:00.
    clock = FakeClock(utc(2025, 2, 3, 8, 50))
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    await upgrade(url)
    app = build_app(load_settings({"DATABASE_URL": url}), source_name="sample", clock=clock)
    try:
        await poll_round(app, [clock().date()])
        bot = TestBot(app)  # a channel on the "test" platform
        await bot.say("subscribe model")
        await bot.say("digest time 09:00 UTC")
    finally:
        await app.close()
    clock.set(utc(2025, 2, 3, 9, 2))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    for var in ("PAPERS_SOURCE", "LOG_LEVEL", "DISCORD_TOKEN", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    down = RecordingAdapter(fail=lambda d: DeliveryError("HTTP 503"))
    # The wiring builds the one adapter that posts to the "test" platform, and it is down.
    monkeypatch.setattr("adapters.cli.wiring.build_adapters", lambda core, env: [down])

    def digest_run() -> int:
        return main(["digest", "run", "--no-ingest"], clock=clock)

    code = await asyncio.to_thread(digest_run)
    captured = capsys.readouterr()
    assert code == EXIT_DELIVERY_PROBLEM == 4
    assert "digest run: 1 queued" in captured.out and "1 to retry" in captured.out
    assert captured.err.splitlines()[-1] == (
        "paperbot: 1 message waits for a retry after send errors, 0 failed, "
        "0 destinations disabled; see status"
    )
    # Nothing new is due and the message is not due again yet: still waiting, still 4.
    assert await asyncio.to_thread(digest_run) == EXIT_DELIVERY_PROBLEM
