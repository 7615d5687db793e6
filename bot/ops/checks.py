"""What `paperbot doctor` checks that is not a chat platform's: the database, Hugging Face,
disabled destinations. Each check is a line of the doctor's table: a mark, what was found,
and how to fix it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import StrEnum

import aiohttp
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import exists, select
from sqlalchemy.engine import Connection, make_url

from bot.app import App
from bot.ops.gauges import reason_kind
from bot.settings import Settings
from bot.storage.db import alembic_config
from bot.storage.models import DestinationRow, SubscriptionRow

TIMEOUT = 10.0  # seconds any one network check may take
MAX_DISABLED_SHOWN = 20


class Mark(StrEnum):
    PASS = "pass"
    WARN = "warn"  # worth knowing, nothing wrong with the configuration: exit 0 all the same
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    """One line of the table."""

    name: str
    mark: Mark
    detail: str
    fix: str = ""

    @classmethod
    def ok(cls, name: str, detail: str) -> Check:
        return cls(name, Mark.PASS, detail)

    @classmethod
    def bad(cls, name: str, detail: str, fix: str) -> Check:
        return cls(name, Mark.FAIL, detail, fix)


@dataclass(frozen=True)
class Subscribed:
    """A channel that gets digests, as stored."""

    external_id: str
    name: str | None
    threads: bool = False  # `digest threads on`: the bot opens threads there too

    @property
    def shown(self) -> str:
        return f"#{self.name} ({self.external_id})" if self.name else self.external_id


def first_line(exc: BaseException) -> str:
    """An exception as one short line, without a traceback (the driver's message if any)."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text and text[0] else type(exc).__name__


def _revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


async def check_database(app: App) -> Check:
    """Reachable, and migrated to the head this version of paperbot ships."""
    name = "database"
    url = make_url(app.settings.database_url).render_as_string(hide_password=True)
    heads = ScriptDirectory.from_config(alembic_config(app.settings.database_url)).get_heads()
    try:
        async with asyncio.timeout(TIMEOUT), app.engine.connect() as conn:
            current = await conn.run_sync(_revision)
    except Exception as exc:
        return Check.bad(
            name,
            f"cannot connect to {url} ({first_line(exc)})",
            "check DATABASE_URL, and that the database server is up and reachable from here",
        )
    if current is None:
        return Check.bad(name, f"{url} has no schema yet", "run `paperbot db upgrade`")
    if current not in heads:
        script = ScriptDirectory.from_config(alembic_config(app.settings.database_url))
        known = {rev.revision for rev in script.walk_revisions()}
        if current not in known:
            return Check.bad(
                name,
                f"{url} is at revision {current}, newer than this paperbot knows",
                "upgrade paperbot to the version that migrated it",
            )
        return Check.bad(
            name,
            f"{url} is at revision {current}; this paperbot expects {', '.join(heads)}",
            "run `paperbot db upgrade` (`paperbot run` migrates on start too)",
        )
    return Check.ok(name, f"{url} reachable, migrated to head ({current})")


async def check_huggingface(settings: Settings, *, used: bool) -> list[Check]:
    """Hugging Face answers the Daily Papers API, and accepts HF_TOKEN when one is set."""
    name = "hugging face"
    if not used:
        return [Check.ok(name, "not used: the bundled sample papers are the source")]
    base = settings.hf_api_url
    fix = f"check HF_API_URL ({base}) and this machine's outbound HTTPS (proxy, firewall)"
    try:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            async with http.get(f"{base}/api/daily_papers", params={"limit": "1"}) as resp:
                status = resp.status
            if status != 200:
                return [Check.bad(name, f"{base}/api/daily_papers answered {status}", fix)]
            checks = [Check.ok(name, f"{base} answers the Daily Papers API")]
            token = settings.token
            if token:
                headers = {"Authorization": f"Bearer {token}"}
                async with http.get(f"{base}/api/whoami-v2", headers=headers) as resp:
                    who = await resp.json(content_type=None) if resp.status == 200 else {}
                    status = resp.status
                if status == 200:
                    checks.append(Check.ok("hf token", f"valid (for {who.get('name', '?')})"))
                elif status == 401:
                    checks.append(
                        Check.bad(
                            "hf token",
                            "Hugging Face rejected HF_TOKEN (401)",
                            "create a read token at https://huggingface.co/settings/tokens, "
                            "or unset HF_TOKEN (it is optional)",
                        )
                    )
                else:
                    checks.append(Check.bad("hf token", f"whoami answered {status}", fix))
            return checks
    except (aiohttp.ClientError, TimeoutError) as exc:
        return [Check.bad(name, f"cannot reach {base} ({first_line(exc)})", fix)]


async def subscribed_channels(app: App, platform: str) -> list[Subscribed]:
    """The platform's enabled channels that have at least one subscription."""
    has_subs = exists().where(SubscriptionRow.destination_id == DestinationRow.id)
    stmt = (
        select(DestinationRow.external_id, DestinationRow.name, DestinationRow.threads)
        .where(
            DestinationRow.platform == platform,
            DestinationRow.kind == "channel",
            DestinationRow.disabled_reason.is_(None),
            has_subs,
        )
        .order_by(DestinationRow.id)
    )
    async with app.sessions() as s:
        return [Subscribed(e, n, bool(t)) for e, n, t in (await s.execute(stmt)).all()]


_DISABLED_FIX = {
    "dms_closed": "the person must allow DMs from the bot; any alerts command turns posting on",
    "not_found": "nothing to do if it was deleted; otherwise re-add the bot and run a "
    "digest command there",
}
_DEFAULT_FIX = "fix that, then any digest or alerts command there turns posting back on"


async def check_disabled(app: App) -> list[Check]:
    """Every disabled destination, and why (a warning: people close DMs, delete channels)."""
    stmt = (
        select(DestinationRow)
        .where(DestinationRow.disabled_reason.is_not(None))
        .order_by(DestinationRow.disabled_at, DestinationRow.id)
    )
    async with app.sessions() as s:
        rows = list((await s.scalars(stmt)).all())
    if not rows:
        return [Check.ok("disabled destinations", "none")]
    checks = []
    for d in rows[:MAX_DISABLED_SHOWN]:
        where = f"#{d.name}" if d.kind == "channel" and d.name else f"{d.kind} {d.external_id}"
        since = f" since {d.disabled_at:%Y-%m-%d %H:%M} UTC" if d.disabled_at else ""
        reason = d.disabled_reason or ""
        checks.append(
            Check(
                f"disabled: {d.platform}",
                Mark.WARN,
                f"{where}{since}: {reason}",
                _DISABLED_FIX.get(reason_kind(reason), _DEFAULT_FIX),
            )
        )
    if len(rows) > MAX_DISABLED_SHOWN:
        more = len(rows) - MAX_DISABLED_SHOWN
        checks.append(Check("disabled destinations", Mark.WARN, f"and {more} more", ""))
    return checks
