"""Log lines for people (text) or for a log collector (JSON), with secrets taken out.

LOG_FORMAT=json writes one JSON object a line: time, level, logger, message, the
structured context a call site passes with `extra=` (platform, destination, outbox_key,
command, ...) and the exception. Either way, every secret known at start-up (tokens,
signing secrets, the database password) and anything shaped like a token is replaced
before the line is written, whoever logged it: the core, a library, a traceback.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

REDACTED = "[redacted]"
# Variables whose values are secrets, by the end of their names.
SECRET_NAMES = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|API_KEY)$")
MIN_SECRET = 6  # shorter values would blank out ordinary words
# Token shapes, for secrets nobody told us about (a user's pasted token, a library's URL).
TOKEN_SHAPES = re.compile(
    r"\bxox[abposr]-[A-Za-z0-9-]{8,}"  # Slack bot/user tokens
    r"|\bxapp-[A-Za-z0-9-]{8,}"  # Slack app-level tokens
    r"|\bhf_[A-Za-z0-9]{16,}"  # Hugging Face tokens
    r"|\b[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,}"  # Discord bot tokens
)
# Secrets by where they stand: group 1 (before) and group 2 (after) are kept.
SECRET_PLACES = re.compile(
    r"([?&](?:token|access_token|api_key|key|secret|password)=)[^&\s\"']+()"  # in a URL
    r"|(Authorization: (?:Bot|Bearer|Basic) )[^\s\"',]+()"  # a request header
    r"|(://[^/\s:@]+:)[^/\s@]+(@)",  # a URL's password
    re.IGNORECASE,
)


def _keep_around(match: re.Match[str]) -> str:
    before, after = [g for g in match.groups() if g is not None][:2]
    return f"{before}{REDACTED}{after}"


# Attributes every LogRecord has; anything else came in through `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def secrets_in(env: Mapping[str, str]) -> list[str]:
    """The secret values of an environment: tokens, secrets, the database password."""
    found = [v.strip() for k, v in env.items() if SECRET_NAMES.search(k.upper()) and v.strip()]
    url = env.get("DATABASE_URL", "").strip()
    if "@" in url:  # only a URL with a user part has a password (SQLite's never do)
        # Imported here: a SQLite command need not load SQLAlchemy for this (issue 17).
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            password = make_url(url).password
        except (ArgumentError, ValueError):
            password = None
        if password:
            found.append(str(password))
    return found


class Redactor:
    """Replaces the known secrets and anything token-shaped in a piece of text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first: a secret that contains another is replaced whole.
        known = {s for s in secrets if len(s) >= MIN_SECRET}
        self._secrets = sorted(known, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return SECRET_PLACES.sub(_keep_around, TOKEN_SHAPES.sub(REDACTED, text))


class RedactingFormatter(logging.Formatter):
    """Another formatter's line, with the secrets taken out."""

    def __init__(self, inner: logging.Formatter, redact: Redactor) -> None:
        super().__init__()
        self._inner = inner
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self._redact(self._inner.format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, context, exception."""

    def __init__(self, redact: Redactor | None = None, *, tracebacks: bool = True) -> None:
        super().__init__()
        self._redact = redact or Redactor()
        self._tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self._redact(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in entry:
                entry[key] = self._field(value)
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, exc = record.exc_info[0], record.exc_info[1]
            if self._tracebacks:
                entry["exception"] = self._redact(self.formatException(record.exc_info))
            else:
                entry["exception"] = self._redact(f"{exc_type.__name__}: {exc}")
        if record.stack_info and self._tracebacks:
            entry["stack"] = self._redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)

    def _field(self, value: object) -> object:
        if value is None or isinstance(value, bool | int | float):
            return value
        return self._redact(value if isinstance(value, str) else str(value))
