"""Settings, read once at start-up from the environment and an optional `.env` file."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

from dotenv import dotenv_values
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.storage.sqlite_url import parse_sqlite_url

DEFAULT_DB_FILE = "paperbot.sqlite3"
ENV_FILE = ".env"


class ConfigError(Exception):
    """A setting has a bad value; `str()` is the one line shown to the operator."""


def read_environment(env_file: Path | str | None = ENV_FILE) -> dict[str, str]:
    """The process environment over the `.env` file (if any): where every setting comes from.

    Core, Discord and Slack settings are all validated from this one mapping.
    """
    values: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        values = {k.upper(): v for k, v in dotenv_values(env_file).items() if v is not None}
    values.update({k.upper(): v for k, v in os.environ.items()})
    return values


class MustBe(ValueError):
    """Raised by a validator: the message is the form the variable must have, this time."""


# What pydantic's error types mean, in the words of "VARIABLE must be ...".
_TYPE_FORMS: dict[str, str] = {
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "bool_parsing": "true or false",
    "url_parsing": "a URL",
}


class EnvSettings(BaseModel):
    """Settings read from environment variables (and `.env`), with one-line English errors.

    `ENV_PREFIX` is the variables' prefix ("DISCORD_"); `FORMS` maps a field to the form its
    variable must have ("a port number from 1 to 65535"); a validator may instead raise
    ValueError with the form as its message, and a check across fields raises ValueError
    with the whole sentence.
    """

    # A plain pydantic model, not pydantic-settings' BaseSettings: `from_env` is the only
    # source (read_environment gives the mapping), so its sources were never used, and
    # importing pydantic-settings cost every `paperbot` process start-up time (issue 17;
    # bench/RESULTS.md, cli).
    # Defaults are validated as BaseSettings did (DEFAULT_TIMEZONE's canonical form).
    model_config = ConfigDict(extra="ignore", validate_default=True)
    ENV_PREFIX: ClassVar[str] = ""
    FORMS: ClassVar[dict[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, data: Any) -> Any:
        # `DISCORD_TOKEN=` in .env, as .env.example has it, means "not set": use the default.
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}
        return data

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        """Validate the variables of `env` (prefixed as the model says) that name a field.

        Raises ConfigError: one line naming the variable and the form it must have.
        """
        prefix = cls.ENV_PREFIX.lower()
        values = {}
        for key, value in env.items():
            name = key.lower()
            if name.startswith(prefix) and name[len(prefix) :] in cls.model_fields:
                values[name[len(prefix) :]] = value
        try:
            # model_validate, not the settings sources: `env` is the only source, so the
            # same mapping gives the same settings in tests and in production.
            return cls.model_validate(values)
        except ValidationError as exc:
            raise cls._config_error(exc) from None

    @classmethod
    def _config_error(cls, exc: ValidationError) -> ConfigError:
        err = exc.errors()[0]
        cause = (err.get("ctx") or {}).get("error")
        if not err["loc"]:  # a check across fields says it all
            return ConfigError(str(cause or err["msg"]))
        field = str(err["loc"][0])
        variable = (cls.ENV_PREFIX + field).upper()
        if isinstance(cause, MustBe):
            form = str(cause)
        elif field in cls.FORMS:
            form = cls.FORMS[field]
        elif err["type"] == "value_error" and cause is not None:
            form = str(cause)
        elif err["type"] == "literal_error":
            form = "one of " + str((err.get("ctx") or {}).get("expected", "the listed values"))
        else:
            form = _TYPE_FORMS.get(err["type"], "a valid value")
        return ConfigError(f"{variable} must be {form}")


# Field name -> the form its variable must have, for one-line error messages.
_FORMS: dict[str, str] = {
    "database_url": "a SQLAlchemy URL of a database file or server, such as "
    "sqlite+aiosqlite:///paperbot.sqlite3 or postgresql+asyncpg://user@host/db",
    "papers_source": "one of auto, huggingface, sample",
    "hf_api_url": "an http(s) URL such as https://huggingface.co",
    "arxiv_api_url": "an http(s) URL such as https://export.arxiv.org",
    "log_level": "one of DEBUG, INFO, WARNING, ERROR",
    "default_timezone": "an IANA time zone such as Europe/Berlin or UTC",
    "ingest_interval_minutes": "a whole number of minutes from 1 to 1440",
    "max_subscriptions_per_user": "a positive whole number",
    "max_subscriptions_per_channel": "a positive whole number",
    "catch_up_hours": "a number of hours from 0 to 48",
    "source_grace_hours": "a number of hours from 0 to 48",
    "post_empty_digests": "true or false",
    "delivery_lease_seconds": "a whole number of seconds from 2 to 600",
    "database_pool_size": "a whole number of connections from 1 to 100",
    "metrics_port": "a port number from 0 to 65535 (0: any free port)",
    "ready_poll_max_age_minutes": "a whole number of minutes from 1 to 10080",
    "log_format": "one of text, json",
    "upkeep_interval_minutes": "a whole number of minutes from 0 (never) to 1440",
    "artifact_days": "a whole number of days from 0 (never look up) to 30",
    "artifact_refresh_hours": "a number of hours from 1 to 168",
    "hf_request_budget": "a whole number of requests per 5 minutes from 1 to 500",
}


class Settings(EnvSettings):
    """Core settings. Adapters validate their own (DISCORD_*, SLACK_*) from the same source."""

    FORMS: ClassVar[dict[str, str]] = _FORMS

    database_url: str = f"sqlite+aiosqlite:///{DEFAULT_DB_FILE}"
    # PostgreSQL connections one process may open: several processes share the server's
    # max_connections (100 by default), and the sender's workers hold one only briefly.
    database_pool_size: int = Field(15, ge=1, le=100)
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
    # The operations endpoint (/healthz, /readyz, /metrics) of `paperbot run`: off unless a
    # port is set; on localhost unless told otherwise (metrics are not for the internet).
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(None, ge=0, le=65535)
    # /readyz fails when the last complete poll is older than this (unset: three intervals).
    ready_poll_max_age_minutes: int | None = Field(None, ge=1, le=10080)
    log_format: Literal["text", "json"] = "text"
    # How often the bot checks whether its tables want a VACUUM or ANALYZE (PostgreSQL) or
    # an optimize and WAL checkpoint (SQLite): the bot does not count on autovacuum. 0: never.
    upkeep_interval_minutes: int = Field(10, ge=0, le=1440)
    # Linked models, datasets and Spaces are looked up for papers featured in the last
    # `artifact_days` days, again every `artifact_refresh_hours`. The look-ups stop once the
    # process has made `hf_request_budget` requests to Hugging Face in the last 5 minutes
    # (theirs: 500 anonymous): the rest is left to the poll and to commands.
    artifact_days: int = Field(7, ge=0, le=30)
    artifact_refresh_hours: float = Field(12, ge=1, le=168)
    hf_request_budget: int = Field(400, ge=1, le=500)

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, v: str) -> str:
        v = v.strip()
        # Accept the URLs hosting providers hand out and pick the async drivers ourselves.
        for prefix, driver in (
            ("postgres://", "postgresql+asyncpg://"),
            ("postgresql://", "postgresql+asyncpg://"),
            ("sqlite:///", "sqlite+aiosqlite:///"),
            ("sqlite://", "sqlite+aiosqlite://"),  # SQLAlchemy's in-memory form: refused below
        ):
            if v.startswith(prefix):
                v = driver + v[len(prefix) :]
                break
        if not v.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("unsupported database URL")
        if v.startswith("postgresql"):
            # Imported here: SQLite, the default, is parsed without loading SQLAlchemy, so
            # that a command which only reads a file starts quickly (issue 17).
            from sqlalchemy.engine import make_url
            from sqlalchemy.exc import ArgumentError

            try:
                make_url(v)
            except (ArgumentError, ValueError) as exc:  # e.g. a port that is not a number
                raise ValueError("not a URL") from exc
            return v
        try:
            url = parse_sqlite_url(v)
        except ValueError as exc:
            raise ValueError("not a URL") from exc
        if url.in_memory:
            # Migrations, the bot and each command would each see an empty database.
            raise MustBe(
                "a database file, such as sqlite:///paperbot.sqlite3, "
                "not an in-memory SQLite database (nothing would be kept)"
            )
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

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, v: object) -> object:
        return v.strip().lower() if isinstance(v, str) else v

    @field_validator("metrics_host")
    @classmethod
    def _host(cls, v: str) -> str:
        return v.strip() or "127.0.0.1"

    @field_validator("default_timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        # Whatever `/digest time 09:00 europe/berlin` accepts, canonicalised (Europe/Berlin).
        from bot.delivery.timing import TimingError, parse_zone

        try:
            return parse_zone(v)
        except TimingError as exc:
            raise ValueError("unknown time zone") from exc

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def token(self) -> str | None:
        return self.hf_token.get_secret_value() if self.hf_token else None


def load_settings(
    env: Mapping[str, str] | None = None, env_file: Path | str | None = ENV_FILE
) -> Settings:
    """Build the settings from `env` (default: the environment over `.env`).

    Raises ConfigError naming the variable and the form it must have.
    """
    return Settings.from_env(read_environment(env_file) if env is None else env)


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _OneLineFormatter(logging.Formatter):
    """Log records without their tracebacks: the exception's type and message only."""

    def formatException(self, ei: Any) -> str:
        return f"  ({ei[0].__name__}: {ei[1]}; LOG_LEVEL=DEBUG shows the traceback)"

    def formatStack(self, stack_info: str) -> str:
        return ""


def configure_logging(
    level: str,
    *,
    tracebacks: bool = True,
    log_format: str = "text",
    secrets: Iterable[str] = (),
) -> None:
    """Log to stderr as text or JSON lines, never showing `secrets` or token-shaped text;
    without `tracebacks` (a terminal a person reads) in one line each."""
    from bot.ops.logs import JsonFormatter, RedactingFormatter, Redactor

    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format=LOG_FORMAT,
    )
    redact = Redactor(secrets)
    formatter: logging.Formatter
    if log_format == "json":
        formatter = JsonFormatter(redact, tracebacks=tracebacks)
    else:
        inner = logging.Formatter(LOG_FORMAT) if tracebacks else _OneLineFormatter(LOG_FORMAT)
        formatter = RedactingFormatter(inner, redact)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)
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
