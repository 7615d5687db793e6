"""Multi-workspace mode: bolt's OAuth v2 install flow, and uninstall handling.

`GET /slack/install` shows the "Add to Slack" page (bolt issues a `state`, stored in our
database and bound to the browser by a cookie); `GET /slack/oauth_redirect` checks and
consumes it (once: a replayed or forged state is refused), trades the code with
`oauth.v2.access`, refuses an install that lacks a scope paperbot needs, saves the
installation and re-enables the workspace's destinations that an uninstall had disabled.
Every page is ours, short, and says what to do next.

`app_uninstalled` and `tokens_revoked` (of the bot) delete the installation and disable that
workspace's destinations with the reason, which `status` shows after a reinstall.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.error import BoltError
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.config import SlackConfig
from adapters.slack.installations import (
    PLATFORM,
    SqlInstallationStore,
    SqlStateStore,
    workspace_key,
)
from adapters.slack.workspaces import INSTALL_REASON
from bot.app import App

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
UNINSTALLED = f"{INSTALL_REASON} was removed ({{event}}); reinstall the app to resume"


class MissingScopes(BoltError):
    """Slack granted fewer bot scopes than paperbot needs."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__("missing scopes: " + ", ".join(missing))
        self.missing = missing


class PaperbotOAuthFlow(AsyncOAuthFlow):
    """bolt's flow, refusing installs without every scope and re-enabling on reinstall."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        settings: AsyncOAuthSettings,
        on_installed: Callable[[str], Awaitable[None]],
    ) -> None:
        super().__init__(client=client, settings=settings, logger=log)
        self._on_installed = on_installed

    async def store_installation(
        self, request: AsyncBoltRequest, installation: Installation
    ) -> None:
        from adapters.slack.checks import SCOPES  # checks imports the app, which imports us

        granted = set(installation.bot_scopes or [])
        missing = [s for s in SCOPES if s not in granted]
        if missing:
            raise MissingScopes(missing)
        await super().store_installation(request, installation)
        key = workspace_key(
            installation.enterprise_id, installation.team_id, installation.is_enterprise_install
        )
        if key is not None:
            await self._on_installed(key)


def build_flow(
    config: SlackConfig,
    app: App,
    store: SqlInstallationStore,
    states: SqlStateStore,
) -> PaperbotOAuthFlow:
    """The OAuth flow of multi-workspace mode, its stores in paperbot's database."""
    from adapters.slack.checks import SCOPES

    assert config.client_id and config.client_secret

    async def installed(key: str) -> None:
        enabled = await app.destinations.enable_workspace(PLATFORM, key, INSTALL_REASON)
        log.info("slack workspace %s installed; %d destinations re-enabled", key, enabled)

    settings = AsyncOAuthSettings(
        client_id=config.client_id,
        client_secret=config.client_secret,
        scopes=list(SCOPES),
        user_scopes=[],
        redirect_uri=config.redirect_uri,
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        installation_store=store,
        installation_store_bot_only=True,
        state_store=states,
        state_expiration_seconds=int(states.expiration.total_seconds()),
        callback_options=AsyncCallbackOptions(success=_success, failure=_failure),
        logger=log,
    )
    # oauth.v2.access goes to SLACK_API_URL like every other call (a proxy, the tests).
    client = AsyncWebClient(base_url=config.api_url, timeout=10)
    return PaperbotOAuthFlow(client=client, settings=settings, on_installed=installed)


class Handled:
    """How many uninstall and revocation events were handled (bolt runs event listeners
    after it answered Slack, so a test waits here for their effect)."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = asyncio.Condition()

    async def mark(self) -> None:
        async with self._changed:
            self.count += 1
            self._changed.notify_all()

    async def wait_for(self, n: int, within: float = 10.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.count >= n), within)


def register_uninstall(bolt: AsyncApp, app: App, store: SqlInstallationStore) -> Handled:
    """Handle `app_uninstalled` and `tokens_revoked`: forget the workspace, disable it."""
    handled = Handled()

    async def gone(body: dict[str, Any], event_name: str) -> None:
        key = _event_workspace(body)
        if key is None:
            log.warning("slack %s without a team or org; ignored", event_name)
            return
        deleted = await store.delete(key)
        reason = UNINSTALLED.format(event=event_name)
        disabled = await app.destinations.disable_workspace(PLATFORM, key, reason, app.clock())
        log.warning(
            "slack workspace %s: %s; installation %s, %d destinations disabled",
            key,
            event_name,
            "deleted" if deleted else "already gone",
            disabled,
        )

    async def on_uninstalled(ack: Any, body: dict[str, Any]) -> None:
        await ack()  # bolt has answered Slack already (events are acknowledged at once)
        try:
            await gone(body, "app_uninstalled")
        finally:
            await handled.mark()

    async def on_revoked(ack: Any, body: dict[str, Any], event: dict[str, Any]) -> None:
        await ack()
        try:
            tokens = event.get("tokens")
            # paperbot holds no user tokens: only the bot's revocation matters.
            if isinstance(tokens, dict) and tokens.get("bot"):
                await gone(body, "tokens_revoked")
        finally:
            await handled.mark()

    bolt.event("app_uninstalled")(on_uninstalled)
    bolt.event("tokens_revoked")(on_revoked)
    return handled


def _event_workspace(body: dict[str, Any]) -> str | None:
    authorizations = body.get("authorizations") or [{}]
    first = authorizations[0] if isinstance(authorizations[0], dict) else {}
    org_wide = bool(first.get("is_enterprise_install") or body.get("is_enterprise_install"))
    return workspace_key(
        body.get("enterprise_id") or first.get("enterprise_id"),
        body.get("team_id") or first.get("team_id"),
        org_wide,
    )


# -- the pages ----------------------------------------------------------------------------

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>paperbot: {title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto; line-height: 1.5">
<h1>{title}</h1>
{body}
</body></html>
"""

AGAIN = f'<p><a href="{INSTALL_PATH}">Start the installation again</a>.</p>'


def page(status: int, title: str, *paragraphs: str, again: bool = True) -> BoltResponse:
    """One short HTML page; every text in it is escaped."""
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return BoltResponse(
        status=status,
        body=_PAGE.format(title=html.escape(title), body=body + ("\n" + AGAIN if again else "")),
        headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"},
    )


async def _success(args: AsyncSuccessArgs) -> BoltResponse:
    team = args.installation.team_name or args.installation.enterprise_name or "your workspace"
    return page(
        200,
        "paperbot is installed",
        f"paperbot is now installed in {team}.",
        "In a channel, type /invite @paperbot, then /papers help.",
        again=False,
    )


async def _failure(args: AsyncFailureArgs) -> BoltResponse:
    reason = args.reason
    log.warning("slack install refused: %s", reason)
    if isinstance(args.error, MissingScopes):
        return page(
            400,
            "Installation refused: permissions missing",
            "Slack granted paperbot fewer permissions than it needs, so nothing was "
            "installed. Missing: " + ", ".join(args.error.missing) + ".",
            "Approve every permission the install page asks for; a workspace admin may "
            "have to allow them first.",
        )
    if reason == "access_denied":
        return page(
            200,
            "Installation cancelled",
            "The installation was cancelled on Slack's page, so nothing was installed.",
            "paperbot needs every permission it asks for to post digests and answer "
            "/papers; a workspace admin may have to approve the app first.",
        )
    if reason in ("invalid_browser", "invalid_state"):
        return page(
            args.suggested_status_code,
            "This install link is no longer valid",
            "It expired (links are good for 10 minutes), was already used, or was opened "
            "in another browser than the one that started it.",
        )
    if reason in ("missing_code", "invalid_code"):
        return page(
            args.suggested_status_code,
            "Slack did not confirm the installation",
            "The answer from Slack was missing or no longer valid.",
        )
    return page(
        500,
        "The installation could not be completed",
        "Something went wrong on our side; it has been logged. Please try again later.",
    )
