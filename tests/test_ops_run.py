"""`paperbot run` with METRICS_PORT and LOG_FORMAT=json, as a process against the fakes."""

from __future__ import annotations

import asyncio
import json
import re
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.fakes.discord_server import FakeDiscord
from tests.fakes.hf_server import FakeHF
from tests.helpers import daily_item
from tests.ops_helpers import get, scrape, value
from tests.test_discord_run import paperbot, run_env

HF_TOKEN = "hf_RunTokenAbCdEfGhIjKlMnOp"


async def read_until(
    stream: asyncio.StreamReader, seen: list[dict[str, Any]], pattern: str
) -> dict[str, Any]:
    """Read JSON log lines until one's message matches `pattern`; every line must be JSON."""
    async with asyncio.timeout(60):
        while True:
            raw = await stream.readline()
            assert raw, "the process ended"
            line = json.loads(raw)  # not JSON: the test fails here
            seen.append(line)
            if re.search(pattern, line["message"]):
                return line


async def test_run_serves_probes_and_metrics_and_logs_json(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    async with FakeHF() as hf:
        # The process polls by the real clock: today and yesterday, UTC. Three days listed,
        # so that it stores two papers even if midnight passes as it starts.
        now = datetime.now(UTC)
        for n, day in enumerate(now.date() + timedelta(days=d) for d in (-1, 0, 1)):
            hf.days[day.isoformat()] = [
                daily_item(f"2412.1774{n}", f"Diffusion at scale {n}", day=day.isoformat())
            ]
        env = run_env(
            fake,
            tmp_path,
            PAPERS_SOURCE="huggingface",
            HF_API_URL=hf.url,
            HF_TOKEN=HF_TOKEN,
            METRICS_PORT="0",
            LOG_FORMAT="json",
        )
        proc = await paperbot(env, tmp_path, "run")
        assert proc.stderr is not None
        seen: list[dict[str, Any]] = []
        try:
            started = await read_until(proc.stderr, seen, r"^operations endpoint on ")
            base = re.search(r"http://[\d.]+:\d+", started["message"])
            assert base is not None
            url = base.group(0)
            assert (await get(url + "/healthz"))[0] == 200
            await fake.wait_until(lambda: fake.connected, 30)
            async with asyncio.timeout(60):  # the first poll round, then ready
                while (status := (await get(url + "/readyz")))[0] != 200:
                    assert "database" not in status[2], status
                    await asyncio.sleep(0.1)
            metrics = await scrape(url)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            _, rest = await asyncio.wait_for(proc.communicate(), 30)
    seen += [json.loads(raw) for raw in rest.splitlines()]
    assert proc.returncode == 0
    assert value(metrics, "paperbot_ingest_polls_total", result="ok") >= 1
    assert value(metrics, "paperbot_papers_stored") == 2
    for line in seen:
        assert {"time", "level", "logger", "message"} <= set(line)
    text = json.dumps(seen)
    assert fake.token not in text and HF_TOKEN not in text
