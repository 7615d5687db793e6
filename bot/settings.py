"""Settings, read once at start-up from the environment and an optional `.env` file."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB_FILE = "paperbot.sqlite3"


class ConfigError(Exception):
    """A setting has a bad value; `str()` is the one line shown to the operator."""


# Field name -> (environment variable, expected form), for one-line error messages.
_EXPECTED: dict[str, str] = {
    "database_url": "a SQLAlchemy URL such as sqlite+aiosqlite:///paperbot.sqlite3 or "
    "postgresql+asyncpg://user@host/db",
    "papers_source": "'auto', 'huggingface' or 'sample'",
    "hf_api_url": "an http(s) URL such as https://huggingface.co",
    "log_level": "one of DEBUG, INFO, WARNING, ERROR",
    "default_timezone": "an IANA time zone such as Europe/Berlin or UTC",
    "ingest_interval_minutes": "a whole number of minutes from 1 to 1440",
    "max_subscriptions_per_user": "a positive whole number",
    "max_subscriptions_per_channel": "a positive whole number",
    "catch_up_hours": "a number of hours from 0 to 48",
    "source_grace_hours": "a number of hours from 0 to 48",
    "delivery_lease_seconds": "a whole number of seconds from 2 to 600",
}


class Settings(BaseSettings):
    """Core settings. Adapters read their own (DISCORD_*, SLACK_*) in their packages."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    database_url: str = f"sqlite+aiosqlite:///{DEFAULT_DB_FILE}"
    # "auto": the bundled sample when only the console runs (the offline demo), Hugging Face
    # as soon as a chat platform is configured.
    papers_source: Literal["auto", "huggingface", "sample"] = "auto"
    hf_api_url: str = "https://huggingface.co"
    hf_token: SecretStr | None = None
    arxiv_api_url: str = "https://export.arxiv.org"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    default_timezone: str = "UTC"
    ingest_interval_minutes: int = Field(30, ge=1, le=1440)
    max_subscriptions_per_user: int = Field(50, ge=1)
    max_subscriptions_per_channel: int = Field(100, ge=1)
    catch_up_hours: float = Field(12, ge=0, le=48)
    source_grace_hours: float = Field(6, ge=0, le=48)
    post_empty_digests: bool = False
    # How long a process's claim on a message lasts without its heartbeat (renewed every
    # third of it): a dead process's messages are taken over within this time.
    delivery_lease_seconds: int = Field(30, ge=2, le=600)

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, v: str) -> str:
        v = v.strip()
        # Accept the URLs hosting providers hand out and pick the async drivers ourselves.
        for prefix, driver in (
            ("postgres://", "postgresql+asyncpg://"),
            ("postgresql://", "postgresql+asyncpg://"),
            ("sqlite:///", "sqlite+aiosqlite:///"),
        ):
            if v.startswith(prefix):
                return driver + v[len(prefix) :]
        if not v.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("unsupported database URL")
        return v

    @field_validator("hf_api_url", "arxiv_api_url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("not an http(s) URL")
        return v.rstrip("/")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, v: object) -> object:
        return v.upper() if isinstance(v, str) else v

    @field_validator("default_timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown time zone") from exc
        return v

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def token(self) -> str | None:
        return self.hf_token.get_secret_value() if self.hf_token else None


def load_settings(
    env: Mapping[str, str] | None = None, env_file: Path | str | None = ".env"
) -> Settings:
    """Build the settings from `env` (default: the process environment) and `.env`.

    Raises ConfigError naming the variable and its expected form.
    """
    try:
        if env is None:
            return Settings(_env_file=env_file)  # type: ignore[call-arg]
        values = {k.lower(): v for k, v in env.items() if k.lower() in Settings.model_fields}
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "?"
        expected = _EXPECTED.get(field, err["msg"])
        raise ConfigError(f"{field.upper()}: expected {expected}") from None


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # discord.py and aiohttp are chatty at INFO; their warnings still show.
    noisy_loggers = (
        "discord.gateway",
        "discord.client",
        "aiohttp.access",
        "apscheduler",
        "alembic.runtime.migration",
    )
    for noisy in noisy_loggers:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
