"""The operations endpoint: /metrics counts what the core did, /healthz and /readyz answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from adapters.discord.sender import GONE_REASONS, NO_EMBEDS
from adapters.slack.sender import GONE_ERRORS
from bot.app import build_app
from bot.ops.gauges import reason_kind
from bot.port import DeliveryError, Destination, Failure
from bot.settings import load_settings
from bot.storage.state_repo import IngestStatus
from tests.delivery_helpers import FakeSource, Harness, RecordingAdapter, make_app, paper, utc
from tests.helpers import CHANNEL, FakeClock
from tests.ops_helpers import get, scrape, serving, value

DAY = date(2025, 2, 3)


def place(n: int):
    return CHANNEL.__class__(platform="test", id=f"C{n}", name=f"c{n}", workspace_id="W1")


OPEN: list[Harness] = []


@pytest.fixture(autouse=True)
async def _close_apps() -> AsyncIterator[None]:
    yield
    while OPEN:
        await OPEN.pop().app.close()


async def three_channels(db_url: str, fail=None) -> Harness:
    source = FakeSource()
    app = make_app(db_url, FakeClock(utc(2025, 2, 3, 7, 0)), source)
    h = Harness(app, source, RecordingAdapter(part_size=2, fail=fail))
    OPEN.append(h)
    for n in (1, 2, 3):
        await h.bot.say("subscribe diffusion", place=place(n))
        await h.bot.say("digest time 09:00 UTC", place=place(n))
    h.source.feature(DAY, *(paper(i, f"Diffusion {i}", upvotes=10 - i) for i in range(1, 6)))
    return h


async def test_a_digest_run_is_counted_as_the_platform_saw_it(db_url: str) -> None:
    def fail(d: Destination) -> DeliveryError | None:
        if d.id == "C2":
            return DeliveryError("the bot lost access to this channel", Failure.DESTINATION_GONE)
        if d.id == "C3":
            return DeliveryError("the platform refused this message", Failure.REJECTED)
        return None

    h = await three_channels(db_url, fail)
    h.clock.set(utc(2025, 2, 3, 9, 5))  # five minutes late
    await h.scheduler.run_once()  # what `paperbot digest run` does
    async with serving(h.app) as base:
        m = await scrape(base)
    assert len(h.adapter.sent) == 3  # five papers in parts of two, all to C1
    # One message, in three parts: counted once, its parts apart.
    assert value(m, "paperbot_messages_total", platform="test", outcome="sent") == 1
    assert value(m, "paperbot_message_parts_total", platform="test") == 3
    assert value(m, "paperbot_messages_total", platform="test", outcome="failed") == 1
    assert value(m, "paperbot_messages_total", platform="test", outcome="rejected") == 1
    assert value(m, "paperbot_messages_total", platform="test", outcome="retried") == 0
    # Only C1's digest went out: 09:05 minus its 09:00.
    lag = {"platform": "test", "kind": "digest"}
    assert value(m, "paperbot_digest_lag_seconds_count", **lag) == 1
    assert value(m, "paperbot_digest_lag_seconds_sum", **lag) == 300
    assert value(m, "paperbot_digest_lag_seconds_bucket", le="120.0", **lag) == 0
    assert value(m, "paperbot_digest_lag_seconds_bucket", le="300.0", **lag) == 1
    # C3's rejected digest waits for its next try (not due yet); C2 is disabled.
    assert value(m, "paperbot_outbox_depth", platform="test") == 1
    assert value(m, "paperbot_outbox_oldest_due_age_seconds", platform="test") == 0
    assert value(m, "paperbot_destinations_active", platform="test") == 2
    assert value(m, "paperbot_destinations_disabled", platform="test", reason="no_access") == 1
    assert value(m, "paperbot_papers_stored") == await h.app.papers.count() == 5
    assert value(m, "paperbot_ingest_polls_total", result="ok") == 1
    assert value(m, "paperbot_sweep_duration_seconds_count") == 1
    assert value(m, "paperbot_matching_duration_seconds_count") == 1
    # No label carries a destination id, a query or a reason's text.
    names = {c.name for c in h.bot.core.registry._commands.values()}
    allowed = {
        "platform": {"test"},
        "outcome": {"sent", "failed", "rejected", "retried", "halted"},
        "kind": {"digest", "now", "alert", "catchup"},
        "result": {"ok", "partial", "error"},
        "reason": {"no_access", "missing_permission", "not_found", "dms_closed", "other"},
        "command": names,
    }
    for name, labels in m:
        for label, v in labels:
            assert label == "le" or v in allowed[label], (name, labels)


async def test_the_oldest_due_item_ages_with_the_clock(db_url: str) -> None:
    h = await three_channels(db_url)
    h.clock.set(utc(2025, 2, 3, 9, 0))
    await h.scheduler.ingest_once()
    await h.scheduler.sweeper.sweep()  # queued, not sent
    h.clock.set(utc(2025, 2, 3, 9, 2))
    async with serving(h.app) as base:
        m = await scrape(base)
    assert value(m, "paperbot_outbox_depth", platform="test") == 3
    assert value(m, "paperbot_outbox_oldest_due_age_seconds", platform="test") == 120
    assert value(m, "paperbot_messages_total", platform="test", outcome="sent") == 0


async def test_rate_limits_and_transient_failures(db_url: str) -> None:
    answers = [
        DeliveryError("rate limited", retry_after=0.0),  # waited out in place
        DeliveryError("rate limited", retry_after=600.0),  # longer than the sender waits
        DeliveryError("503 from the platform"),
    ]

    def fail(d: Destination) -> DeliveryError | None:
        return answers.pop(0) if answers else None

    h = await three_channels(db_url, fail)
    h.scheduler.sender.concurrency = 1
    await h.tick(utc(2025, 2, 3, 9, 0))
    async with serving(h.app) as base:
        m = await scrape(base)
    assert value(m, "paperbot_rate_limited_total", platform="test") == 2
    assert value(m, "paperbot_messages_total", platform="test", outcome="retried") == 2
    assert value(m, "paperbot_message_parts_total", platform="test") == len(h.adapter.sent)
    # Of the three digests one went out whole; the other two wait for their retry.
    assert value(m, "paperbot_messages_total", platform="test", outcome="sent") == 1


async def test_each_app_counts_only_its_own(db_url: str) -> None:
    h = await three_channels(db_url)
    other = await three_channels(db_url)  # same database, another process
    await h.tick(utc(2025, 2, 3, 9, 0))
    async with serving(other.app) as base:
        m = await scrape(base)
    assert value(m, "paperbot_messages_total", platform="test", outcome="sent") == 0
    assert value(m, "paperbot_destinations_active", platform="test") == 3  # shared state


async def test_polls_are_counted_by_result(db_url: str) -> None:
    h = await three_channels(db_url)
    await h.scheduler.ingest_once()
    h.source.down = True
    h.clock.advance(minutes=30)
    await h.scheduler.ingest_once()
    h.clock.advance(minutes=1)
    async with serving(h.app) as base:
        m = await scrape(base)
    assert value(m, "paperbot_ingest_polls_total", result="ok") == 1
    assert value(m, "paperbot_ingest_polls_total", result="error") == 1
    assert value(m, "paperbot_ingest_failing") == 1
    assert value(m, "paperbot_ingest_last_success_age_seconds") == 31 * 60


async def test_commands_are_timed_by_their_registry_name(db_url: str) -> None:
    h = await three_channels(db_url)
    await h.bot.say("help")
    await h.bot.say("frobnicate my secret-token-123")
    async with serving(h.app) as base:
        _, _, body = await get(base + "/metrics")
        m = await scrape(base)
    assert value(m, "paperbot_command_duration_seconds_count", platform="test", command="help") == 1
    assert (
        value(m, "paperbot_command_duration_seconds_count", platform="test", command="subscribe")
        == 3
    )
    assert "frobnicate" not in body and "secret-token-123" not in body


async def test_health_and_readiness_offline(app) -> None:
    async with serving(app) as base:
        assert await get(base + "/healthz") == (200, "text/plain; charset=utf-8", "ok\n")
        status, _, body = await get(base + "/readyz")
    assert (status, body) == (200, "ready\n")  # the offline sample has no poll to be late


async def test_not_ready_when_the_database_is_down(tmp_path: Path) -> None:
    settings = load_settings({"DATABASE_URL": f"sqlite:///{tmp_path}/missing/dir/db.sqlite3"})
    app = build_app(settings, source_name="sample")
    try:
        async with serving(app) as base:
            status, _, body = await get(base + "/readyz")
            assert (await get(base + "/healthz"))[0] == 200  # alive all the same
            metrics_status, _, metrics = await get(base + "/metrics")
    finally:
        await app.close()
    assert status == 503
    assert body.startswith("not ready:\n- database unreachable (")
    assert metrics_status == 200 and "paperbot_metrics_refresh_errors 1.0" in metrics


class Adapter(RecordingAdapter):
    connected: bool = True


async def test_not_ready_while_an_adapter_is_not_connected(app) -> None:
    up, down = Adapter(platform="slack"), Adapter(platform="discord")
    down.connected = False
    async with serving(app, {"slack": up, "discord": down}) as base:
        status, _, body = await get(base + "/readyz")
        down.connected = True
        again, _, _ = await get(base + "/readyz")
    assert (status, body) == (503, "not ready:\n- discord is not connected\n")
    assert again == 200


async def test_not_ready_while_the_papers_are_stale(db_url: str) -> None:
    clock = FakeClock(utc(2025, 2, 3, 12, 0))
    settings = load_settings({"DATABASE_URL": db_url, "INGEST_INTERVAL_MINUTES": "30"})
    app = build_app(settings, source_name="huggingface", source=FakeSource(), clock=clock)
    assert app.online
    try:
        async with serving(app) as base:
            first = await get(base + "/readyz")
            polled = IngestStatus(last_complete_round_at=clock() - timedelta(minutes=89))
            await app.state.save_ingest_status(polled, clock())
            fresh = await get(base + "/readyz")
            clock.advance(minutes=2)  # 91 minutes: more than three 30-minute intervals
            stale = await get(base + "/readyz")
            failing = IngestStatus(
                last_complete_round_at=polled.last_complete_round_at,
                last_error="list of 2025-02-03: Hugging Face answered 503",
                last_error_at=clock(),
            )
            await app.state.save_ingest_status(failing, clock())
            why = await get(base + "/readyz")
    finally:
        await app.close()
    assert first[0] == 503 and "no complete Hugging Face poll yet" in first[2]
    assert fresh[0] == 200
    assert stale[0] == 503
    assert "the last complete Hugging Face poll was 91 min ago (more than 90)" in stale[2]
    assert why[2].endswith("last error: list of 2025-02-03: Hugging Face answered 503\n")


async def test_the_poll_age_limit_is_a_setting(db_url: str) -> None:
    clock = FakeClock(utc(2025, 2, 3, 12, 0))
    settings = load_settings({"DATABASE_URL": db_url, "READY_POLL_MAX_AGE_MINUTES": "10"})
    app = build_app(settings, source_name="huggingface", source=FakeSource(), clock=clock)
    try:
        polled = IngestStatus(last_complete_round_at=clock() - timedelta(minutes=11))
        await app.state.save_ingest_status(polled, clock())
        async with serving(app) as base:
            status, _, body = await get(base + "/readyz")
    finally:
        await app.close()
    assert status == 503 and "(more than 10)" in body


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        (GONE_REASONS[50001], "no_access"),
        (GONE_REASONS[50013], "missing_permission"),
        (GONE_REASONS[50007], "dms_closed"),
        (GONE_REASONS[10003], "not_found"),
        (GONE_REASONS[10013], "not_found"),
        (GONE_REASONS[50083], "archived"),
        (GONE_REASONS[160005], "locked"),
        (NO_EMBEDS, "missing_permission"),
        (GONE_ERRORS["channel_not_found"], "not_found"),
        (GONE_ERRORS["not_in_channel"], "no_access"),
        (GONE_ERRORS["is_archived"], "archived"),
        (GONE_ERRORS["restricted_action"], "missing_permission"),
        (GONE_ERRORS["user_not_found"], "not_found"),
        (GONE_ERRORS["user_disabled"], "not_found"),
        (GONE_ERRORS["cannot_dm_bot"], "dms_closed"),
        (GONE_ERRORS["team_access_not_granted"], "no_access"),
        ("something nobody foresaw", "other"),
    ],
)
def test_disabled_reasons_fall_into_a_few_labels(reason: str, kind: str) -> None:
    assert reason_kind(reason) == kind


def test_every_adapter_reason_has_a_label() -> None:
    reasons = [*GONE_REASONS.values(), NO_EMBEDS, *GONE_ERRORS.values()]
    assert [r for r in reasons if reason_kind(r) == "other"] == []


async def test_matching_time_is_the_matching_alone_not_the_sweep_around_it(db_url: str) -> None:
    """Every database statement "takes" 10 s on the metrics' clock: the sweep's histogram
    sees them, the matching's must not (it reads nothing; its inputs were read before)."""
    from sqlalchemy import event

    from bot.ops.metrics import Metrics

    h = await three_channels(db_url)
    ticks = [0.0]
    h.app._metrics = Metrics(clock=lambda: ticks[0])
    statements = [0]

    @event.listens_for(h.app.engine.sync_engine, "before_cursor_execute")
    def slow(*_: object) -> None:
        ticks[0] += 10
        statements[0] += 1

    h.clock.set(utc(2025, 2, 3, 9, 0))
    await h.scheduler.ingest_once()
    before = statements[0]
    await h.scheduler.run_once(ingest=False)
    async with serving(h.app) as base:
        m = await scrape(base)
    assert value(m, "paperbot_matching_duration_seconds_count") == 1
    assert value(m, "paperbot_matching_duration_seconds_sum") == 0
    assert value(m, "paperbot_sweep_duration_seconds_count") == 1
    # The sweep's own statements (not the drain's after it) are in its time.
    assert 0 < value(m, "paperbot_sweep_duration_seconds_sum") < 10 * (statements[0] - before)


async def test_429s_slack_sdk_waits_out_itself_are_counted_once(slack) -> None:
    """A short 429 is retried inside slack_sdk (counted by its hook); a long one is handed
    back to the delivery layer (which counts it itself, see above), not counted here too."""
    from types import SimpleNamespace

    from adapters.cli.ratelimits import count_library_rate_limits
    from adapters.slack.app import make_client
    from adapters.slack.config import load_slack_config
    from adapters.slack.sender import SlackSender
    from bot.messages import Notice
    from bot.ops.metrics import Metrics
    from tests.fakes.slack_server import BOT_TOKEN
    from tests.port_helpers import send

    config = load_slack_config(
        {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": slack.api_url}
    )
    assert config is not None
    client = make_client(config)
    metrics = Metrics()
    undo = count_library_rate_limits(
        [SimpleNamespace(platform="slack", client=client)], metrics.limited
    )  # type: ignore[list-item]
    sender = SlackSender(client)
    to = Destination(platform="slack", kind="channel", id="C200")
    slack.fail("chat.postMessage", "ratelimited", status=429, retry_after=0)
    await send(sender, to, Notice("one"), key="k1")
    slack.fail("chat.postMessage", "ratelimited", status=429, retry_after=30)
    with pytest.raises(DeliveryError):
        await send(sender, to, Notice("two"), key="k2")
    undo()
    slack.fail("chat.postMessage", "ratelimited", status=429, retry_after=0)
    await send(sender, to, Notice("three"), key="k3")  # after the undo: not counted
    assert len(slack.calls_to("chat.postMessage")) == 5
    assert (
        metrics.registry.get_sample_value("paperbot_rate_limited_total", {"platform": "slack"}) == 1
    )
