"""Which workspace a Slack id belongs to, and the Web API client with that workspace's token.

Slack channel and user ids are unique only within a workspace (or an Enterprise Grid org),
so the ids the adapter gives the core (Place.id, User.id, hence every destination's
external id) are `<workspace>:<id>`: `T123:C456`, or `E123:C456` for an org-wide install.
The core reads them as opaque strings. Migration 0008 rewrote the ids saved before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.installations import SqlInstallationStore, workspace_key

# Every reason a destination is disabled for because of its workspace's installation starts
# so: a reinstall re-enables exactly those (see DestinationRepo.enable_workspace).
INSTALL_REASON = "paperbot's installation in this Slack workspace"


def join(workspace: str | None, raw_id: str) -> str:
    """The core's id of a Slack channel or user (`T123:C456`; bare without a workspace)."""
    return f"{workspace}:{raw_id}" if workspace else raw_id


def split(external_id: str) -> tuple[str | None, str]:
    """(workspace, Slack id) of an id made by `join`; a bare id has no workspace."""
    workspace, sep, raw = external_id.partition(":")
    return (workspace, raw) if sep else (None, external_id)


def raw(external_id: str | None) -> str | None:
    """The Slack id alone."""
    return split(external_id)[1] if external_id else external_id


def workspace_of(body: Mapping[str, Any]) -> str | None:
    """The workspace a request came from: its team, or its org for an org-wide install."""
    team = body.get("team_id") or _id(body.get("team"))
    enterprise = body.get("enterprise_id") or _id(body.get("enterprise"))
    org_wide = body.get("is_enterprise_install") in (True, "true")
    return workspace_key(enterprise, team, org_wide)


def _id(value: Any) -> str | None:
    return value.get("id") if isinstance(value, dict) else None


class NotInstalled(Exception):
    """No installation for the workspace (uninstalled, or never installed)."""


class Workspaces(Protocol):
    multi: bool

    async def client(self, workspace: str | None) -> AsyncWebClient:
        """The client with the bot token of `workspace` (raises NotInstalled)."""


class OneWorkspace:
    """Single-workspace mode: SLACK_BOT_TOKEN for everything, as before."""

    multi = False

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def client(self, workspace: str | None) -> AsyncWebClient:
        return self._client


class InstalledWorkspaces:
    """Multi-workspace mode: each workspace's token, read from the shared database.

    Read on every call rather than cached: a reinstall, uninstall or token rotation that
    another process recorded is seen at once (the read is one indexed row).
    """

    multi = True

    def __init__(
        self, store: SqlInstallationStore, make_client: Callable[[str], AsyncWebClient]
    ) -> None:
        self.store = store
        self._make = make_client

    async def client(self, workspace: str | None) -> AsyncWebClient:
        bot = await self.store.find(workspace) if workspace else None
        if bot is None or not bot.bot_token:
            raise NotInstalled(workspace or "?")
        return self._make(bot.bot_token)
