"""`paperbot run` serves Slack given only environment variables (Socket Mode and HTTP mode)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from tests.fakes.slack_server import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    form_body,
    sign,
)


def _command() -> list[str]:
    script = Path(sys.executable).parent / "paperbot"
    return [str(script)] if script.exists() else [sys.executable, "-m", "adapters.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _run(tmp_path: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
    base = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        # Offline: the bundled sample instead of Hugging Face (tests never reach the network).
        "PAPERS_SOURCE": "sample",
    }
    return await asyncio.create_subprocess_exec(
        *_command(),
        "run",
        cwd=tmp_path,
        env={**base, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _stop(proc: asyncio.subprocess.Process) -> tuple[int, str]:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(proc.communicate(), 20)
    return proc.returncode or 0, err.decode()


async def test_run_in_socket_mode(slack: FakeSlack, tmp_path: Path) -> None:
    proc = await _run(
        tmp_path,
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_API_URL": slack.api_url,
        },
    )
    try:
        await asyncio.wait_for(slack.socket_connected.wait(), 30)
        ack = await slack.push("slash_commands", slack.slash_command_form("today", key="run"))
        assert set(ack) == {"envelope_id"}
        [answer] = await slack.wait_responses("run")
        assert "Daily Papers" in answer["blocks"][0]["text"]["text"]
    finally:
        code, err = await _stop(proc)
    assert code == 0, err


async def test_run_in_http_mode(slack: FakeSlack, tmp_path: Path) -> None:
    port = _free_port()
    proc = await _run(
        tmp_path,
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "SLACK_HTTP_PORT": str(port),
            "SLACK_HTTP_HOST": "127.0.0.1",
        },
    )
    try:
        body = form_body(slack.slash_command_form("help", key="http"))
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + 30
            while True:
                try:
                    async with session.post(
                        f"http://127.0.0.1:{port}/slack/events",
                        data=body.encode(),
                        headers=sign(body),
                    ) as resp:
                        assert resp.status == 200
                        break
                except aiohttp.ClientConnectionError:
                    if proc.returncode is not None:
                        _, err = await proc.communicate()
                        pytest.fail(f"paperbot run exited {proc.returncode}: {err.decode()}")
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.2)
        [answer] = await slack.wait_responses("http")
        assert answer["response_type"] == "ephemeral" and "/papers help" in str(answer)
    finally:
        code, err = await _stop(proc)
    assert code == 0, err


async def test_run_with_a_bad_value_exits_2_naming_the_variable(tmp_path: Path) -> None:
    proc = await _run(
        tmp_path,
        {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s", "SLACK_HTTP_PORT": "eighty"},
    )
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert "SLACK_HTTP_PORT must be a port number" in err.decode()
    assert "Traceback" not in err.decode()
