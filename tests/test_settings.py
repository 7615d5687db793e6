"""Settings: defaults, .env, and one-line errors for bad values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_need_no_configuration() -> None:
    s = load_settings({})
    assert s.database_url == "sqlite+aiosqlite:///paperbot.sqlite3"
    assert s.papers_source == "auto"
    assert s.hf_api_url == "https://huggingface.co"
    assert s.token is None


def test_plain_database_urls_get_async_drivers() -> None:
    assert (
        load_settings({"DATABASE_URL": "postgres://u@h/db"}).database_url
        == "postgresql+asyncpg://u@h/db"
    )
    assert load_settings({"DATABASE_URL": "sqlite:///x.db"}).database_url == (
        "sqlite+aiosqlite:///x.db"
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL: expected a SQLAlchemy URL"),
        ({"PAPERS_SOURCE": "rss"}, "PAPERS_SOURCE: expected 'auto', 'huggingface' or 'sample'"),
        ({"HF_API_URL": "ftp://x"}, "HF_API_URL: expected an http(s) URL"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL: expected one of DEBUG, INFO, WARNING, ERROR"),
        ({"DEFAULT_TIMEZONE": "Mars/Olympus"}, "DEFAULT_TIMEZONE: expected an IANA time zone"),
        ({"INGEST_INTERVAL_MINUTES": "0"}, "INGEST_INTERVAL_MINUTES: expected a whole number"),
    ],
)
def test_bad_values_name_the_variable_and_the_form(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(env)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_token_never_shows_in_repr() -> None:
    s = load_settings({"HF_TOKEN": "hf_secret_value"})
    assert s.token == "hf_secret_value"
    assert "hf_secret_value" not in repr(s)


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("PAPERS_SOURCE=sample\nLOG_LEVEL=debug\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for var in ("PAPERS_SOURCE", "LOG_LEVEL"):
        monkeypatch.delenv(var, raising=False)
    s = load_settings()
    assert (s.papers_source, s.log_level) == ("sample", "DEBUG")


def test_cli_exits_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": "mysql://nope", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "papers"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "paperbot: configuration error: DATABASE_URL: expected a SQLAlchemy URL such as "
        "sqlite+aiosqlite:///paperbot.sqlite3 or postgresql+asyncpg://user@host/db"
    ]
