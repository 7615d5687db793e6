"""A local fake of Slack's Web API, Socket Mode WebSocket and response_url, for real slack_sdk.

It speaks the wire protocol slack_sdk and slack-bolt use (see
`shared/specs/discord-slack-test-servers.md`, part B): arguments arrive in the query
string, a form body or a JSON body; errors are HTTP 200 with `ok: false`; rate limits are 429
with an integer `Retry-After`. Every call is recorded, failures can be scripted, and Slack's
message limits are enforced so that adapter bugs fail loudly instead of being truncated.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import time
import urllib.parse
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from adapters.slack.checks import SCOPES

BOT_TOKEN = "xoxb-fake-bot-token"
APP_TOKEN = "xapp-fake-app-token"
SIGNING_SECRET = "fake-signing-secret"
TEAM_ID = "T0FAKE"
BOT_USER_ID = "U0BOT"
APP_ID = "A0FAKE"
CLIENT_ID = "1111.2222"
CLIENT_SECRET = "fake-client-secret"
# The bot token scopes of adapters/slack/manifest.yml; Slack reports the granted ones in the
# x-oauth-scopes header of every Web API answer.
MANIFEST_SCOPES = SCOPES

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_TEXT = 40_000
MAX_HEADER_TEXT = 150
MAX_ACTION_ELEMENTS = 25
MAX_CONTEXT_ELEMENTS = 10
# Slack's undocumented cap on all the text in a message's blocks (bolt-js #2509: ~12-13k).
MAX_BLOCKS_CHARS = 12_000

# How long a wait for what the app sends may take before the test fails as hung. Only a
# guard: each wait returns as soon as the awaited request arrives, and a tighter bound
# failed under load (two suites at once on 2 cores: a slash command answered after > 5 s).
HANG = 60.0


@dataclass(frozen=True)
class Call:
    """One Web API request as the fake received it."""

    method: str  # e.g. "chat.postMessage"
    args: dict[str, Any]  # query string, form body and JSON body merged
    headers: dict[str, str]
    http_method: str


@dataclass
class Failure:
    """A scripted answer for the next call(s) of a method."""

    error: str
    status: int = 200
    retry_after: int | None = None
    times: int = 1
    after: int = 0  # let this many calls succeed first
    team: str | None = None  # only calls with this team's token (None: any)


@dataclass
class Team:
    """A workspace (or an Enterprise Grid org, for an org-wide install) the app is in."""

    id: str
    name: str
    enterprise_id: str | None = None
    is_enterprise_install: bool = False
    scopes: list[str] = field(default_factory=lambda: list(MANIFEST_SCOPES))


@dataclass
class SocketEnvelope:
    """An envelope pushed over Socket Mode and the client's ack for it."""

    envelope_id: str
    type: str
    payload: dict[str, Any]
    ack: asyncio.Future[dict[str, Any]] = field(repr=False)


def sign(
    body: str,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, str]:
    """Return the headers Slack adds to a request it sends to an app (HMAC-SHA256, v0).

    Events API requests are JSON (`content_type="application/json"`), the rest forms.
    """
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = f"v0:{ts}:{body}".encode()
    sig = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": sig,
    }


class FakeSlack:
    """Slack's side of the conversation, on 127.0.0.1 with an ephemeral port."""

    def __init__(
        self, *, bot_token: str = BOT_TOKEN, app_token: str = APP_TOKEN, team_id: str = TEAM_ID
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = team_id
        # Workspaces, and the bot token each answers to (the first is the single-workspace
        # mode's); tokens revoked by an uninstall answer `token_revoked`.
        self.teams: dict[str, Team] = {team_id: Team(team_id, "Fake")}
        self.tokens: dict[str, str] = {bot_token: team_id}
        self.revoked: set[str] = set()
        self.codes: dict[str, tuple[str, list[str]]] = {}  # OAuth code -> (team, scopes)
        self.client_id = CLIENT_ID
        self.client_secret = CLIENT_SECRET
        self.calls: list[Call] = []
        self.responses: dict[str, list[dict[str, Any]]] = defaultdict(list)
        # respond() payloads refused on purpose (`refuse_response`), by response_url key
        self.refused: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._refusals: dict[str, deque[tuple[int, str]]] = defaultdict(deque)
        self.messages: list[dict[str, Any]] = []  # every message chat.postMessage accepted
        self.users: dict[str, dict[str, Any]] = {}
        # Channels the bot is not a member of (conversations.info says so; posting there is
        # `not_in_channel`). Every other channel counts as one the bot was invited to.
        self.not_member: set[str] = set()
        # While set, chat.postMessage posts the message and then never answers, until the
        # event is set: the answer a timed-out client never saw.
        self.hang_after_post: asyncio.Event | None = None
        # The bot token's scopes: x-oauth-scopes on every answer; conversations.history
        # answers `missing_scope` without its scope.
        self.scopes: list[str] = list(MANIFEST_SCOPES)
        self.sockets: list[web.WebSocketResponse] = []
        self.socket_connected = asyncio.Event()
        # chat.unfurl: every accepted call's arguments, unfurls parsed.
        self.unfurls: list[dict[str, Any]] = []
        # views.publish: each user's Home tab as last published; views.open: opened modals.
        self.home_views: dict[str, dict[str, Any]] = {}
        self.opened_views: list[dict[str, Any]] = []
        # files_upload_v2: upload URLs handed out (file id -> filename, length, bytes once
        # posted) and the files completed into a conversation, as Slack would list them.
        self.uploads: dict[str, dict[str, Any]] = {}
        self.files: list[dict[str, Any]] = []
        self._call_made = asyncio.Condition()
        self._failures: dict[str, deque[Failure]] = defaultdict(deque)
        self._pending_acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._ts = itertools.count(100)
        self._team: str | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        """Bind to an ephemeral port on 127.0.0.1 and serve."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{key}", self._response_url)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/link", self._socket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        """Close every socket and the server."""
        for ws in list(self.sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """The value for `AsyncWebClient(base_url=...)` / `SLACK_API_URL`."""
        return f"{self.url}/api/"

    def response_url(self, key: str) -> str:
        """A response_url for a slash command; `respond()` payloads land in `responses[key]`."""
        return f"{self.url}/response/{key}"

    # -- scripting and inspection ----------------------------------------------------------

    def fail(
        self,
        method: str,
        error: str,
        *,
        status: int = 200,
        retry_after: int | None = None,
        times: int = 1,
        after: int = 0,
        team: str | None = None,
    ) -> None:
        """Answer `times` calls of `method` with `error`, after `after` successful ones
        (only calls with `team`'s token, when given)."""
        self._failures[method].append(Failure(error, status, retry_after, times, after, team))

    # -- workspaces and OAuth ---------------------------------------------------------------

    def add_team(
        self,
        team_id: str,
        name: str = "",
        *,
        enterprise_id: str | None = None,
        is_enterprise_install: bool = False,
    ) -> Team:
        """A workspace where the app can be installed (`grant` a code for it)."""
        team = Team(team_id, name or team_id, enterprise_id, is_enterprise_install)
        self.teams[team_id] = team
        return team

    def grant(self, team_id: str, scopes: list[str] | None = None) -> str:
        """The `code` Slack hands the installer's browser once they approve the install."""
        if team_id not in self.teams:
            self.add_team(team_id)
        code = f"code-{uuid.uuid4().hex}"
        granted = list(MANIFEST_SCOPES if scopes is None else scopes)
        self.codes[code] = (team_id, granted)
        return code

    def token_of(self, team_id: str) -> str:
        """The newest valid bot token of a workspace."""
        live = [t for t, team in self.tokens.items() if team == team_id and t not in self.revoked]
        if not live:
            raise KeyError(team_id)
        return live[-1]

    def uninstall(self, team_id: str) -> None:
        """The app is removed from the workspace: every token of it stops working."""
        self.revoked |= {t for t, team in self.tokens.items() if team == team_id}

    def team_of(self, call: Call) -> str | None:
        """Which workspace's token a recorded call carried."""
        token = call.headers.get("Authorization", "").removeprefix("Bearer ")
        return self.tokens.get(token)

    def event_body(self, team_id: str, event: dict[str, Any]) -> str:
        """An Events API callback for `team_id`, as Slack posts it (JSON)."""
        team = self.teams[team_id]
        authorization = {
            "enterprise_id": team.enterprise_id,
            "team_id": None if team.is_enterprise_install else team.id,
            "user_id": BOT_USER_ID,
            "is_bot": True,
            "is_enterprise_install": team.is_enterprise_install,
        }
        return json.dumps(
            {
                "token": "deprecated-verification-token",
                "team_id": team.id,
                "enterprise_id": team.enterprise_id,
                "api_app_id": APP_ID,
                "event": {"event_ts": "1700000000.000100", **event},
                "type": "event_callback",
                "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
                "event_time": 1700000000,
                "authorizations": [authorization],
                "is_ext_shared_channel": False,
            }
        )

    def clear_failures(self) -> None:
        """Forget every scripted failure not yet used."""
        self._failures.clear()

    def refuse_response(self, key: str, status: int = 400, error: str = "invalid_blocks") -> None:
        """Answer the next respond() to `response_url(key)` with an error, as Slack can."""
        self._refusals[key].append((status, error))

    def calls_to(self, method: str) -> list[Call]:
        """Return the recorded calls of one Web API method."""
        return [c for c in self.calls if c.method == method]

    async def wait_calls(self, method: str, n: int = 1, wait: float = HANG) -> list[Call]:
        """Wait until `method` was called (and answered) `n` times; return those calls."""

        async def enough() -> None:
            async with self._call_made:
                await self._call_made.wait_for(lambda: len(self.calls_to(method)) >= n)

        try:
            await asyncio.wait_for(enough(), wait)
        except TimeoutError:
            raise TimeoutError(f"{len(self.calls_to(method))} of {n} {method} calls") from None
        return self.calls_to(method)

    def event_callback(self, event: dict[str, Any], *, event_id: str | None = None) -> dict:
        """An Events API envelope around `event`, as Slack posts it (HTTP) or pushes it."""
        return {
            "token": "deprecated-verification-token",
            "team_id": self.team_id,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": 1735000000,
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }

    def interactive(self, kind: str, *, user_id: str = "U100", **fields: Any) -> dict:
        """An interactive payload (`message_action`, `block_actions`, `view_submission`)."""
        key = uuid.uuid4().hex
        return {
            "type": kind,
            "token": "deprecated-verification-token",
            "api_app_id": APP_ID,
            "team": {"id": self.team_id, "domain": "fake"},
            "user": {"id": user_id, "username": user_id.lower(), "team_id": self.team_id},
            "trigger_id": f"trigger.{key}",
            "is_enterprise_install": False,
            **fields,
        }

    def add_user(self, user_id: str, **fields: Any) -> None:
        """Make `users.info` know a user (e.g. `is_admin=True`)."""
        self.users[user_id] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": user_id.lower(),
            "deleted": False,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_bot": False,
            **fields,
        }

    def slash_command_form(
        self,
        text: str,
        *,
        user_id: str = "U100",
        channel_id: str = "C100",
        channel_name: str = "general",
        key: str | None = None,
        command: str = "/papers",
        team_id: str | None = None,
    ) -> dict[str, str]:
        """Return the form fields Slack posts for a slash command.

        Like every text Slack hands an app, `text` arrives with `&`, `<` and `>` escaped as
        `&amp;`, `&lt;` and `&gt;` (what the user typed is `text`).
        """
        key = key or uuid.uuid4().hex
        team = self.teams[team_id or self.team_id]
        org = {"enterprise_id": team.enterprise_id} if team.enterprise_id else {}
        return {
            "token": "deprecated-verification-token",
            "team_id": team.id,
            **org,
            "team_domain": "fake",
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"),
            "api_app_id": APP_ID,
            "is_enterprise_install": "true" if team.is_enterprise_install else "false",
            "response_url": self.response_url(key),
            "trigger_id": f"trigger.{key}",
        }

    async def wait_responses(self, key: str, n: int = 1, wait: float = HANG) -> list[dict]:
        """Wait until `n` respond() payloads arrived at `response_url(key)`."""
        deadline = time.monotonic() + wait
        while len(self.responses[key]) < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.responses[key])} of {n} responses for {key}")
            await asyncio.sleep(0.01)
        return self.responses[key]

    async def push(self, type_: str, payload: dict[str, Any], wait: float = HANG) -> dict:
        """Send a Socket Mode envelope to the connected app and return its ack."""
        await asyncio.wait_for(self.socket_connected.wait(), wait)
        envelope_id = str(uuid.uuid4())
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending_acks[envelope_id] = fut
        envelope = {
            "envelope_id": envelope_id,
            "type": type_,
            "payload": payload,
            "accepts_response_payload": type_ != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
        }
        await self.sockets[-1].send_str(json.dumps(envelope))
        return await asyncio.wait_for(fut, wait)

    # -- Web API -------------------------------------------------------------------------

    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            ctype = request.content_type
            if ctype == "application/json":
                args.update(await request.json())
            elif ctype == "application/x-www-form-urlencoded":
                args.update(dict(await request.post()))
        return args

    async def _api(self, request: web.Request) -> web.Response:
        try:
            return await self._answer(request)
        finally:
            async with self._call_made:
                self._call_made.notify_all()

    async def _answer(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        self.calls.append(Call(method, args, dict(request.headers), request.method))
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if method == "oauth.v2.access":
            return self._oauth_v2_access(request, args)
        if method == "apps.connections.open":
            if not token.startswith("xapp-"):
                return _error("not_allowed_token_type")
            if token != self.app_token:
                return _error("invalid_auth")
        elif token in self.revoked:
            return _error("token_revoked")
        elif token not in self.tokens:
            return _error("invalid_auth" if token else "not_authed")
        team = self.tokens.get(token)
        scripted = self._take_failure(method, team)
        if scripted is not None:
            return scripted
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return _error("unknown_method")
        self._team = team  # which workspace this call acts in, for the handlers
        response: web.Response = await handler(args)
        if team is not None:
            scopes = self.scopes if token == self.bot_token else self.teams[team].scopes
            response.headers["x-oauth-scopes"] = ",".join(scopes)
        return response

    def _oauth_v2_access(self, request: web.Request, args: dict[str, Any]) -> web.Response:
        """Trade an install's code for a bot token (client credentials by HTTP basic auth)."""
        basic = request.headers.get("Authorization", "")
        try:
            client_id, _, secret = (
                base64.b64decode(basic.removeprefix("Basic ")).decode().partition(":")
            )
        except ValueError:
            return _error("invalid_client_id")
        if client_id != self.client_id:
            return _error("invalid_client_id")
        if secret != self.client_secret:
            return _error("bad_client_secret")
        grant = self.codes.pop(str(args.get("code", "")), None)  # a code works once
        if grant is None:
            return _error("invalid_code")
        team_id, scopes = grant
        team = self.teams[team_id]
        team.scopes = scopes
        token = f"xoxb-{team_id}-{uuid.uuid4().hex[:12]}"
        self.tokens[token] = team_id
        org = {"id": team.enterprise_id, "name": f"Org {team.enterprise_id}"}
        return _ok(
            access_token=token,
            token_type="bot",
            scope=",".join(scopes),
            bot_user_id=BOT_USER_ID,
            app_id=APP_ID,
            team=None if team.is_enterprise_install else {"id": team.id, "name": team.name},
            enterprise=org if team.enterprise_id else None,
            is_enterprise_install=team.is_enterprise_install,
            authed_user={"id": "U0INSTALLER"},
        )

    def _take_failure(self, method: str, team: str | None = None) -> web.Response | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        matching = [f for f in queue if f.team is None or f.team == team]
        if not matching:
            return None
        failure = matching[0]
        if failure.after > 0:
            failure.after -= 1
            return None
        failure.times -= 1
        if failure.times <= 0:
            queue.remove(failure)
        headers = {}
        if failure.retry_after is not None:
            headers["Retry-After"] = str(failure.retry_after)
        if failure.status >= 500:
            return web.Response(status=failure.status, text=failure.error, headers=headers)
        return _error(failure.error, status=failure.status, headers=headers)

    async def _m_auth_test(self, args: dict[str, Any]) -> web.Response:
        team = self.teams[self._team or self.team_id]
        return _ok(
            url="https://fake.slack.com/",
            team=team.name,
            user="paperbot",
            team_id=team.id,
            enterprise_id=team.enterprise_id,
            user_id=BOT_USER_ID,
            bot_id="B0BOT",
            is_enterprise_install=team.is_enterprise_install,
        )

    async def _m_apps_connections_open(self, args: dict[str, Any]) -> web.Response:
        return _ok(url=f"ws://127.0.0.1:{self.port}/link?ticket={uuid.uuid4().hex}")

    async def _m_conversations_open(self, args: dict[str, Any]) -> web.Response:
        users = str(args.get("users", ""))
        if not users:
            return _error("users_list_not_supplied")
        user_id = users.split(",")[0]
        if user_id in self.users and self.users[user_id].get("deleted"):
            return _error("user_disabled")
        return _ok(no_op=True, already_open=True, channel={"id": "D" + user_id.lstrip("UW")})

    async def _m_conversations_info(self, args: dict[str, Any]) -> web.Response:
        channel = str(args.get("channel", ""))
        if not channel:
            return _error("channel_not_found")
        return _ok(
            channel={"id": channel, "is_channel": True, "is_member": channel not in self.not_member}
        )

    async def _m_users_info(self, args: dict[str, Any]) -> web.Response:
        user = self.users.get(str(args.get("user", "")))
        if user is None:
            return _error("user_not_found")
        return _ok(user=user)

    async def _m_chat_postMessage(self, args: dict[str, Any]) -> web.Response:
        channel = args.get("channel")
        if not channel:
            return _error("channel_not_found")
        if channel in self.not_member:
            return _error("not_in_channel")
        problem = _check_message(args)
        if problem is not None:
            return _error(problem)
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        message = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": "B0BOT",
            "ts": ts,
            "text": args.get("text", ""),
            "blocks": args.get("blocks", []),
        }
        metadata = _metadata(args.get("metadata"))
        if metadata is not None:
            message["metadata"] = metadata
        thread_ts = args.get("thread_ts")
        if thread_ts:
            # As on Slack, a reply names a message of the same channel as its parent.
            parents = [
                m
                for m in self.messages
                if m["channel"] == channel and m.get("team") == self._team and m["ts"] == thread_ts
            ]
            if not parents or parents[0].get("thread_ts") not in (None, thread_ts):
                return _error("thread_not_found")
            message["thread_ts"] = str(thread_ts)
            parents[0]["thread_ts"] = str(thread_ts)
            parents[0]["reply_count"] = int(parents[0].get("reply_count", 0)) + 1
        self.messages.append({**message, "channel": channel, "team": self._team})
        if self.hang_after_post is not None:
            await self.hang_after_post.wait()
        return _ok(channel=channel, ts=ts, message=message)

    async def _m_conversations_history(self, args: dict[str, Any]) -> web.Response:
        """The channel's latest messages, newest first; metadata only when asked for."""
        channel = str(args.get("channel", ""))
        if not channel:
            return _error("channel_not_found")
        if channel in self.not_member:
            return _error("not_in_channel")
        scope = _HISTORY_SCOPES.get(channel[:1], "channels:history")
        if scope not in self.scopes:
            return _error("missing_scope")
        limit = max(1, min(999, int(args.get("limit") or 100)))
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        # Replies stay in their thread (conversations.replies), as on Slack.
        found = [
            m
            for m in reversed(self.messages)
            if m["channel"] == channel
            and m.get("team") == self._team
            and m.get("thread_ts") in (None, m["ts"])
        ][:limit]
        out = []
        for m in found:
            m = {k: v for k, v in m.items() if k not in ("channel", "team")}
            if not with_metadata:
                m.pop("metadata", None)
            out.append(m)
        return _ok(messages=out, has_more=False, pin_count=0)

    async def _m_conversations_replies(self, args: dict[str, Any]) -> web.Response:
        """A thread's parent and replies, oldest first; metadata only when asked for."""
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        if not channel:
            return _error("channel_not_found")
        if channel in self.not_member:
            return _error("not_in_channel")
        scope = _HISTORY_SCOPES.get(channel[:1], "channels:history")
        if scope not in self.scopes:
            return _error("missing_scope")
        thread = [
            m
            for m in self.messages
            if m["channel"] == channel
            and m.get("team") == self._team
            and (m["ts"] == ts or m.get("thread_ts") == ts)
        ]
        if not thread:
            return _error("thread_not_found")
        limit = max(1, min(999, int(args.get("limit") or 100)))
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        out = []
        for m in thread[:limit]:
            m = {k: v for k, v in m.items() if k not in ("channel", "team")}
            if not with_metadata:
                m.pop("metadata", None)
            out.append(m)
        return _ok(messages=out, has_more=len(thread) > limit)

    async def _m_chat_unfurl(self, args: dict[str, Any]) -> web.Response:
        if "links:write" not in self.scopes:
            return _error("missing_scope")
        if not (args.get("channel") and args.get("ts")) and not (
            args.get("unfurl_id") and args.get("source")
        ):
            return _error("invalid_arguments")
        unfurls = _json(args.get("unfurls"))
        if not isinstance(unfurls, dict) or not unfurls:
            return _error("invalid_unfurls")
        for unfurl in unfurls.values():
            if not isinstance(unfurl, dict) or _check_message(unfurl) is not None:
                return _error("invalid_unfurls")
        self.unfurls.append({**args, "unfurls": unfurls})
        return _ok()

    async def _m_files_getUploadURLExternal(self, args: dict[str, Any]) -> web.Response:
        if "files:write" not in self.scopes:
            return _error("missing_scope")
        filename, length = str(args.get("filename") or ""), str(args.get("length") or "")
        if not filename or not length.isdigit():
            return _error("invalid_arguments")
        file_id = f"F{uuid.uuid4().hex[:10].upper()}"
        self.uploads[file_id] = {"filename": filename, "length": int(length), "content": None}
        return _ok(upload_url=f"{self.url}/upload/{file_id}", file_id=file_id)

    async def _upload(self, request: web.Request) -> web.Response:
        """The upload URL: the raw bytes, of the length announced (Slack answers in text)."""
        pending = self.uploads.get(request.match_info["file_id"])
        content = await request.read()
        if pending is None:
            return web.Response(status=404, text="not found")
        if len(content) != pending["length"]:
            return web.Response(status=400, text="length mismatch")
        pending["content"] = content
        return web.Response(text=f"OK - {len(content)}")

    async def _m_files_completeUploadExternal(self, args: dict[str, Any]) -> web.Response:
        if "files:write" not in self.scopes:
            return _error("missing_scope")
        listed = _json(args.get("files"))
        if not isinstance(listed, list) or not listed:
            return _error("invalid_arguments")
        channel = args.get("channel_id") or None
        if channel is not None and channel in self.not_member:
            return _error("not_in_channel")
        done = []
        for entry in listed:
            pending = self.uploads.get(str(entry.get("id")))
            if pending is None or pending["content"] is None:
                return _error("file_not_found")
            done.append(
                {
                    "id": entry["id"],
                    "name": pending["filename"],
                    "title": entry.get("title") or pending["filename"],
                    "size": pending["length"],
                    "content": pending["content"],
                    "channel": channel,
                    "initial_comment": args.get("initial_comment"),
                }
            )
        self.files += done
        public = [{k: v for k, v in f.items() if k != "content"} for f in done]
        return _ok(files=public)

    async def _m_views_publish(self, args: dict[str, Any]) -> web.Response:
        view = _json(args.get("view"))
        user_id = str(args.get("user_id") or "")
        if not user_id:
            return _error("invalid_arguments")
        problem = _check_view(view, "home")
        if problem is not None:
            return _error(problem)
        self.home_views[user_id] = view
        return _ok(view={**view, "id": f"V{uuid.uuid4().hex[:8].upper()}"})

    async def _m_views_open(self, args: dict[str, Any]) -> web.Response:
        trigger = str(args.get("trigger_id") or "")
        if not trigger.startswith("trigger."):
            return _error("invalid_trigger_id")
        view = _json(args.get("view"))
        problem = _check_view(view, "modal")
        if problem is not None:
            return _error(problem)
        opened = {**view, "id": f"V{uuid.uuid4().hex[:8].upper()}"}
        self.opened_views.append(opened)
        return _ok(view=opened)

    # -- response_url and Socket Mode ----------------------------------------------------

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        key = request.match_info["key"]
        if self._refusals[key]:
            status, error = self._refusals[key].popleft()
            self.refused[key].append(body)
            return web.Response(status=status, text=error)
        problem = _check_message(body)
        if problem is not None:
            return web.Response(status=400, text=problem)
        self.responses[request.match_info["key"]].append(body)
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_str(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": len(self.sockets),
                    "debug_info": {"host": "applink-fake", "approximate_connection_time": 18060},
                    "connection_info": {"app_id": APP_ID},
                }
            )
        )
        self.socket_connected.set()
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                data = json.loads(msg.data)
                fut = self._pending_acks.pop(data.get("envelope_id", ""), None)
                if fut is not None and not fut.done():
                    fut.set_result(data)
        finally:
            self.sockets.remove(ws)
            if not self.sockets:
                self.socket_connected.clear()
        return ws


# The scope conversations.history needs, by the first letter of the conversation id.
_HISTORY_SCOPES = {"C": "channels:history", "G": "groups:history", "D": "im:history"}


def _metadata(value: Any) -> dict[str, Any] | None:
    """chat.postMessage's `metadata` argument (JSON text in a form body) as Slack stores it."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if isinstance(value, dict) and value.get("event_type"):
        return {"event_type": value["event_type"], "event_payload": value.get("event_payload")}
    return None


def _json(value: Any) -> Any:
    """A JSON argument: sent as text in a form or query, or as itself in a JSON body."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


MAX_VIEW_BLOCKS = 100  # a modal's or Home tab's blocks
MAX_VIEW_TITLE = 24
MAX_VIEW_JSON = 250_000  # Slack refuses views past about this much JSON
MAX_PRIVATE_METADATA = 3000
MAX_BUTTON_VALUE = 2000


def _check_view(view: Any, kind: str) -> str | None:
    """Return Slack's error code for a view over its limits or of the wrong shape, else None."""
    if not isinstance(view, dict) or view.get("type") != kind:
        return "invalid_arguments"
    blocks = view.get("blocks")
    if not isinstance(blocks, list) or not 0 < len(blocks) <= MAX_VIEW_BLOCKS:
        return "invalid_arguments"
    if len(json.dumps(view)) > MAX_VIEW_JSON:
        return "invalid_arguments"
    if len(str(view.get("private_metadata") or "")) > MAX_PRIVATE_METADATA:
        return "invalid_arguments"
    if kind == "modal":
        for key in ("title", "submit", "close"):
            text = (view.get(key) or {}).get("text", "")
            if (key == "title" and not text) or len(text) > MAX_VIEW_TITLE:
                return "invalid_arguments"
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(block_ids) != len(set(block_ids)):
        return "invalid_arguments"  # block_id must be unique within a view
    for block in blocks:
        text = (block.get("text") or {}).get("text", "")
        # In a view an action_id is unique within its block (the block_id tells them apart).
        action_ids: list[str] = []
        if block.get("type") == "input":
            element = block.get("element") or {}
            label = (block.get("label") or {}).get("text", "")
            if not element.get("action_id") or not 0 < len(label) <= 2000:
                return "invalid_arguments"
            continue
        if not _block_ok(block, text):
            return "invalid_arguments"
        for element in block.get("elements") or []:
            if element.get("type") == "button":
                action_ids.append(element.get("action_id", ""))
                if not 0 < len(element["text"]["text"]) <= 75:
                    return "invalid_arguments"
                if len(str(element.get("value") or "")) > MAX_BUTTON_VALUE:
                    return "invalid_arguments"
        if len(action_ids) != len(set(action_ids)):
            return "invalid_arguments"
    return None


def _check_message(args: dict[str, Any]) -> str | None:
    """Return Slack's error code for a message over its limits, else None."""
    if len(str(args.get("text") or "")) > MAX_TEXT:
        return "msg_too_long"
    blocks = args.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    if len(blocks) > MAX_BLOCKS:
        return "invalid_blocks"
    action_ids: list[str] = []
    total = 0
    for block in blocks:
        for element in block.get("elements") or []:
            total += len(element.get("text", "") if element.get("type") == "mrkdwn" else "")
            if element.get("type") == "button":
                action_ids.append(element.get("action_id", ""))
                if len(element["text"]["text"]) > 75 or len(element.get("url", "")) > 3000:
                    return "invalid_blocks"
        accessory = block.get("accessory") or {}
        if accessory.get("type") == "overflow":
            action_ids.append(accessory.get("action_id", ""))
            options = accessory.get("options") or []
            if not 2 <= len(options) <= 5 or any(
                len(o["text"]["text"]) > 75 or len(o.get("value", "")) > 150 for o in options
            ):
                return "invalid_blocks"
        text = (block.get("text") or {}).get("text", "")
        total += len(text)
        if not _block_ok(block, text):
            return "invalid_blocks"
    if len(action_ids) != len(set(action_ids)):
        return "invalid_blocks"  # action_id must be unique within a message
    if total > MAX_BLOCKS_CHARS:
        return "msg_blocks_too_long"
    return None


def _block_ok(block: dict[str, Any], text: str) -> bool:
    kind = block.get("type")
    n_elements = len(block.get("elements") or [])
    if kind == "section":
        fields = block.get("fields") or []
        return (bool(text) or bool(fields)) and len(text) <= MAX_SECTION_TEXT and len(fields) <= 10
    if kind == "header":
        return 0 < len(text) <= MAX_HEADER_TEXT
    if kind == "actions":
        return 0 < n_elements <= MAX_ACTION_ELEMENTS
    if kind == "context":
        return 0 < n_elements <= MAX_CONTEXT_ELEMENTS
    return kind in ("divider", "image", "rich_text", "markdown")


def _ok(**fields: Any) -> web.Response:
    return web.json_response({"ok": True, **fields})


def _error(error: str, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"ok": False, "error": error}, status=status, headers=headers)


def form_body(form: dict[str, str]) -> str:
    """Encode slash-command fields the way Slack does (sign exactly these bytes)."""
    return urllib.parse.urlencode(form)
