"""`paperbot doctor` for Discord: the token, intents, synced commands, and the bot's
permissions in every subscribed channel, asked of Discord's REST API as the bot."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiohttp
import discord

from adapters.discord.client import INTENTS
from adapters.discord.config import DiscordConfig
from bot.ops.checks import TIMEOUT, Check, Subscribed, first_line

THREAD_TYPES = (10, 11, 12)  # announcement, public and private threads
# What a digest needs in a channel; in a thread, Send Messages in Threads instead.
NEEDED = (("view_channel", "View Channel"), ("send_messages", "Send Messages"))
NEEDED_ALWAYS = (("embed_links", "Embed Links"),)
# With `digest threads on` the bot also opens a thread from each digest and posts in it.
NEEDED_FOR_THREADS = (
    ("create_public_threads", "Create Public Threads"),
    ("send_messages_in_threads", "Send Messages in Threads"),
)
# Application flags (Developer Portal switches) that allow each privileged intent.
PRIVILEGED = {
    "members": ("Server Members", (1 << 14) | (1 << 15)),
    "presences": ("Presence", (1 << 12) | (1 << 13)),
    "message_content": ("Message Content", (1 << 18) | (1 << 19)),
}
PORTAL = "the Developer Portal (https://discord.com/developers/applications)"


class Rest:
    """GET requests to Discord as the bot; answers (status, JSON)."""

    def __init__(self, http: aiohttp.ClientSession, config: DiscordConfig) -> None:
        self._http = http
        self._base = config.api_base
        self._headers = {"Authorization": f"Bot {config.token}"}

    async def get(self, path: str) -> tuple[int, Any]:
        async with self._http.get(self._base + path, headers=self._headers) as resp:
            body = await resp.json(content_type=None) if resp.content_length != 0 else None
            return resp.status, body


def channel_permissions(
    guild: dict[str, Any], member: dict[str, Any], channel: dict[str, Any], bot_id: str
) -> discord.Permissions:
    """The bot's permissions in `channel`, as Discord computes them (roles, then overwrites:
    @everyone, the bot's roles together, then the bot itself)."""
    roles = {str(r["id"]): int(r["permissions"]) for r in guild.get("roles", [])}
    everyone = str(guild["id"])
    mine = [str(r) for r in member.get("roles", [])]
    perms = discord.Permissions(roles.get(everyone, 0))
    for role in mine:
        perms.value |= roles.get(role, 0)
    if perms.administrator or str(guild.get("owner_id")) == bot_id:
        return discord.Permissions.all()
    overwrites = {str(o["id"]): o for o in channel.get("permission_overwrites", [])}

    def bits(o: dict[str, Any] | None) -> tuple[int, int]:
        return (int(o["allow"]), int(o["deny"])) if o else (0, 0)

    allow, deny = bits(overwrites.get(everyone))
    perms.handle_overwrite(allow=allow, deny=deny)
    allow = deny = 0
    for role in mine:
        a, d = bits(overwrites.get(role))
        allow, deny = allow | a, deny | d
    perms.handle_overwrite(allow=allow, deny=deny)
    allow, deny = bits(overwrites.get(bot_id))
    perms.handle_overwrite(allow=allow, deny=deny)
    return perms


async def discord_checks(
    config: DiscordConfig, channels: Sequence[Subscribed], commands: Sequence[str]
) -> list[Check]:
    """Every Discord line of the doctor's table; `commands` are the names the bot syncs."""
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as http:
            return await _checks(Rest(http, config), config, channels, commands)
    except (aiohttp.ClientError, TimeoutError) as exc:
        return [
            Check.bad(
                "discord token",
                f"cannot reach {config.api_base} ({first_line(exc)})",
                "check DISCORD_API_BASE and this machine's outbound HTTPS",
            )
        ]


async def _checks(
    rest: Rest, config: DiscordConfig, channels: Sequence[Subscribed], commands: Sequence[str]
) -> list[Check]:
    status, me = await rest.get("/users/@me")
    if status == 401:
        return [
            Check.bad(
                "discord token",
                "Discord rejected DISCORD_TOKEN (401)",
                f"copy the token again from {PORTAL}: Bot tab, Reset Token",
            )
        ]
    if status != 200:
        return [Check.bad("discord token", f"GET /users/@me answered {status}", "try again")]
    bot_id = str(me["id"])
    out = [Check.ok("discord token", f"valid: logged in as {me.get('username')} ({bot_id})")]
    status, application = await rest.get("/oauth2/applications/@me")
    flags = int(application.get("flags") or 0) if status == 200 else 0
    out.append(_intents(flags))
    out.append(await _commands(rest, config, str(application.get("id") or bot_id), commands))
    guilds: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for channel in channels:
        out.append(await _channel(rest, channel, bot_id, guilds))
    if not channels:
        out.append(Check.ok("discord channels", "no subscribed channel to check"))
    return out


def _intents(flags: int) -> Check:
    wanted = [name for name, on in INTENTS if on]
    missing = [
        label
        for intent, (label, allowed) in PRIVILEGED.items()
        if getattr(INTENTS, intent) and not flags & allowed
    ]
    if missing:
        return Check.bad(
            "discord intents",
            f"privileged intents not enabled: {', '.join(missing)}",
            f"enable them in {PORTAL}: Bot tab, Privileged Gateway Intents",
        )
    return Check.ok("discord intents", f"{', '.join(wanted)}: none privileged, nothing to enable")


async def _commands(rest: Rest, config: DiscordConfig, app_id: str, wanted: Sequence[str]) -> Check:
    where = f"/guilds/{config.guild_id}" if config.guild_id else ""
    status, synced = await rest.get(f"/applications/{app_id}{where}/commands")
    scope = f"guild {config.guild_id}" if config.guild_id else "global"
    if status != 200:
        return Check.bad(
            "discord commands",
            f"cannot read the {scope} commands ({status})",
            "re-invite the bot with the applications.commands scope",
        )
    names = {c.get("name") for c in synced or []}
    missing = sorted(set(wanted) - names)
    if missing:
        return Check.bad(
            "discord commands",
            f"not synced ({scope}): /{', /'.join(missing)}",
            "start `paperbot run` once: it syncs on start (global commands take up to an hour "
            "to appear; DISCORD_GUILD_ID syncs one server at once)",
        )
    return Check.ok("discord commands", f"{len(wanted)} commands synced ({scope})")


async def _channel(
    rest: Rest,
    channel: Subscribed,
    bot_id: str,
    guilds: dict[str, tuple[dict[str, Any], dict[str, Any]]],
) -> Check:
    name = f"discord {channel.shown}"
    status, data = await rest.get(f"/channels/{channel.external_id}")
    if status == 404:
        return Check.bad(
            name, "the channel no longer exists", "unsubscribe it, or ignore: posting disables it"
        )
    if status == 403:
        return Check.bad(
            name,
            "the bot cannot see this channel (Missing Access)",
            "give paperbot's role View Channel there (Edit Channel → Permissions)",
        )
    if status != 200:
        return Check.bad(name, f"GET /channels answered {status}", "try again")
    thread = int(data.get("type", 0)) in THREAD_TYPES
    target = data
    if thread and data.get("parent_id"):
        status, parent = await rest.get(f"/channels/{data['parent_id']}")
        if status == 200:
            target = parent  # a thread has the permissions of its parent channel
    guild_id = str(data.get("guild_id", ""))
    if guild_id not in guilds:
        _, guild = await rest.get(f"/guilds/{guild_id}")
        _, member = await rest.get(f"/guilds/{guild_id}/members/{bot_id}")
        guilds[guild_id] = (guild or {"id": guild_id}, member or {})
    guild, member = guilds[guild_id]
    perms = channel_permissions(guild, member, target, bot_id)
    needed = [*NEEDED[:1], *(() if thread else NEEDED[1:]), *NEEDED_ALWAYS]
    if thread:
        needed.append(("send_messages_in_threads", "Send Messages in Threads"))
    elif channel.threads:
        needed.extend(NEEDED_FOR_THREADS)
    missing = [label for attr, label in needed if not getattr(perms, attr)]
    if missing:
        return Check.bad(
            name,
            f"missing {', '.join(missing)}",
            f"grant paperbot's role {', '.join(missing)} in that channel "
            "(Edit Channel → Permissions) or server-wide (Server Settings → Roles)",
        )
    return Check.ok(name, ", ".join(label for _, label in needed))
