"""The fake Discord speaks the protocol real discord.py expects (no paperbot code involved)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import discord
import pytest
import yarl
from discord import app_commands

from tests.fakes.discord_server import EPHEMERAL, FakeDiscord, rate_limited


@pytest.fixture(params=[False, True], ids=["text", "zlib-stream"])
async def fake(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(compress=request.param) as server:
        monkeypatch.setattr(discord.http.Route, "BASE", server.base_url)
        monkeypatch.setattr(
            discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(server.gateway_url)
        )
        yield server


class EchoClient(discord.Client):
    def __init__(self) -> None:
        super().__init__(intents=discord.Intents.default(), guild_ready_timeout=0.1)
        self.tree = app_commands.CommandTree(self)
        self.ready = asyncio.Event()

        @self.tree.command(name="echo", description="Say it back")
        async def echo(interaction: discord.Interaction, text: str) -> None:
            await interaction.response.send_message(f"echo {text}", ephemeral=True)

    async def setup_hook(self) -> None:
        await self.tree.sync()

    async def on_ready(self) -> None:
        self.ready.set()


async def test_discord_py_logs_in_syncs_and_answers_an_interaction(fake: FakeDiscord) -> None:
    client = EchoClient()
    task = asyncio.create_task(client.start(fake.token))
    try:
        await asyncio.wait_for(client.ready.wait(), 5)
        paths = [r.path for r in fake.requests]
        assert paths[:3] == [
            "/users/@me",
            "/oauth2/applications/@me",
            f"/applications/{fake.app_id}/commands",
        ]
        assert [c["name"] for c in fake.synced["global"]] == ["echo"]
        assert fake.identifies[0]["token"] == fake.token
        assert client.get_guild(int(fake.guild_id)) is not None

        token = await fake.interact(fake.interaction("echo", {"text": "hi"}))
        [msg] = await fake.wait_reply(token)
        assert msg["content"] == "echo hi"
        assert msg["flags"] & EPHEMERAL
    finally:
        await client.close()
        await task


async def test_scripted_429_is_retried_by_discord_py(fake: FakeDiscord) -> None:
    client = EchoClient()
    task = asyncio.create_task(client.start(fake.token))
    try:
        await asyncio.wait_for(client.ready.wait(), 5)
        fake.script("POST", rf"/channels/{fake.channel_id}/messages", rate_limited(0.05))
        channel = client.get_channel(int(fake.channel_id))
        assert isinstance(channel, discord.TextChannel)
        await channel.send("hello")
        assert len(fake.requests_to("POST", rf"/channels/{fake.channel_id}/messages")) == 2
        assert [m["content"] for m in fake.messages[fake.channel_id]] == ["hello"]
    finally:
        await client.close()
        await task


async def test_wrong_token_fails_login(fake: FakeDiscord) -> None:
    client = EchoClient()
    with pytest.raises(discord.LoginFailure):
        await client.login("not-the-token")
    await client.close()
