"""Discord objects and limits for the fake Discord: users, guilds, messages, interactions."""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

ALL_PERMISSIONS = (1 << 53) - 1
MANAGE_CHANNELS = 1 << 4
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38
EVERYONE_PERMISSIONS = 0x0000_0000_0006_3E40  # view, send, embed, history, reactions
EPHEMERAL = 64
TIMESTAMP = "2026-01-01T00:00:00.000000+00:00"


@dataclass
class Recorded:
    method: str
    path: str  # without the /api/v10 prefix and the query string
    query: dict[str, str]
    json: Any
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)  # when it arrived


@dataclass
class Scripted:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def rate_limited(retry_after: float = 0.05, *, is_global: bool = False) -> Scripted:
    """A 429 as Discord sends it (discord.py only retries when `Via` is present)."""
    return Scripted(
        429,
        {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": is_global,
            "code": 0,
        },
        {
            "Via": "1.1 google",
            "Retry-After": str(max(1, round(retry_after))),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset-After": str(retry_after),
            "X-RateLimit-Bucket": "fakebucket",
            "X-RateLimit-Scope": "user",
            "X-RateLimit-Global": str(is_global).lower(),
        },
    )


def error(status: int, code: int, message: str) -> Scripted:
    return Scripted(status, {"message": message, "code": code})


def missing_access() -> Scripted:
    return error(403, 50001, "Missing Access")


def missing_permissions() -> Scripted:
    return error(403, 50013, "Missing Permissions")


def cannot_dm() -> Scripted:
    return error(403, 50007, "Cannot send messages to this user")


def unknown_channel() -> Scripted:
    return error(404, 10003, "Unknown Channel")


def server_error() -> Scripted:
    return Scripted(503, {"message": "Service Unavailable", "code": 0})


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    # discord.py only parses JSON when the content type is exactly application/json.
    return web.Response(
        status=status,
        body=json.dumps(data).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def embed_length(embed: dict[str, Any]) -> int:
    """Count an embed's characters the way Discord does for its 6,000 limit."""
    n = len(embed.get("title") or "") + len(embed.get("description") or "")
    n += sum(len(f.get("name") or "") + len(f.get("value") or "") for f in embed.get("fields", []))
    n += len((embed.get("footer") or {}).get("text") or "")
    n += len((embed.get("author") or {}).get("name") or "")
    return n


def message_problems(data: dict[str, Any]) -> list[str]:
    """Return what real Discord would reject in a message body (empty when valid)."""
    problems: list[str] = []
    content = data.get("content") or ""
    embeds = data.get("embeds") or []
    if len(content) > 2000:
        problems.append(f"content: {len(content)} > 2000")
    if len(embeds) > 10:
        problems.append(f"embeds: {len(embeds)} > 10")
    total = sum(embed_length(e) for e in embeds)
    if total > 6000:
        problems.append(f"embeds total: {total} > 6000")
    for i, e in enumerate(embeds):
        for key, limit in (("title", 256), ("description", 4096)):
            if len(e.get(key) or "") > limit:
                problems.append(f"embeds.{i}.{key} > {limit}")
        if len(e.get("fields", [])) > 25:
            problems.append(f"embeds.{i}.fields > 25")
        for f in e.get("fields", []):
            if not f.get("name") or not f.get("value"):
                problems.append(f"embeds.{i}.fields: empty name or value")
            if len(f.get("name") or "") > 256 or len(f.get("value") or "") > 1024:
                problems.append(f"embeds.{i}.fields: too long")
        if len((e.get("footer") or {}).get("text") or "") > 2048:
            problems.append(f"embeds.{i}.footer > 2048")
        if len((e.get("author") or {}).get("name") or "") > 256:
            problems.append(f"embeds.{i}.author.name > 256")
        for key in ("url",):
            if e.get(key) and not str(e[key]).startswith(("http://", "https://")):
                problems.append(f"embeds.{i}.{key}: not a URL")
    rows = data.get("components") or []
    if len(rows) > 5:
        problems.append("components: more than 5 action rows")
    for row in rows:
        cs = row.get("components") or []
        if len(cs) > 5 or (len(cs) > 1 and any(c.get("type") == 3 for c in cs)):
            problems.append("components: a row holds up to 5 buttons or one select menu")
        for c in cs:
            if len(c.get("label") or "") > 80 or len(c.get("custom_id") or "") > 100:
                problems.append("components: label > 80 or custom_id > 100")
            if c.get("type") == 3:  # a select menu
                problems.extend(select_problems(c))
    if not content and not embeds and not data.get("components"):
        problems.append("empty message")
    return problems


def select_problems(menu: dict[str, Any]) -> list[str]:
    """What real Discord would reject in a string select menu (empty when valid)."""
    options = menu.get("options") or []
    problems = [] if 1 <= len(options) <= 25 else [f"select: {len(options)} options, not 1-25"]
    if len(menu.get("placeholder") or "") > 150:
        problems.append("select: placeholder > 150")
    values = [o.get("value") for o in options]
    if len(set(values)) != len(values):
        problems.append("select: option values repeat")
    for i, o in enumerate(options):
        for key in ("label", "value"):
            if not 1 <= len(o.get(key) or "") <= 100:
                problems.append(f"select.options.{i}.{key}: not 1-100 characters")
        if len(o.get("description") or "") > 100:
            problems.append(f"select.options.{i}.description > 100")
    return problems


def choice_problems(choices: list[dict[str, Any]]) -> list[str]:
    """Return what real Discord would reject in an autocomplete result (empty when valid)."""
    problems = [f"choices: {len(choices)} > 25"] if len(choices) > 25 else []
    for i, c in enumerate(choices):
        if not 1 <= len(str(c.get("name") or "")) <= 100:
            problems.append(f"choices.{i}.name: not 1-100 characters")
        if isinstance(c.get("value"), str) and len(c["value"]) > 100:
            problems.append(f"choices.{i}.value > 100")
    return problems


class DiscordObjects:
    """The fake's world (one guild, one channel, alice) and builders of its payloads."""

    def __init__(self) -> None:
        self._ids = itertools.count(1_400_000_000_000_000_000)
        self.app_id = "1000000000000000001"
        self.bot_user = self.user("1000000000000000001", "paperbot", bot=True)
        self.guild_id = "1100000000000000001"
        self.channel_id = "1200000000000000001"
        self.alice = self.user("1300000000000000001", "alice")
        self.channels: dict[str, dict[str, Any]] = {
            self.channel_id: {
                "id": self.channel_id,
                "type": 0,
                "guild_id": self.guild_id,
                "name": "general",
                "position": 0,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
            },
        }
        self._dms: dict[str, str] = {}  # user id -> DM channel id

    def next_id(self) -> str:
        return str(next(self._ids))

    @staticmethod
    def user(uid: str, name: str, *, bot: bool = False) -> dict[str, Any]:
        return {
            "id": uid,
            "username": name,
            "discriminator": "0",
            "global_name": name,
            "avatar": None,
            "bot": bot,
        }

    def message_obj(
        self, channel_id: str, data: dict[str, Any], *, flags: int = 0, webhook: bool = False
    ) -> dict[str, Any]:
        msg = {
            "id": self.next_id(),
            "channel_id": channel_id,
            "type": 0,
            "content": data.get("content") or "",
            "author": self.bot_user,
            "embeds": data.get("embeds") or [],
            "components": data.get("components") or [],
            "attachments": data.get("attachments") or [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": TIMESTAMP,
            "edited_timestamp": None,
            "flags": flags | int(data.get("flags") or 0),
            "allowed_mentions": data.get("allowed_mentions"),
            "nonce": data.get("nonce"),
        }
        if webhook:
            msg["webhook_id"] = self.app_id
            msg["application_id"] = self.app_id
        return msg

    def guild_create_obj(self) -> dict[str, Any]:
        return {
            "id": self.guild_id,
            "name": "Fake Guild",
            "unavailable": False,
            "member_count": 2,
            "owner_id": self.alice["id"],
            "large": False,
            "features": [],
            "emojis": [],
            "stickers": [],
            "voice_states": [],
            "presences": [],
            "threads": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "roles": [
                {
                    "id": self.guild_id,
                    "name": "@everyone",
                    "permissions": str(EVERYONE_PERMISSIONS),
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                }
            ],
            "channels": [c for c in self.channels.values() if c.get("guild_id") == self.guild_id],
            "members": [
                {
                    "user": self.bot_user,
                    "roles": [],
                    "joined_at": TIMESTAMP,
                    "deaf": False,
                    "mute": False,
                    "flags": 0,
                }
            ],
        }

    def interaction(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        sub: list[str] | None = None,
        dm: bool = False,
        permissions: int = EVERYONE_PERMISSIONS,
        user: dict[str, Any] | None = None,
        guild_command: bool = False,
        kind: int = 2,
        focused: str | None = None,
        channel: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Build an INTERACTION_CREATE payload for `/name [sub...] options`.

        `kind` 2 is a command, 4 autocomplete (the `focused` option is being typed).
        """
        user = user or self.alice
        opts: list[dict[str, Any]] = []
        for key, value in (options or {}).items():
            o: dict[str, Any] = {
                "name": key,
                # bool before int: True is an int to Python, a boolean option to Discord.
                "type": 5 if isinstance(value, bool) else 4 if isinstance(value, int) else 3,
                "value": value,
            }
            if key == focused:
                o["focused"] = True
            opts.append(o)
        for word in reversed(sub or []):
            opts = [{"name": word, "type": 1, "options": opts}]
        data: dict[str, Any] = {"id": self.next_id(), "name": name, "type": 1, "options": opts}
        if guild_command:
            data["guild_id"] = self.guild_id
        iid = self.next_id()
        token = f"itok-{iid}"
        payload: dict[str, Any] = {
            "id": iid,
            "application_id": self.app_id,
            "type": kind,
            "data": data,
            "token": token,
            "version": 1,
            "locale": "en-US",
            "entitlements": [],
            "app_permissions": str(getattr(self, "bot_permissions", ALL_PERMISSIONS)),
            "attachment_size_limit": 10_485_760,
        }
        if dm:
            dm_id = self._dms.setdefault(user["id"], self.next_id())
            payload.update(
                channel_id=dm_id,
                user=user,
                context=1,
                channel={"id": dm_id, "type": 1, "recipients": [user]},
                authorizing_integration_owners={"0": self.guild_id},
            )
        else:
            payload.update(
                guild_id=self.guild_id,
                guild_locale="en-US",
                channel_id=(channel or self.channels[self.channel_id])["id"],
                channel=channel or self.channels[self.channel_id],
                context=0,
                authorizing_integration_owners={"0": self.guild_id},
                member={
                    "user": user,
                    "roles": [],
                    "joined_at": TIMESTAMP,
                    "deaf": False,
                    "mute": False,
                    "flags": 0,
                    "permissions": str(permissions),
                },
            )
        return payload

    def component_interaction(
        self, custom_id: str, message: dict[str, Any], *, dm: bool = False
    ) -> dict[str, Any]:
        """A button press on `message` (as the fake stored it)."""
        payload = self.interaction("unused", dm=dm, kind=3)
        payload["data"] = {"custom_id": custom_id, "component_type": 2}
        payload["message"] = message
        return payload
