"""LOG_FORMAT=json: one JSON object a line with the call site's context; no secret, ever."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from bot.commands.registry import Command, Registry
from bot.core import Core
from bot.ops.logs import JsonFormatter, RedactingFormatter, Redactor, secrets_in
from bot.port import DeliveryError, Destination, Failure
from bot.settings import ConfigError, configure_logging, load_settings
from tests.delivery_helpers import FakeSource, Harness, RecordingAdapter, make_app, paper, utc
from tests.helpers import ADMIN, CHANNEL, FakeClock

HF = "hf_AbCdEfGhIjKlMnOpQrStUv"
DISCORD = "MTAwMDAwMDAwMDAwMDAwMDAx.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789"
SLACK_BOT = "xoxb-1234567890-0987654321-AbCdEfGhIjKl"
SLACK_APP = "xapp-1-A0123456789-0123456789-abcdef"
SIGNING = "8f742231b10e8888abcd99yyyzzz85a5"
DB_PASSWORD = "pg-pass-word-77"
ENV = {
    "DATABASE_URL": f"postgresql://paperbot:{DB_PASSWORD}@db.internal:5432/paperbot",
    "HF_TOKEN": HF,
    "DISCORD_TOKEN": DISCORD,
    "SLACK_BOT_TOKEN": SLACK_BOT,
    "SLACK_APP_TOKEN": SLACK_APP,
    "SLACK_SIGNING_SECRET": SIGNING,
}
SECRETS = (HF, DISCORD, SLACK_BOT, SLACK_APP, SIGNING, DB_PASSWORD)


Captured = tuple[io.StringIO, logging.Handler]


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, logging.Handler]]:
    """A root handler writing to a buffer, as stderr would get it."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    root = logging.getLogger()
    saved = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield buffer, handler
    root.removeHandler(handler)
    root.setLevel(saved)


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_a_json_line_has_time_level_logger_message_and_context(captured: Captured) -> None:
    buffer, handler = captured
    handler.setFormatter(JsonFormatter())
    logging.getLogger("bot.delivery.sender").warning(
        "outbox item %s failed",
        7,
        extra={"platform": "discord", "destination": 12, "outbox_key": "pbabc"},
    )
    [line] = lines(buffer)
    assert line.pop("time").endswith("+00:00")
    assert line == {
        "level": "WARNING",
        "logger": "bot.delivery.sender",
        "message": "outbox item 7 failed",
        "platform": "discord",
        "destination": 12,
        "outbox_key": "pbabc",
    }


def test_an_exception_stays_on_one_line(captured: Captured) -> None:
    buffer, handler = captured
    handler.setFormatter(JsonFormatter())
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("x").exception("it failed")
    assert len(buffer.getvalue().splitlines()) == 1
    [line] = lines(buffer)
    assert line["message"] == "it failed" and line["level"] == "ERROR"
    assert "Traceback" in line["exception"] and "ValueError: boom" in line["exception"]


async def test_delivery_lines_carry_platform_destination_and_outbox_key(
    db_url: str, captured: Captured
) -> None:
    buffer, handler = captured
    handler.setFormatter(JsonFormatter())

    def gone(d: Destination) -> DeliveryError:
        return DeliveryError("the bot lost access to this channel", Failure.DESTINATION_GONE)

    source = FakeSource()
    h = Harness(
        make_app(db_url, FakeClock(utc(2025, 2, 3, 7)), source), source, RecordingAdapter(fail=gone)
    )
    try:
        await h.bot.say("subscribe diffusion")
        await h.bot.say("digest time 09:00 UTC")
        source.feature(utc(2025, 2, 3).date(), paper(1, "Diffusion at scale"))
        buffer.truncate(0)
        buffer.seek(0)
        await h.tick(utc(2025, 2, 3, 9, 0))
        keys = await _keys(h)
    finally:
        await h.app.close()
    [disabled] = [line for line in lines(buffer) if "disabled" in line["message"]]
    assert disabled["level"] == "WARNING" and disabled["logger"] == "bot.delivery.outcomes"
    assert disabled["platform"] == "test"
    assert isinstance(disabled["destination"], int)
    assert [disabled["outbox_key"]] == keys


async def _keys(h: Harness) -> list[str]:
    from sqlalchemy import select

    from bot.storage.models import OutboxRow

    async with h.app.sessions() as s:
        return list((await s.scalars(select(OutboxRow.key))).all())


async def test_a_failing_command_logs_its_name_and_platform(app, captured: Captured) -> None:
    buffer, handler = captured
    handler.setFormatter(JsonFormatter())

    async def broken(ctx: Any, args: dict[str, Any]) -> list[Any]:
        raise RuntimeError("a bug")

    registry = Registry()
    registry.add(Command(name="broken", help="Fail.", usage="broken", handler=broken))
    await Core(app, registry).handle_text("broken", ADMIN, CHANNEL)
    [line] = [x for x in lines(buffer) if x["logger"] == "bot.core"]
    assert line["command"] == "broken" and line["platform"] == "test"
    assert "RuntimeError: a bug" in line["exception"]


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_no_secret_is_ever_written(log_format: str, captured: Captured) -> None:
    buffer, handler = captured
    redact = Redactor(secrets_in(ENV))
    handler.setFormatter(
        JsonFormatter(redact)
        if log_format == "json"
        else RedactingFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"), redact)
    )
    settings = load_settings(ENV)
    log = logging.getLogger("careless")
    log.info("settings: %r", settings)
    log.info("settings as data: %s", settings.model_dump())
    log.info("the token itself: %s", settings.token)
    log.info("GET https://huggingface.co/api/daily_papers?date=2025-01-01&token=%s", HF)
    log.info("connecting to %s", ENV["DATABASE_URL"])
    log.info("headers: Authorization: Bot %s", DISCORD)
    log.info("a token nobody configured: xoxb-9999999999-8888888888-ZyXwVuTsRq")
    log.warning("url in context", extra={"url": f"wss://example/?token={SLACK_APP}"})
    try:
        raise RuntimeError(f"auth failed for {SLACK_BOT} signed with {SIGNING}")
    except RuntimeError:
        log.exception("request failed")
    out = buffer.getvalue()
    for secret in (*SECRETS, "xoxb-9999999999-8888888888-ZyXwVuTsRq"):
        assert secret not in out, secret
    assert out.count("[redacted]") >= 9
    assert "db.internal:5432" in out and "daily_papers?date=2025-01-01" in out  # the rest stays


def test_configure_logging_writes_json_lines_without_secrets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = []
    try:
        configure_logging("INFO", log_format="json", secrets=[HF])
        logging.getLogger("bot.sources").info("asking with %s", HF, extra={"command": "paper"})
        err = capsys.readouterr().err
    finally:
        root.handlers = saved
    [line] = [json.loads(x) for x in err.splitlines()]
    assert line["message"] == "asking with [redacted]" and line["command"] == "paper"


def test_log_format_is_a_setting() -> None:
    assert load_settings({}).log_format == "text"
    assert load_settings({"LOG_FORMAT": " JSON "}).log_format == "json"
    with pytest.raises(ConfigError) as err:
        load_settings({"LOG_FORMAT": "xml"})
    assert str(err.value) == "LOG_FORMAT must be one of text, json"


def test_short_values_are_not_taken_for_secrets() -> None:
    redact = Redactor(secrets_in({"SLACK_SIGNING_SECRET": "s", "HF_TOKEN": "abc"}))
    assert redact("a sentence with s and abc in it") == "a sentence with s and abc in it"
