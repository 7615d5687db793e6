"""The Discord adapter: a discord.py client serving the core's commands, and the delivery port."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from adapters.discord.commands import CommandBuilder
from adapters.discord.config import DiscordConfig, load_discord_config
from adapters.discord.endpoints import EndpointOverride
from adapters.discord.feedback import FeedbackButton, FeedbackMenu
from adapters.discord.forum import forum_parts, tags_of
from adapters.discord.paging import LegacyButton, PageButton
from adapters.discord.picking import PickSelect
from adapters.discord.sender import DiscordSender, amortise_bucket_sweeps, compose
from bot.messages import PaperList, Reply
from bot.port import Capabilities, DeliveryError, Destination, Part, Posted
from bot.settings import ConfigError

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)
LOGIN_WAIT = 60.0  # how long send() waits for the client to log in before giving up
GLOBAL_RATE = 50.0  # requests/s per bot, as Discord documents it (topics/rate-limits)
# Slash commands need no privileged intents; guilds keeps channel names cached.
INTENTS = discord.Intents(guilds=True)


class _PaperbotMixin:
    """What both client classes share: the command tree, synced in setup_hook."""

    tree: app_commands.CommandTree[Any]
    adapter: DiscordAdapter

    async def setup_hook(self) -> None:
        adapter = self.adapter
        # Buttons decoded from their custom_id, whichever process (or life) posted them.
        self.add_dynamic_items(  # type: ignore[attr-defined]
            PageButton, LegacyButton, PickSelect, FeedbackButton, FeedbackMenu
        )
        for command in adapter.builder.build(adapter.core.registry):
            self.tree.add_command(command)
        if not adapter.config.syncs_commands:
            log.info("shards %s do not include 0: not syncing commands", adapter.config.shard_ids)
            return
        guild = discord.Object(id=adapter.config.guild_id) if adapter.config.guild_id else None
        try:
            if guild is not None:
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
            else:
                synced = await self.tree.sync()
        except discord.HTTPException as exc:
            # A bot invited without the applications.commands scope cannot sync; keep running
            # so deliveries still work, and say how to fix it.
            log.error(
                "syncing app commands failed (%s); re-invite the bot with the "
                "applications.commands scope",
                exc,
            )
            return
        log.info(
            "synced %d app commands to %s",
            len(synced),
            f"guild {guild.id}" if guild else "all guilds (global)",
        )

    async def on_ready(self) -> None:
        user = getattr(self, "user", None)
        log.info("discord: logged in as %s", user)
        self.adapter.ready.set()


class PaperbotClient(_PaperbotMixin, discord.Client):
    pass


class ShardedPaperbotClient(_PaperbotMixin, discord.AutoShardedClient):
    pass


class DiscordAdapter:
    """Serves slash commands and posts digests and alerts on Discord."""

    platform = "discord"
    # Every post carries a nonce with enforce_nonce: Discord drops a repeat within minutes.
    # Discord documents a global limit of 50 requests/s per bot; discord.py only reacts to
    # its 429s, so the sender spaces posts under it (per-route buckets stay discord.py's).
    capabilities = Capabilities(dedupes_sends=True, rate=GLOBAL_RATE)

    def __init__(
        self,
        core: Core,
        config: DiscordConfig,
        *,
        guild_ready_timeout: float = 2.0,
        defer_after: float | None = None,
    ) -> None:
        self.core = core
        self.config = config
        self.builder = CommandBuilder(core, defer_after=defer_after)
        self.ready = asyncio.Event()
        self._logged_in = asyncio.Event()
        self._endpoints = EndpointOverride(config.api_base, config.gateway_url)
        self.client = self._new_client(guild_ready_timeout)
        self._guild_ready_timeout = guild_ready_timeout
        self.sender = DiscordSender(self._http, self._bot_id)

    def _new_client(self, guild_ready_timeout: float) -> PaperbotClient | ShardedPaperbotClient:
        """A fresh discord.py client: one that has been closed cannot log in again."""
        options: dict[str, Any] = {
            "intents": INTENTS,
            "allowed_mentions": discord.AllowedMentions.none(),
            "member_cache_flags": discord.MemberCacheFlags.none(),
            "chunk_guilds_at_startup": False,
            "guild_ready_timeout": guild_ready_timeout,
            # Longer waits surface as DeliveryError(retry_after=...) for the delivery layer.
            "max_ratelimit_timeout": 30.0,
        }
        config = self.config
        client: PaperbotClient | ShardedPaperbotClient
        if config.sharded:
            options.update(
                shard_count=config.shard_count,
                shard_ids=list(config.shard_ids) if config.shard_ids else None,
            )
            client = ShardedPaperbotClient(**options)
        else:
            client = PaperbotClient(**options)
        client.adapter = self
        amortise_bucket_sweeps(client.http)
        client.tree = app_commands.CommandTree(client)
        return client

    @property
    def tree(self) -> app_commands.CommandTree[Any]:
        return self.client.tree

    @property
    def connected(self) -> bool:
        """Logged in with the gateway session open (what /readyz asks)."""
        return self.client.is_ready() and not self.client.is_closed()

    async def start(self) -> None:
        """Log in, sync the commands, and serve until stop().

        Called again after a crash (by bot.supervision), it starts over with a new client.
        """
        if self.client.is_closed():
            self._logged_in.clear()
            self.ready.clear()
            self.client = self._new_client(self._guild_ready_timeout)
        self._endpoints.apply()
        try:
            await self.client.login(self.config.token)
        except discord.LoginFailure:
            raise ConfigError(
                "DISCORD_TOKEN: Discord rejected the token; copy it again from the Developer "
                "Portal (Bot tab, Reset Token)"
            ) from None
        self._logged_in.set()
        try:
            await self.client.connect(reconnect=True)
        finally:
            # A client that stopped (or crashed) cannot post: sends wait for the next login.
            self._logged_in.clear()

    async def stop(self) -> None:
        await self.client.close()
        self._endpoints.restore()

    def _bot_id(self) -> int | None:
        user = self.client.user
        return user.id if user is not None else None

    async def _http(self) -> discord.http.HTTPClient:
        try:
            await asyncio.wait_for(self._logged_in.wait(), LOGIN_WAIT)
        except TimeoutError:
            raise DeliveryError(
                "the Discord client is not logged in yet", retry_after=30.0
            ) from None
        return self.client.http

    def compose(self, reply: Reply) -> list[Part]:
        return compose(reply)

    async def compose_at(self, reply: Reply, destination: Destination) -> list[Part]:
        """`compose`, except that a digest into a forum channel is one post per paper."""
        if isinstance(reply, PaperList) and reply.items and destination.kind == "channel":
            channel: Any = self.client.get_channel(int(destination.id))
            if channel is None:  # not in this process's cache (another shard, not ready)
                try:
                    channel = await (await self._http()).get_channel(int(destination.id))
                except (discord.HTTPException, DeliveryError):
                    channel = None  # posting finds out what is wrong, and says so
            tags = tags_of(channel)
            if tags is not None:
                return forum_parts(reply, tags)
        return compose(reply)

    async def post(self, destination: Destination, part: Part, *, key: str) -> Posted:
        return await self.sender.post(destination, part, key=key)

    async def find_posted(self, destination: Destination, key: str) -> Posted | None:
        """Never asked: Discord drops a repeated post by its nonce (`dedupes_sends`)."""
        return None


def build_discord_adapter(
    core: Core, env: Mapping[str, str], **kwargs: Any
) -> DiscordAdapter | None:
    """The Discord adapter when DISCORD_TOKEN is set, else None; bad values raise ConfigError."""
    config = load_discord_config(env)
    return DiscordAdapter(core, config, **kwargs) if config is not None else None
