"""`paperbot run` brings the Discord bot up from environment variables alone, and sharding."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import discord
import pytest

from adapters.discord import DiscordAdapter, load_discord_config
from adapters.discord.config import DEFAULT_API_BASE
from bot.commands import build_registry
from bot.commands.registry import Registry
from bot.core import Core
from bot.messages import Notice
from bot.port import Destination
from bot.settings import ConfigError
from tests.discord_helpers import env_for, running_adapter
from tests.fakes.discord_server import EPHEMERAL, FakeDiscord, missing_access

ROOT = Path(__file__).resolve().parent.parent


def run_env(fake: FakeDiscord, tmp_path: Path, **extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ")}
    return {
        **keep,
        **env_for(fake),
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
        # Offline: the bundled sample instead of Hugging Face (tests never reach the network).
        "PAPERS_SOURCE": "sample",
        "HF_API_URL": "http://127.0.0.1:9",
        **extra,
    }


async def paperbot(env: dict[str, str], cwd: Path, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "adapters.cli",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_paperbot_run_serves_discord_from_env_vars(fake: FakeDiscord, tmp_path: Path) -> None:
    proc = await paperbot(run_env(fake, tmp_path), tmp_path, "run")
    try:
        await fake.wait_until(lambda: fake.connected and "global" in fake.synced, 30)
        slash = {c["name"] for c in fake.synced["global"] if c.get("type", 1) == 1}
        assert slash == set(build_registry().groups())
        token = await fake.interact(fake.interaction("help"))
        msgs = await fake.wait_reply(token, within=10)
        assert msgs and all(m["flags"] & EPHEMERAL for m in msgs)
        token = await fake.interact(fake.interaction("papers", {"limit": 3}))
        [msg] = await fake.wait_reply(token, within=10)
        assert len(msg["embeds"]) == 3
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, stderr.decode()[-2000:]
    assert fake.token not in stderr.decode()  # the token is never logged


async def test_a_token_in_dotenv_starts_discord(fake: FakeDiscord, tmp_path: Path) -> None:
    """DISCORD_* in `.env` (in the working directory) count like environment variables."""
    (tmp_path / ".env").write_text(
        "".join(f"{k}={v}\n" for k, v in env_for(fake).items()), encoding="utf-8"
    )
    env = {k: v for k, v in run_env(fake, tmp_path).items() if not k.startswith("DISCORD_")}
    proc = await paperbot(env, tmp_path, "run")
    try:
        await fake.wait_until(lambda: fake.connected and "global" in fake.synced, 30)
        token = await fake.interact(fake.interaction("papers", {"limit": 2}))
        [msg] = await fake.wait_reply(token, within=10)
        assert len(msg["embeds"]) == 2
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, stderr.decode()[-2000:]
    assert fake.token not in stderr.decode()


async def test_paperbot_run_rejects_a_bad_discord_setting(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    env = run_env(fake, tmp_path, DISCORD_SHARD_COUNT="2", DISCORD_SHARD_IDS="5")
    proc = await paperbot(env, tmp_path, "run")
    _, stderr = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2, stderr.decode()[-2000:]
    [line] = [x for x in stderr.decode().splitlines() if x.startswith("paperbot:")]
    assert "DISCORD_SHARD_IDS" in line and "below DISCORD_SHARD_COUNT=2" in line


async def test_a_shard_process_identifies_its_shard_and_only_shard_0_syncs(
    fake: FakeDiscord,
) -> None:
    core = Core(None, Registry(build_registry().all()))  # type: ignore[arg-type]
    env = env_for(fake, DISCORD_SHARD_COUNT="2", DISCORD_SHARD_IDS="1")
    async with running_adapter(fake, core, env):
        assert [d["shard"] for d in fake.identifies] == [[1, 2]]
        assert fake.synced == {}
    env = env_for(fake, DISCORD_SHARD_COUNT="2", DISCORD_SHARD_IDS="0")
    async with running_adapter(fake, core, env):
        assert fake.identifies[-1]["shard"] == [0, 2]
        assert "global" in fake.synced


async def test_a_rejected_token_is_a_configuration_error(fake: FakeDiscord) -> None:
    config = load_discord_config(env_for(fake, DISCORD_TOKEN="not-the-token"))
    assert config is not None
    adapter = DiscordAdapter(Core(None, Registry()), config)  # type: ignore[arg-type]
    try:
        with pytest.raises(ConfigError, match=r"^DISCORD_TOKEN: Discord rejected the token"):
            await adapter.start()
    finally:
        await adapter.stop()
    assert discord.http.Route.BASE == DEFAULT_API_BASE  # the endpoint override is undone


async def test_failed_command_sync_keeps_the_bot_running(
    fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    fake.script("PUT", rf"/applications/{fake.app_id}/commands", missing_access())
    core = Core(None, Registry(build_registry().all()))  # type: ignore[arg-type]
    async with running_adapter(fake, core) as adapter:
        assert "applications.commands scope" in caplog.text
        [part] = adapter.compose(Notice("still here"))
        result = await adapter.post(
            Destination("discord", "channel", fake.channel_id), part, key="k"
        )
        assert result.message_id == fake.messages[fake.channel_id][0]["id"]
