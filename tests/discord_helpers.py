"""Run the real Discord adapter (real discord.py) against the local fake Discord."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from adapters.discord import DiscordAdapter, load_discord_config
from bot.core import Core
from tests.fakes.discord_server import ALL_PERMISSIONS, FakeDiscord, message_problems


def env_for(fake: FakeDiscord, **extra: str) -> dict[str, str]:
    return {
        "DISCORD_TOKEN": fake.token,
        "DISCORD_API_BASE": fake.base_url,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
        **extra,
    }


@asynccontextmanager
async def running_adapter(
    fake: FakeDiscord, core: Core, env: dict[str, str] | None = None, **kwargs: Any
) -> AsyncIterator[DiscordAdapter]:
    """Start the adapter against `fake`, wait for on_ready, stop it afterwards."""
    config = load_discord_config(env or env_for(fake))
    assert config is not None
    adapter = DiscordAdapter(core, config, guild_ready_timeout=0.05, **kwargs)
    task = asyncio.create_task(adapter.start())
    try:
        ready = asyncio.create_task(adapter.ready.wait())
        done, _ = await asyncio.wait({ready, task}, timeout=10, return_when="FIRST_COMPLETED")
        if task in done:
            task.result()  # raise what stopped it
        assert ready in done, "the Discord adapter did not become ready"
        yield adapter
    finally:
        await adapter.stop()
        await asyncio.wait_for(task, 5)


def embed_titles(message: dict[str, Any]) -> list[str]:
    return [e.get("title", "") for e in message["embeds"]]


async def say(
    fake: FakeDiscord,
    name: str,
    options: dict[str, Any] | None = None,
    *,
    sub: str | None = None,
    dm: bool = False,
    permissions: int = ALL_PERMISSIONS,
    count: int = 1,
) -> list[dict[str, Any]]:
    """Run a slash command; return the finished messages that answer it (all well formed)."""
    payload = fake.interaction(
        name, options, sub=[sub] if sub else None, dm=dm, permissions=permissions
    )
    msgs = await fake.wait_reply(await fake.interact(payload), count=count, within=10)
    for m in msgs:
        assert message_problems(m) == [], m
        assert m["allowed_mentions"] == {"parse": []}
        assert "went wrong" not in (m["content"] or ""), m["content"]
    return msgs
