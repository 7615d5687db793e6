"""The Slack adapter: a slack-bolt AsyncApp served over Socket Mode or HTTP."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any, cast

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import async_default_handlers
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.commands import PLATFORM, SlashCommands
from adapters.slack.config import SlackConfig, load_slack_config
from adapters.slack.controls import ACTION
from adapters.slack.features import register_features
from adapters.slack.feedback import FeedbackActions
from adapters.slack.inbound import MAX_BODY, signed, well_formed
from adapters.slack.installations import (
    SqlInstallationStore,
    SqlStateStore,
    TokenCipher,
    workspace_key,
)
from adapters.slack.oauth import (
    INSTALL_PATH,
    REDIRECT_PATH,
    Handled,
    build_flow,
    register_uninstall,
)
from adapters.slack.sender import WORKSPACE_RATE, SlackSender, rate_limit_handlers
from adapters.slack.workspaces import InstalledWorkspaces, OneWorkspace, Workspaces
from bot.core import Core
from bot.messages import Reply
from bot.port import Capabilities, Destination, Part, Posted
from bot.settings import ConfigError

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
NOT_INSTALLED_ANSWER = (
    ":warning: paperbot is not installed in this Slack workspace (or it was removed). "
    "Install it again from its Add to Slack page, then run the command again."
)
# On stop, answers already being computed get this long to reach Slack.
STOP_GRACE = 10.0
# What bolt's parsing raises on a body that is not what it claims to be.
_MALFORMED = (UnicodeDecodeError, ValueError, TypeError, AttributeError, KeyError, IndexError)


def make_client(config: SlackConfig, token: str | None = None) -> AsyncWebClient:
    """The bot's Web API client: SLACK_API_URL, connection-error and rate-limit retries.

    With `token` (multi-workspace mode), a client for that workspace's bot token.
    """
    # A workspace's 429 is not waited out inside the client in multi-workspace mode: the
    # sender holds that workspace's pacer and puts its items back for their turn, so the
    # worker serves another workspace meanwhile instead of sleeping up to 20 s.
    inline = [] if token else rate_limit_handlers()
    return AsyncWebClient(
        token=token or config.bot_token,
        base_url=config.api_url,
        timeout=10,  # the delivery layer's per-post timeout is 10 s too
        retry_handlers=[*async_default_handlers(), *inline],
    )


class SlackAdapter:
    """Serves /papers and posts digests and alerts in one Slack workspace, or in every
    workspace that installed the app (multi-workspace mode: OAuth installs, HTTP only)."""

    platform = PLATFORM
    # chat.postMessage has no idempotency key: a part that may have gone out before a crash
    # is looked up by the key in its metadata (`find_posted`), so posts may run in
    # parallel, spaced under the workspace-wide limit (see WORKSPACE_RATE).
    capabilities = Capabilities(finds_posts=True, rate=WORKSPACE_RATE)

    def __init__(self, core: Core, config: SlackConfig) -> None:
        self.config = config
        self.client = make_client(config)
        self.installations: SqlInstallationStore | None = None
        self.workspaces: Workspaces = OneWorkspace(self.client)
        if config.multi_workspace:
            app = core.app
            cipher = TokenCipher(config.token_keys)
            self.installations = SqlInstallationStore(app, cipher, clock=app.clock)
            states = SqlStateStore(app, clock=app.clock)
            self.oauth = build_flow(config, app, self.installations, states)
            self.workspaces = InstalledWorkspaces(
                self.installations, lambda token: make_client(config, token)
            )
            # Rate limits are per workspace: each gets its own pacer (see bot.delivery).
            self.capabilities = Capabilities(
                finds_posts=True, rate=WORKSPACE_RATE, rate_per_workspace=True
            )
        self.app = AsyncApp(
            client=self.client,
            signing_secret=config.signing_secret or "",
            # Socket Mode requests are not signed; HTTP requests always are verified.
            request_verification_enabled=config.mode == "http",
            name="paperbot",
            logger=_bolt_logger(),
            # Multi-workspace mode: bolt authorizes each request from its installation and
            # hands listeners a client with that workspace's token.
            oauth_flow=self.oauth if config.multi_workspace else None,
            # What bolt answers a command from a workspace with no installation.
            user_facing_authorize_error_message=NOT_INSTALLED_ANSWER,
        )
        self.uninstalls: Handled | None = None
        if self.installations is not None:
            self.uninstalls = register_uninstall(self.app, core.app, self.installations)
        self.commands = SlashCommands(core, config, self.client)
        # Unfurls, "Find paper", App Home, Messages tab, the subscribe modal (issue 14).
        self.features = register_features(self.app, self.commands)
        self.app.command(config.command)(self.commands)
        # Link buttons on paper cards still send block_actions; acknowledge them quietly.
        self.app.action(re.compile(r"^paperbot_link_"))(_ack_only)
        # 👍 👎 🔖 Similar and Undo on papers (adapters/slack/controls.py).
        self.feedback = FeedbackActions(self.commands)
        self.app.action(re.compile("^" + ACTION))(self.feedback)
        self.app.error(_log_error)
        self.sender = SlackSender(self.client, self.workspaces)
        self.port: int | None = None  # the bound HTTP port, in HTTP mode
        self.team_id: str | None = None
        self._stopped = asyncio.Event()
        self._socket: AsyncSocketModeHandler | None = None
        self._runner: web.AppRunner | None = None
        # Routes served beside /slack/events in HTTP mode (the operations endpoint, when
        # METRICS_PORT is SLACK_HTTP_PORT); they bring their own /healthz.
        self.extra_routes: Callable[[web.Application], None] | None = None
        # Used in HTTP mode only, where the config requires the secret (Socket Mode has none,
        # and the verifier refuses an empty one).
        self._verifier = SignatureVerifier(config.signing_secret or "unused")

    async def connect(self) -> None:
        """Check the token, then open the Socket Mode connection or the HTTP endpoint."""
        if self.config.multi_workspace:
            # No one token to check: each workspace's is checked by its install
            # (auth.test in the flow) and by `paperbot doctor`.
            await self._serve_http()
            self.team_id = ""
            log.info("slack connected in multi-workspace HTTP mode (OAuth installs)")
            return
        try:
            auth = await self.client.auth_test()
        except SlackApiError as exc:
            error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
            if exc.response.status_code != 200 or not error:
                raise  # Slack is down or rate-limiting: not a configuration problem
            raise ConfigError(f"SLACK_BOT_TOKEN: Slack rejected the bot token ({error})") from None
        self.team_id = auth.get("team_id")
        self.commands.home = workspace_key(
            auth.get("enterprise_id"), self.team_id, auth.get("is_enterprise_install")
        )
        if self.config.mode == "socket":
            await self._connect_socket()
        else:
            await self._serve_http()
        log.info(
            "slack connected to team %s (%s) in %s mode as %s",
            auth.get("team"),
            self.team_id,
            self.config.mode,
            auth.get("user"),
        )

    @property
    def connected(self) -> bool:
        """The token was accepted and the Socket Mode session or the HTTP server is up."""
        if self.team_id is None:
            return False
        if self.config.mode == "http":
            return self._runner is not None
        client = self._socket.client if self._socket is not None else None
        session = client.current_session if client is not None else None
        return (
            client is not None
            and not client.closed
            and not client.stale
            and session is not None
            and not session.closed
        )

    async def _connect_socket(self) -> None:
        handler = AsyncSocketModeHandler(self.app, app_token=self.config.app_token)
        try:
            # Ask for the WebSocket URL ourselves: the SDK's connect loop retries a bad app
            # token forever, and we would rather stop with a clear message.
            handler.client.wss_uri = await handler.client.issue_new_wss_url()
        except SlackApiError as exc:
            await handler.client.close()
            error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
            if exc.response.status_code != 200 or not error:
                raise
            raise ConfigError(
                f"SLACK_APP_TOKEN: Slack rejected the app-level token ({error}); it needs the "
                "connections:write scope and Socket Mode enabled"
            ) from None
        await handler.connect_async()
        self._socket = handler

    async def _serve_http(self) -> None:
        web_app = web.Application(client_max_size=MAX_BODY)
        web_app.router.add_post(EVENTS_PATH, self._events)
        if self.config.multi_workspace:
            web_app.router.add_get(INSTALL_PATH, self._install)
            web_app.router.add_get(REDIRECT_PATH, self._redirect)
        if self.extra_routes is not None:
            self.extra_routes(web_app)
        else:
            web_app.router.add_get(HEALTH_PATH, _health)
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.http_host, self.config.http_port)
        await site.start()
        # aiohttp types the server as AbstractServer; a TCPSite's is an asyncio.Server.
        server = cast("asyncio.Server | None", site._server)
        sockets = server.sockets if server else ()
        self.port = sockets[0].getsockname()[1] if sockets else self.config.http_port
        log.info(
            "slack HTTP mode: listening on %s:%s%s", self.config.http_host, self.port, EVENTS_PATH
        )

    async def _events(self, request: web.Request) -> web.Response:
        """Check a request's size, signature and shape (see inbound.py), then hand it to bolt.

        Nothing is parsed before the signature is checked; each refusal is one log line.
        """
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _refuse(request, 413, "request too large", f"over {MAX_BODY} bytes")
        if not signed(self._verifier, body, request.headers):
            return _refuse(request, 401, "invalid request", "bad or missing signature")
        try:
            bolt_request = AsyncBoltRequest(
                body=body.decode("utf-8"), query=request.query_string, headers=dict(request.headers)
            )
            shape_ok = well_formed(bolt_request.body)
        except _MALFORMED as exc:
            return _refuse(request, 400, "malformed request", type(exc).__name__)
        if not shape_ok:
            # Signed, so from Slack (or with our secret), yet not a shape Slack sends.
            return _refuse(request, 400, "malformed request", "not a Slack request shape")
        response = await self.app.async_dispatch(bolt_request)
        return await to_aiohttp_response(response)

    async def _install(self, request: web.Request) -> web.Response:
        """The "Add to Slack" page (bolt issues the state and sets its cookie)."""
        response = await self.oauth.handle_installation(_get_request(request))
        return await to_aiohttp_response(response)

    async def _redirect(self, request: web.Request) -> web.Response:
        """Where Slack sends the installer back: check the state, finish the install."""
        response = await self.oauth.handle_callback(_get_request(request))
        return await to_aiohttp_response(response)

    async def start(self) -> None:
        """Connect and serve until `stop()`."""
        self._stopped.clear()
        await self.connect()
        try:
            await self._stopped.wait()
        finally:
            await self._close()

    async def stop(self) -> None:
        """Stop taking commands, let those being answered finish (start() returns)."""
        self._stopped.set()
        await self._close()
        # Answers go out through response_url, which needs no connection of ours.
        await asyncio.gather(self.commands.settle(STOP_GRACE), self.features.settle(STOP_GRACE))

    async def _close(self) -> None:
        socket, self._socket = self._socket, None
        if socket is not None:
            await socket.close_async()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    def compose(self, reply: Reply) -> list[Part]:
        return self.sender.compose(reply)

    async def post(self, destination: Destination, part: Part, *, key: str) -> Posted:
        """Post one message of a digest or an alert (see SlackSender.post)."""
        return await self.sender.post(destination, part, key=key)

    async def find_posted(self, destination: Destination, key: str) -> Posted | None:
        """A part posted before its record, found by its key (see SlackSender.find_posted)."""
        return await self.sender.find_posted(destination, key)


class _DropTokenWarning(logging.Filter):
    # AsyncApp falls back to os.environ["SLACK_BOT_TOKEN"] and then warns that our explicit
    # client wins, which it should: the warning is noise at every start.
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("As you gave `client` as well")


def _bolt_logger() -> logging.Logger:
    logger = logging.getLogger("adapters.slack.bolt")
    if not any(isinstance(f, _DropTokenWarning) for f in logger.filters):
        logger.addFilter(_DropTokenWarning())
    return logger


async def _ack_only(ack: Any) -> None:
    await ack()


async def _log_error(error: Exception, body: dict[str, Any]) -> None:
    log.error(
        "slack request failed (type=%s team=%s)",
        body.get("type"),
        body.get("team_id"),
        exc_info=error,
    )


def _refuse(request: web.Request, status: int, error: str, why: str) -> web.Response:
    log.warning(
        "slack HTTP: refused a request from %s with %s (%s; %s bytes)",
        request.remote,
        status,
        why,
        request.content_length,
    )
    return web.json_response({"error": error}, status=status)


def _get_request(request: web.Request) -> AsyncBoltRequest:
    # A GET has no body; the state cookie rides in the headers.
    return AsyncBoltRequest(body="", query=request.query_string, headers=dict(request.headers))


async def _health(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def build_slack_adapter(core: Core, env: Mapping[str, str]) -> SlackAdapter | None:
    """The Slack adapter when SLACK_* variables configure one, else None (ConfigError if bad)."""
    config = load_slack_config(env)
    return SlackAdapter(core, config) if config is not None else None
