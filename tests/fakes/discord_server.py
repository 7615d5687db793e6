"""A local fake Discord: the REST routes and the Gateway that discord.py uses, on 127.0.0.1.

Real, unmodified discord.py logs in against it, syncs its application commands, receives
INTERACTION_CREATE events a test injects and answers them over the interaction webhooks. Every
REST request is recorded; a test can script failures (429, 403, 404) for any route. The fake
enforces Discord's message limits (10 embeds, 6,000 embed characters, ...) so that an adapter
bug shows up as the 400 real Discord would send.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.fakes.discord_gateway import FakeGateway
from tests.fakes.discord_objects import (
    ALL_PERMISSIONS,
    CREATE_PUBLIC_THREADS,
    EMBED_LINKS,
    EPHEMERAL,
    EVERYONE_PERMISSIONS,
    MANAGE_CHANNELS,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    VIEW_CHANNEL,
    Recorded,
    Scripted,
    cannot_dm,
    choice_problems,
    embed_length,
    error,
    json_response,
    message_problems,
    missing_access,
    missing_permissions,
    rate_limited,
    server_error,
    unknown_channel,
)

BODY: web.RequestKey[Any] = web.RequestKey("body", object)
__all__ = [
    "ALL_PERMISSIONS",
    "CREATE_PUBLIC_THREADS",
    "EMBED_LINKS",
    "EPHEMERAL",
    "EVERYONE_PERMISSIONS",
    "MANAGE_CHANNELS",
    "SEND_MESSAGES",
    "SEND_MESSAGES_IN_THREADS",
    "VIEW_CHANNEL",
    "FakeDiscord",
    "Scripted",
    "cannot_dm",
    "embed_length",
    "error",
    "message_problems",
    "missing_access",
    "missing_permissions",
    "rate_limited",
    "server_error",
    "unknown_channel",
]


class FakeDiscord(FakeGateway):
    """Discord REST + Gateway on an ephemeral port; use `async with FakeDiscord() as fake`."""

    def __init__(self, *, token: str = "fake-token", compress: bool = False) -> None:
        super().__init__(token=token, compress=compress)
        self.requests: list[Recorded] = []
        self.synced: dict[str, list[dict[str, Any]]] = {}  # "global" or guild id -> payload
        self.messages: dict[str, list[dict[str, Any]]] = {}  # channel id -> posted messages
        # interaction token -> messages the interaction produced, in order (flags kept)
        self.interaction_messages: dict[str, list[dict[str, Any]]] = {}
        self.callbacks: dict[str, list[dict[str, Any]]] = {}  # interaction id -> bodies
        self.files: dict[str, bytes] = {}  # attachment id -> the uploaded bytes
        self._tokens: dict[str, str] = {}  # interaction id -> token
        self._token_channels: dict[str, str] = {}  # interaction token -> channel id
        # (channel, nonce) -> (when, message). Discord only enforces a nonce for "the past few
        # minutes"; a test sets `nonce_window` (seconds) to let it expire.
        self._nonces: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        self.nonce_window: float | None = None  # None: for the whole test
        # The bot's permissions in the guild's channels: interactions carry them as
        # app_permissions, and posts obey them as Discord does (no View Channel or Send
        # Messages: 403 50013; no Embed Links: the message is posted without its embeds).
        self.bot_permissions = ALL_PERMISSIONS
        # The bot's own role (REST only: GET /guilds/{id} and the bot's member) carries
        # `bot_permissions`, so the permissions doctor computes are the ones posts obey.
        self.bot_role_id = "1500000000000000001"
        self.hidden_channels: set[str] = set()  # GET /channels/{id} is 403 Missing Access
        # Threads the bot opened: thread id -> channel object (type 11, parent_id). As on
        # Discord, a thread started from a message has that message's id, and a second
        # thread from the same message is refused (400, code 160004).
        self.threads: dict[str, dict[str, Any]] = {}
        # Channels whose message posts hang until the event is set (a stalled request).
        self.hanging: dict[str, asyncio.Event] = {}
        # (method, path, responses, requests to let through first)
        self._scripts: list[tuple[str, re.Pattern[str], list[Scripted], list[int]]] = []
        self._runner: web.AppRunner | None = None

    # ----- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        app = web.Application(middlewares=[self._record])
        app.router.add_get("/gateway", self._gateway)
        api = "/api/v10"
        r = app.router
        r.add_get(api + "/users/@me", self._me)
        r.add_get(api + "/oauth2/applications/@me", self._application)
        r.add_get(api + "/applications/@me", self._application)
        r.add_get(api + "/gateway", self._gateway_url)
        r.add_get(api + "/gateway/bot", self._gateway_bot)
        r.add_put(api + "/applications/{app}/commands", self._sync)
        r.add_put(api + "/applications/{app}/guilds/{guild}/commands", self._sync)
        r.add_get(api + "/applications/{app}/commands", self._get_commands)
        r.add_get(api + "/applications/{app}/guilds/{guild}/commands", self._get_commands)
        r.add_post(api + "/interactions/{iid}/{token}/callback", self._callback)
        r.add_post(api + "/webhooks/{app}/{token}", self._followup)
        r.add_patch(api + "/webhooks/{app}/{token}/messages/{mid}", self._edit)
        r.add_get(api + "/webhooks/{app}/{token}/messages/{mid}", self._get_webhook_message)
        r.add_delete(api + "/webhooks/{app}/{token}/messages/{mid}", self._delete)
        r.add_post(api + "/channels/{cid}/messages", self._post_message)
        r.add_post(api + "/channels/{cid}/messages/{mid}/threads", self._start_thread)
        r.add_post(api + "/channels/{cid}/threads", self._start_forum_post)
        r.add_get(api + "/guilds/{gid}/threads/active", self._active_threads)
        r.add_delete(api + "/channels/{cid}/messages/{mid}", self._delete_message)
        r.add_post(api + "/users/@me/channels", self._open_dm)
        # What `paperbot doctor` reads to compute the bot's permissions in a channel.
        r.add_get(api + "/channels/{cid}", self._get_channel)
        r.add_get(api + "/guilds/{gid}", self._get_guild)
        r.add_get(api + "/guilds/{gid}/members/{uid}", self._get_member)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        for ws, _ in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ----- test controls ---------------------------------------------------------------------

    def script(self, method: str, path: str, *responses: Scripted, after: int = 0) -> None:
        """Answer requests matching `method` and regex `path` with `responses`, in order.

        The first `after` matching requests are served normally.
        """
        self._scripts.append((method.upper(), re.compile(path), list(responses), [after]))

    async def end_sessions(self, code: int) -> None:
        """Close every Gateway session with `code`; 4010-4014 and 4004 cannot be resumed."""
        for ws, _ in list(self._sockets):
            await ws.close(code=code, message=b"closed by the test")

    def click(
        self,
        custom_id: str,
        message: dict[str, Any],
        *,
        user: dict[str, Any] | None = None,
        dm: bool = False,
        values: list[str] | None = None,
    ) -> dict[str, Any]:
        """A click on a button of `message` by `user` (alice), or a choice in its select
        menu (`values`), as INTERACTION_CREATE carries it."""
        payload = self.interaction("unused", dm=dm, kind=3, user=user)
        payload["data"] = {"custom_id": custom_id, "component_type": 2}
        if values is not None:
            payload["data"].update(component_type=3, values=values)
        payload["message"] = message
        return payload

    def message_command(
        self,
        name: str,
        content: str,
        *,
        embeds: list[dict[str, Any]] | None = None,
        user: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A message command (Apps menu of a message by alice saying `content`)."""
        payload = self.interaction(name, user=user)
        target = self.message_obj(self.channel_id, {"content": content, "embeds": embeds or []})
        target["author"] = self.alice
        payload["data"] = {
            "id": self.next_id(),
            "name": name,
            "type": 3,
            "target_id": target["id"],
            "resolved": {"messages": {target["id"]: target}},
        }
        return payload

    async def press(self, payload: dict[str, Any], within: float = 10) -> dict[str, Any]:
        """Send a component interaction; return the one message its answer made or edited."""
        await self.interact(payload)
        msgs = await self.wait_reply(payload["token"], within=within)
        assert len(msgs) == 1, msgs
        return msgs[0]

    def interaction_id(self, token: str) -> str:
        return next(i for i, t in self._tokens.items() if t == token)

    async def interact(self, payload: dict[str, Any]) -> str:
        """Send an interaction to the bot; return its token."""
        self._tokens[payload["id"]] = payload["token"]
        self._token_channels[payload["token"]] = payload.get("channel_id", "0")
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload["token"]

    async def wait_until(self, predicate: Callable[[], Any], within: float = 5.0) -> Any:
        """Wait until `predicate()` is truthy (re-checked after every request); return it."""
        async with self._changed:
            result = await asyncio.wait_for(self._changed.wait_for(predicate), within)
        return result

    async def wait_reply(
        self, token: str, count: int = 1, within: float = 5.0
    ) -> list[dict[str, Any]]:
        """Wait for `count` finished (not loading) messages answering an interaction."""

        def done() -> list[dict[str, Any]] | None:
            msgs = self.interaction_messages.get(token, [])
            ready = [m for m in msgs if not m.get("loading")]
            return msgs if len(ready) >= count and len(ready) == len(msgs) else None

        return await self.wait_until(done, within)

    def requests_to(self, method: str, pattern: str) -> list[Recorded]:
        rx = re.compile(pattern)
        return [r for r in self.requests if r.method == method and rx.fullmatch(r.path)]

    # ----- REST ------------------------------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path == "/gateway":
            return await handler(request)
        body: Any = None
        if request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
            elif request.content_type.startswith("multipart/"):
                form = await request.post()
                raw = form.get("payload_json")
                body = json.loads(str(raw)) if raw is not None else None
                self._attach(body, form)
        request[BODY] = body
        path = request.path.removeprefix("/api/v10")
        self.requests.append(
            Recorded(request.method, path, dict(request.query), body, dict(request.headers))
        )
        try:
            for method, rx, queue, skip in self._scripts:
                if method == request.method and queue and rx.fullmatch(path):
                    if skip[0] > 0:
                        skip[0] -= 1
                        continue
                    s = queue.pop(0)
                    return json_response(s.body, s.status, s.headers)
            authorized = request.headers.get("Authorization") == f"Bot {self.token}"
            # Interaction callbacks and webhooks are authorised by their token in the path.
            if not authorized and not path.startswith(("/interactions/", "/webhooks/")):
                return json_response({"message": "401: Unauthorized", "code": 0}, 401)
            return await handler(request)
        finally:
            async with self._changed:
                self._changed.notify_all()

    def _attach(self, body: Any, form: Any) -> None:
        """Turn a multipart message's files[n] parts into attachment objects, as Discord does.

        The payload lists the attachments by id (`attachments: [{id: n, filename}]`, at the
        top or in an interaction callback's `data`); the bytes are kept in `self.files`.
        """
        if not isinstance(body, dict):
            return
        data = body.get("data") if isinstance(body.get("data"), dict) else body
        made = []
        for entry in data.get("attachments") or []:
            part = form.get(f"files[{entry['id']}]")
            if part is None or not hasattr(part, "file"):
                continue  # an attachment the message had already: kept as listed
            content = part.file.read()
            aid = self.next_id()
            self.files[aid] = content
            made.append(
                {
                    "id": aid,
                    "filename": entry.get("filename") or part.filename,
                    "size": len(content),
                    "content_type": part.content_type,
                    "url": f"https://cdn.discordapp.com/attachments/0/{aid}/{part.filename}",
                    "proxy_url": f"https://media.discordapp.net/attachments/0/{aid}/x",
                }
            )
        data["attachments"] = made

    async def _me(self, request: web.Request) -> web.Response:
        return json_response({**self.bot_user, "flags": 0, "verified": True, "mfa_enabled": False})

    async def _application(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "id": self.app_id,
                "name": "paperbot",
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": self.alice,
                "verify_key": "00" * 32,
                "flags": 0,
                "interactions_endpoint_url": None,
                "summary": "",
                "team": None,
            }
        )

    async def _gateway_url(self, request: web.Request) -> web.Response:
        return json_response({"url": self.gateway_url})

    async def _gateway_bot(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        )

    async def _sync(self, request: web.Request) -> web.Response:
        scope = request.match_info.get("guild", "global")
        payload = request[BODY]
        # Discord's ApplicationCommandCreateRequest: `integration_types` (0 guild install,
        # 1 user install) and `contexts` (0 guild, 1 bot DM, 2 private channel), top level.
        problems = [
            f"{c.get('name')}: {field} must be a list of distinct {allowed} or null"
            for c in payload
            for field, allowed in (("integration_types", {0, 1}), ("contexts", {0, 1, 2}))
            if c.get(field) is not None
            and not (
                isinstance(c[field], list)
                and set(c[field]) <= allowed
                and len(set(c[field])) == len(c[field])
            )
        ]
        if problems:
            return self._invalid(problems)
        self.synced[scope] = payload
        out = [
            {
                "description": "",  # Discord answers it for message commands, which send none
                **c,
                "id": self.next_id(),
                "application_id": self.app_id,
                "version": "1",
                **({"guild_id": scope} if scope != "global" else {}),
            }
            for c in payload
        ]
        return json_response(out)

    async def _get_commands(self, request: web.Request) -> web.Response:
        return json_response(self.synced.get(request.match_info.get("guild", "global"), []))

    def _invalid(self, problems: list[str]) -> web.Response:
        return json_response(
            {"message": "Invalid Form Body", "code": 50035, "errors": {"problems": problems}}, 400
        )

    async def _callback(self, request: web.Request) -> web.Response:
        iid, token = request.match_info["iid"], request.match_info["token"]
        body = request[BODY] or {}
        self.callbacks.setdefault(iid, []).append(body)
        kind, data = body.get("type"), body.get("data") or {}
        msgs = self.interaction_messages.setdefault(token, [])
        channel = self._token_channels.get(token, "0")
        if kind == 4:  # channel message
            if problems := message_problems(data):
                return self._invalid(problems)
            msg = self.message_obj(channel, data, webhook=True)
        elif kind == 5:  # deferred: a "thinking" message, finished by an edit of @original
            msg = self.message_obj(
                channel, {"content": ""}, flags=int(data.get("flags") or 0), webhook=True
            )
            msg["loading"] = True
        elif kind == 7:  # edit of the component's message
            if problems := message_problems(data):
                return self._invalid(problems)
            msg = self.message_obj(channel, data, webhook=True)
            msg["edit_of_component"] = True
        elif kind == 8:  # autocomplete result
            if problems := choice_problems(data.get("choices", [])):
                return self._invalid(problems)
            msg = {"id": self.next_id(), "choices": data.get("choices", []), "autocomplete": True}
        else:
            msg = {"id": self.next_id(), "type": kind}
        msgs.append(msg)
        return json_response(
            {
                "interaction": {
                    "id": iid,
                    "type": 2,
                    "response_message_id": msg["id"],
                    "response_message_loading": kind == 5,
                    "response_message_ephemeral": bool(int(msg.get("flags") or 0) & EPHEMERAL),
                },
                **({"resource": {"type": kind, "message": msg}} if "content" in msg else {}),
            }
        )

    async def _followup(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        data = request[BODY] or {}
        if problems := message_problems(data):
            return self._invalid(problems)
        msgs = self.interaction_messages.setdefault(token, [])
        loading = [m for m in msgs if m.get("loading")]
        if loading:  # the first follow-up after a deferral replaces the "thinking" message
            msg = loading[0]
            msg.update(
                content=data.get("content") or "",
                embeds=data.get("embeds") or [],
                components=data.get("components") or [],
                attachments=data.get("attachments") or [],
                allowed_mentions=data.get("allowed_mentions"),
            )
            msg.pop("loading")
        else:
            msg = self.message_obj(self._token_channels.get(token, "0"), data, webhook=True)
            msgs.append(msg)
        return json_response(msg)

    def _find(self, token: str, mid: str) -> dict[str, Any] | None:
        msgs = self.interaction_messages.get(token, [])
        if mid == "@original":
            return msgs[0] if msgs else None
        return next((m for m in msgs if m["id"] == mid), None)

    async def _edit(self, request: web.Request) -> web.Response:
        token, mid = request.match_info["token"], request.match_info["mid"]
        data = request[BODY] or {}
        msg = self._find(token, mid)
        if msg is None:
            return json_response({"message": "Unknown Message", "code": 10008}, 404)
        merged = {
            **msg,
            **{
                k: v
                for k, v in data.items()
                if k in ("content", "embeds", "components", "attachments", "allowed_mentions")
            },
        }
        if problems := message_problems(merged):
            return self._invalid(problems)
        msg.update(merged)
        msg.pop("loading", None)
        return json_response(msg)

    async def _get_webhook_message(self, request: web.Request) -> web.Response:
        msg = self._find(request.match_info["token"], request.match_info["mid"])
        return (
            json_response(msg)
            if msg
            else json_response({"message": "Unknown Message", "code": 10008}, 404)
        )

    async def _delete(self, request: web.Request) -> web.Response:
        token, mid = request.match_info["token"], request.match_info["mid"]
        msg = self._find(token, mid)
        if msg is None:
            return json_response({"message": "Unknown Message", "code": 10008}, 404)
        self.interaction_messages[token].remove(msg)
        return web.Response(status=204)

    async def _post_message(self, request: web.Request) -> web.Response:
        cid = request.match_info["cid"]
        known = cid in self.channels or cid in self.threads
        if not known and cid not in self._dms.values():
            return json_response({"message": "Unknown Channel", "code": 10003}, 404)
        if cid in self.hanging:
            await self.hanging[cid].wait()
        data = request[BODY] or {}
        if problems := message_problems(data):
            return self._invalid(problems)
        in_guild = known
        # In a thread Discord asks for Send Messages in Threads instead of Send Messages.
        send = SEND_MESSAGES_IN_THREADS if cid in self.threads else SEND_MESSAGES
        if self.channels.get(cid, {}).get("type") == 15:
            return json_response(
                {"message": "Cannot send messages in a forum channel", "code": 50008}, 400
            )
        if in_guild and (self.bot_permissions & (VIEW_CHANNEL | send)) != (VIEW_CHANNEL | send):
            return json_response({"message": "Missing Permissions", "code": 50013}, 403)
        if in_guild and not self.bot_permissions & EMBED_LINKS:
            data = {**data, "embeds": []}
        nonce = data.get("nonce")
        if nonce is not None and len(str(nonce)) > 25:
            return self._invalid(["nonce longer than 25"])
        if nonce is not None and data.get("enforce_nonce"):
            seen = self._nonces.get((cid, str(nonce)))
            fresh = seen is not None and (
                self.nonce_window is None or time.monotonic() - seen[0] <= self.nonce_window
            )
            if seen is not None and fresh:  # Discord returns the earlier message instead
                return json_response(seen[1])
        msg = self.message_obj(cid, data)
        if nonce is not None:
            self._nonces[(cid, str(nonce))] = (time.monotonic(), msg)
        self.messages.setdefault(cid, []).append(msg)
        return json_response(msg)

    async def _start_thread(self, request: web.Request) -> web.Response:
        """POST /channels/{cid}/messages/{mid}/threads: a public thread from a message."""
        cid, mid = request.match_info["cid"], request.match_info["mid"]
        if cid not in self.channels:
            return json_response({"message": "Unknown Channel", "code": 10003}, 404)
        if not any(m["id"] == mid for m in self.messages.get(cid, [])):
            return json_response({"message": "Unknown Message", "code": 10008}, 404)
        need = VIEW_CHANNEL | CREATE_PUBLIC_THREADS
        if self.bot_permissions & need != need:
            return json_response({"message": "Missing Permissions", "code": 50013}, 403)
        if mid in self.threads:
            return json_response(
                {"message": "A thread has already been created for this message", "code": 160004},
                400,
            )
        data = request[BODY] or {}
        name = data.get("name")
        problems = []
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            problems.append("name must be 1-100 characters")
        if data.get("auto_archive_duration") not in (None, 60, 1440, 4320, 10080):
            problems.append("auto_archive_duration must be 60, 1440, 4320 or 10080")
        if problems:
            return self._invalid(problems)
        thread = self.thread_obj(mid, cid, str(name))
        self.threads[mid] = thread
        return json_response(thread)

    def add_forum(self, name: str, tags: list[str]) -> str:
        """A forum channel (type 15) with these available tags; its id. Add it before the
        adapter starts, so that GUILD_CREATE carries it."""
        cid = self.next_id()
        self.channels[cid] = {
            "id": cid,
            "type": 15,
            "guild_id": self.guild_id,
            "name": name,
            "position": 1,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "flags": 0,
            "available_tags": [
                {
                    "id": self.next_id(),
                    "name": t,
                    "moderated": False,
                    "emoji_id": None,
                    "emoji_name": None,
                }
                for t in tags
            ],
            "default_reaction_emoji": None,
            "default_sort_order": None,
            "default_forum_layout": 0,
        }
        return cid

    async def _start_forum_post(self, request: web.Request) -> web.Response:
        """POST /channels/{cid}/threads in a forum: a post, its first message with it."""
        cid = request.match_info["cid"]
        forum = self.channels.get(cid)
        if forum is None:
            return json_response({"message": "Unknown Channel", "code": 10003}, 404)
        data = request[BODY] or {}
        if forum.get("type") != 15:
            return self._invalid(["this fake only creates threads in forum channels here"])
        need = VIEW_CHANNEL | SEND_MESSAGES  # "Create Posts" is Send Messages in a forum
        if self.bot_permissions & need != need:
            return json_response({"message": "Missing Permissions", "code": 50013}, 403)
        name, tags = data.get("name"), data.get("applied_tags") or []
        message = data.get("message")
        available = {t["id"] for t in forum.get("available_tags", [])}
        problems = []
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            problems.append("name must be 1-100 characters")
        if len(tags) > 5 or not set(map(str, tags)) <= available:
            problems.append("applied_tags: at most 5 of the forum's available tags")
        if not isinstance(message, dict):
            problems.append("message is required in a forum channel")
        else:
            problems += message_problems(message)
        if problems:
            return self._invalid(problems)
        tid = self.next_id()
        thread = self.thread_obj(tid, cid, str(name), applied_tags=[str(t) for t in tags])
        self.threads[tid] = thread
        msg = {**self.message_obj(tid, message), "id": tid}  # the first message has its id
        self.messages.setdefault(tid, []).append(msg)
        return json_response({**thread, "message": msg})

    async def _active_threads(self, request: web.Request) -> web.Response:
        if request.match_info["gid"] != self.guild_id:
            return json_response({"message": "Unknown Guild", "code": 10004}, 404)
        return json_response({"threads": list(self.threads.values()), "members": []})

    def thread_obj(self, tid: str, parent: str, name: str, **extra: Any) -> dict[str, Any]:
        return {
            "id": tid,
            "type": 11,
            "guild_id": self.guild_id,
            "parent_id": parent,
            "owner_id": self.bot_user["id"],
            "name": name,
            "last_message_id": None,
            "message_count": 0,
            "member_count": 1,
            "rate_limit_per_user": 0,
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": "2026-01-01T00:00:00.000000+00:00",
                "locked": False,
            },
            **extra,
        }

    async def _delete_message(self, request: web.Request) -> web.Response:
        cid, mid = request.match_info["cid"], request.match_info["mid"]
        kept = [m for m in self.messages.get(cid, []) if m["id"] != mid]
        if len(kept) == len(self.messages.get(cid, [])):
            return json_response({"message": "Unknown Message", "code": 10008}, 404)
        self.messages[cid] = kept
        return web.Response(status=204)

    async def _open_dm(self, request: web.Request) -> web.Response:
        uid = str((request[BODY] or {}).get("recipient_id"))
        dm_id = self._dms.setdefault(uid, self.next_id())
        return json_response(
            {
                "id": dm_id,
                "type": 1,
                "last_message_id": None,
                "recipients": [self.user(uid, f"user{uid[-4:]}")],
            }
        )

    async def _get_channel(self, request: web.Request) -> web.Response:
        cid = request.match_info["cid"]
        if cid in self.hidden_channels:
            return json_response({"message": "Missing Access", "code": 50001}, 403)
        if cid not in self.channels:
            return json_response({"message": "Unknown Channel", "code": 10003}, 404)
        return json_response(self.channels[cid])

    def _rest_roles(self) -> list[dict[str, Any]]:
        roles = self.guild_create_obj()["roles"]
        bot_role = {**roles[0], "id": self.bot_role_id, "name": "paperbot", "managed": True}
        return [*roles, {**bot_role, "permissions": str(self.bot_permissions), "position": 1}]

    async def _get_guild(self, request: web.Request) -> web.Response:
        if request.match_info["gid"] != self.guild_id:
            return json_response({"message": "Unknown Guild", "code": 10004}, 404)
        guild = self.guild_create_obj()
        return json_response(
            {k: guild[k] for k in ("id", "name", "owner_id", "features")}
            | {"roles": self._rest_roles()}
        )

    async def _get_member(self, request: web.Request) -> web.Response:
        if request.match_info["uid"] != self.bot_user["id"]:
            return json_response({"message": "Unknown Member", "code": 10007}, 404)
        [member] = self.guild_create_obj()["members"]
        return json_response({**member, "roles": [self.bot_role_id]})

    def dm_channel(self, user_id: str) -> str | None:
        return self._dms.get(user_id)
