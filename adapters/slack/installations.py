"""slack_sdk's async installation and OAuth state stores, over paperbot's own database.

slack_sdk ships SQLAlchemy stores, but they run synchronous queries (they would block the
event loop) on tables of their own; these implement the same interfaces
(`AsyncInstallationStore`, `AsyncOAuthStateStore`) over our async engine and the
`installations` / `oauth_states` tables of migration 0008, so every process behind a load
balancer sees every install the moment it is committed.

Only the bot is kept (bolt runs with `installation_store_bot_only`): paperbot asks for no
user scopes. Tokens are encrypted at rest with Fernet (`SLACK_TOKEN_KEYS`; see TokenCipher),
so a database dump or backup does not hand out every workspace's bot token.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

PLATFORM = "slack"
STATE_SECONDS = 600  # how long an "Add to Slack" link stays good (bolt's default)
MAX_STATE = 128  # longer `state` values are refused unread (ours are 43 characters)

Clock = Callable[[], datetime]


def workspace_key(
    enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None
) -> str | None:
    """What names an installation: the org for an org-wide install, else the team."""
    if is_enterprise_install and enterprise_id:
        return enterprise_id
    return team_id or None


class TokenCipher:
    """Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`) over the stored tokens.

    Several keys rotate: the first encrypts, any of them decrypts (MultiFernet).
    """

    def __init__(self, keys: Sequence[str]) -> None:
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    @staticmethod
    def valid_key(key: str) -> bool:
        try:
            Fernet(key)
        except (ValueError, TypeError):
            return False
        return True

    def seal(self, token: str | None) -> str | None:
        return self._fernet.encrypt(token.encode()).decode() if token else None

    def open(self, sealed: str | None) -> str | None:
        """The token, or None when no key here opens it (logged without the value)."""
        if not sealed:
            return None
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            log.error("a stored Slack token cannot be decrypted with SLACK_TOKEN_KEYS")
            return None


def _epoch(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) else None


class SqlInstallationStore(AsyncInstallationStore):
    """Installations (bot only) in the `installations` table, tokens encrypted."""

    def __init__(
        self, app: App, cipher: TokenCipher, *, clock: Clock = lambda: datetime.now(UTC)
    ) -> None:
        self._repo = app.installations
        self._cipher = cipher
        self._clock = clock

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        await self._save(installation.to_bot(), installation.user_id)

    async def async_save_bot(self, bot: Bot) -> None:
        await self._save(bot, None)

    async def _save(self, bot: Bot, installer: str | None) -> None:
        key = workspace_key(bot.enterprise_id, bot.team_id, bot.is_enterprise_install)
        if key is None:
            raise ValueError("an installation without a team or an org")
        data = {
            "app_id": bot.app_id,
            "enterprise_id": bot.enterprise_id,
            "enterprise_name": bot.enterprise_name,
            "team_id": bot.team_id,
            "team_name": bot.team_name,
            "bot_token": self._cipher.seal(bot.bot_token),
            "bot_id": bot.bot_id,
            "bot_user_id": bot.bot_user_id,
            "bot_scopes": list(bot.bot_scopes or []),
            "bot_refresh_token": self._cipher.seal(bot.bot_refresh_token),
            "bot_token_expires_at": bot.bot_token_expires_at,
            "is_enterprise_install": bool(bot.is_enterprise_install),
            "installer_user_id": installer,
        }
        await self._repo.put(PLATFORM, key, data, self._clock())
        log.info("slack installation saved for workspace %s (%s)", key, bot.team_name)

    async def find(self, key: str) -> Bot | None:
        """The bot installed in workspace `key` (a team id, or an org's enterprise id)."""
        row = await self._repo.get(PLATFORM, key)
        return self._bot(row.data, row.installed_at) if row is not None else None

    async def all(self) -> list[Bot]:
        """Every installation (for `paperbot doctor`)."""
        return [self._bot(r.data, r.installed_at) for r in await self._repo.all(PLATFORM)]

    def _bot(self, data: dict[str, Any], installed_at: datetime) -> Bot:
        return Bot(
            app_id=data.get("app_id"),
            enterprise_id=data.get("enterprise_id"),
            enterprise_name=data.get("enterprise_name"),
            team_id=data.get("team_id"),
            team_name=data.get("team_name"),
            bot_token=self._cipher.open(data.get("bot_token")) or "",
            bot_id=data.get("bot_id") or "",
            bot_user_id=data.get("bot_user_id") or "",
            bot_scopes=list(data.get("bot_scopes") or []),
            bot_refresh_token=self._cipher.open(data.get("bot_refresh_token")),
            bot_token_expires_at=_epoch(data.get("bot_token_expires_at")),
            is_enterprise_install=bool(data.get("is_enterprise_install")),
            installed_at=installed_at.timestamp(),
        )

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        key = workspace_key(enterprise_id, team_id, is_enterprise_install)
        bot = await self.find(key) if key else None
        if bot is None and enterprise_id and not is_enterprise_install:
            # A workspace of an org where the app was installed org-wide.
            bot = await self.find(enterprise_id)
            if bot is not None and not bot.is_enterprise_install:
                bot = None
        return bot if bot is not None and bot.bot_token else None

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        bot = await self.async_find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        if bot is None:
            return None
        return Installation(
            app_id=bot.app_id,
            enterprise_id=bot.enterprise_id,
            enterprise_name=bot.enterprise_name,
            team_id=bot.team_id,
            team_name=bot.team_name,
            bot_token=bot.bot_token,
            bot_id=bot.bot_id,
            bot_user_id=bot.bot_user_id,
            bot_scopes=bot.bot_scopes,
            bot_refresh_token=bot.bot_refresh_token,
            bot_token_expires_at=bot.bot_token_expires_at,
            user_id=user_id or "",
            is_enterprise_install=bot.is_enterprise_install,
            installed_at=bot.installed_at,
        )

    async def delete(self, key: str) -> bool:
        """Forget workspace `key`'s installation; whether there was one."""
        return await self._repo.delete(PLATFORM, key)

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        key = workspace_key(enterprise_id, team_id, not team_id)
        if key:
            await self.delete(key)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        if user_id is None:  # paperbot keeps no user tokens: only the bot is deleted
            await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)


class SqlStateStore(AsyncOAuthStateStore):
    """OAuth `state` values: random, stored, consumed once, expiring after 10 minutes."""

    def __init__(
        self,
        app: App,
        *,
        expiration_seconds: int = STATE_SECONDS,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self._repo = app.oauth_states
        self.expiration = timedelta(seconds=expiration_seconds)
        self._clock = clock

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(32)
        now = self._clock()
        await self._repo.add(state, now + self.expiration, now)
        return state

    async def async_consume(self, state: str) -> bool:
        if not isinstance(state, str) or not state or len(state) > MAX_STATE:
            return False
        return await self._repo.consume(state, self._clock())
