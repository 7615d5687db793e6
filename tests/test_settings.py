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


def test_every_setting_is_documented_in_the_readme_and_env_example() -> None:
    from bot.settings import Settings

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        variable = name.upper()
        # The README table may shorten a pair: `MAX_SUBSCRIPTIONS_PER_USER` / `…_PER_CHANNEL`.
        short = "…_" + variable.rsplit("_", 2)[-2] + "_" + variable.rsplit("_", 1)[-1]
        assert f"`{variable}`" in readme or f"`{short}`" in readme, variable
        assert f"{variable}=" in example, variable


def test_the_pool_size_caps_a_postgresql_process() -> None:
    from bot.app import build_app

    app = build_app(
        load_settings({"DATABASE_URL": "postgresql://u@h/db", "DATABASE_POOL_SIZE": "6"})
    )
    pool = app.engine.pool
    assert (pool.size(), pool._max_overflow) == (6, 0)  # type: ignore[attr-defined]


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
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL must be a SQLAlchemy URL"),
        ({"DATABASE_URL": "postgresql://u@h:port/db"}, "DATABASE_URL must be a SQLAlchemy URL"),
        ({"PAPERS_SOURCE": "rss"}, "PAPERS_SOURCE must be one of auto, huggingface, sample"),
        ({"HF_API_URL": "ftp://x"}, "HF_API_URL must be an http(s) URL"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR"),
        ({"DEFAULT_TIMEZONE": "Mars/Olympus"}, "DEFAULT_TIMEZONE must be an IANA time zone"),
        ({"INGEST_INTERVAL_MINUTES": "0"}, "INGEST_INTERVAL_MINUTES must be a whole number"),
        ({"INGEST_INTERVAL_MINUTES": "often"}, "INGEST_INTERVAL_MINUTES must be a whole number"),
        ({"POST_EMPTY_DIGESTS": "maybe"}, "POST_EMPTY_DIGESTS must be true or false"),
        ({"CATCH_UP_HOURS": "99"}, "CATCH_UP_HOURS must be a number of hours from 0 to 48"),
        ({"DATABASE_POOL_SIZE": "0"}, "DATABASE_POOL_SIZE must be a whole number of connections"),
    ],
)
def test_bad_values_name_the_variable_and_the_form(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(env)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)
    assert "Input should" not in str(err.value)  # English, not pydantic's words


@pytest.mark.parametrize(
    "url", ["sqlite:///:memory:", "sqlite+aiosqlite:///:memory:", "sqlite:///", "sqlite://"]
)
def test_an_in_memory_or_empty_sqlite_url_is_refused(url: str) -> None:
    with pytest.raises(ConfigError, match=r"^DATABASE_URL must be a database file"):
        load_settings({"DATABASE_URL": url})


def test_default_timezone_is_read_like_chat_reads_it() -> None:
    assert load_settings({"DEFAULT_TIMEZONE": "europe/berlin"}).default_timezone == "Europe/Berlin"
    assert load_settings({"DEFAULT_TIMEZONE": "utc"}).default_timezone == "UTC"


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
        "paperbot: configuration error: DATABASE_URL must be a SQLAlchemy URL of a database "
        "file or server, such as sqlite+aiosqlite:///paperbot.sqlite3 or "
        "postgresql+asyncpg://user@host/db"
    ]


@pytest.mark.parametrize(
    ("url", "line"),
    [
        (
            "sqlite:///:memory:",
            "paperbot: configuration error: DATABASE_URL must be a database file, such as "
            "sqlite:///paperbot.sqlite3, not an in-memory SQLite database (nothing would be kept)",
        ),
        (
            "postgresql://paperbot:s3cret@db:port/x",
            "paperbot: configuration error: DATABASE_URL must be a SQLAlchemy URL of a database "
            "file or server, such as sqlite+aiosqlite:///paperbot.sqlite3 or "
            "postgresql+asyncpg://user@host/db",
        ),
    ],
)
def test_an_unusable_database_url_is_one_line(tmp_path: Path, url: str, line: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "papers"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (proc.returncode, proc.stdout, proc.stderr.splitlines()) == (2, "", [line])


def test_secrets_never_show_in_an_error() -> None:
    from adapters.discord.config import load_discord_config
    from adapters.slack.config import load_slack_config

    with pytest.raises(ConfigError) as err:
        load_discord_config({"DISCORD_TOKEN": "Bot sekrit-discord-token"})
    assert "sekrit" not in str(err.value)
    with pytest.raises(ConfigError) as err:
        load_slack_config({"SLACK_BOT_TOKEN": "xoxp-sekrit", "SLACK_SIGNING_SECRET": "s"})
    assert "sekrit" not in str(err.value)
    assert str(err.value) == "SLACK_BOT_TOKEN must be a bot token starting with xoxb-"


def test_platform_settings_come_from_dotenv_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adapters.cli.wiring import configured_platforms
    from adapters.discord.config import load_discord_config
    from adapters.slack.config import load_slack_config
    from bot.settings import read_environment

    (tmp_path / ".env").write_text(
        "DISCORD_TOKEN=MTAw.from.dotenv\nDISCORD_SHARD_COUNT=2\nslack_bot_token=xoxb-dotenv\n"
        "SLACK_SIGNING_SECRET=shh\nSLACK_HTTP_PORT=8080\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    for var in list(os.environ):
        if var.startswith(("DISCORD_", "SLACK_")):
            monkeypatch.delenv(var)
    monkeypatch.setenv("SLACK_HTTP_PORT", "9090")  # the environment wins over .env
    discord = load_discord_config()
    slack = load_slack_config()
    assert discord is not None and discord.token == "MTAw.from.dotenv"
    assert discord.shard_count == 2
    assert slack is not None and slack.bot_token == "xoxb-dotenv" and slack.http_port == 9090
    assert configured_platforms(read_environment()) == ["discord", "slack"]


def test_console_logs_show_no_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    """On the console a failing command logs one line: a person reads that terminal."""
    import logging

    from bot.settings import configure_logging

    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = []
    try:
        configure_logging("WARNING", tracebacks=False)
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("bot.core").exception("command 'x' failed")
        err = capsys.readouterr().err
    finally:
        root.handlers = saved
    assert "command 'x' failed" in err and "ValueError: boom" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 2
