"""What a digest holds, the ledger and outbox, crashes, retries and disabled destinations."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from bot.port import DeliveryError
from bot.storage.models import DigestRunRow, OutboxRow
from tests.delivery_helpers import FakeSource, Harness, RecordingAdapter, make_app, paper, utc
from tests.helpers import CHANNEL, FakeClock

DAY = date(2025, 2, 3)


class Crash(BaseException):
    """The process dies here: nothing after this line runs, not even `except Exception`."""


async def setup(db_url: str, *queries: str, **env: str) -> Harness:
    source = FakeSource()
    h = Harness(
        make_app(db_url, FakeClock(utc(2025, 2, 3, 7, 0)), source, **env),
        source,
        RecordingAdapter(),
    )
    for q in queries:
        await h.bot.say(f"subscribe {q}")
    await h.bot.say("digest time 09:00 UTC")
    return h


async def count(h: Harness, model: type) -> int:
    async with h.app.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_digest_lists_each_paper_once_with_its_subscriptions_ranked_and_capped(db_url):
    h = await setup(db_url, "diffusion", "video")
    await h.bot.say("digest max 3")
    h.source.feature(
        DAY,
        paper(1, "Video diffusion models", upvotes=10),
        paper(2, "Diffusion for proteins", upvotes=50),
        paper(3, "A survey of graph databases", upvotes=99),
        paper(4, "Diffusion policies", upvotes=7),
        paper(5, "Latent diffusion at scale", upvotes=3),
        paper(6, "Long video understanding", upvotes=1),
    )
    await h.tick(utc(2025, 2, 3, 9, 0))
    [digest] = h.adapter.sent
    assert digest.paper_ids == ["2501.00002", "2501.00001", "2501.00004"]
    items = {i.paper.id: i.reasons for i in digest.reply.items}
    assert items["2501.00001"] == ("diffusion", "video")
    assert items["2501.00002"] == ("diffusion",)
    assert digest.reply.footer == "and 2 more — try: search diffusion"
    assert "(5 papers)" in digest.reply.title


async def test_min_upvotes_leaves_papers_out(db_url):
    h = await setup(db_url, "diffusion")
    await h.bot.say("digest min-upvotes 5")
    h.source.feature(DAY, paper(1, "Diffusion A", upvotes=4), paper(2, "Diffusion B", upvotes=5))
    await h.tick(utc(2025, 2, 3, 9, 0))
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00002"]]


async def test_nothing_is_posted_when_nothing_matched(db_url):
    h = await setup(db_url, "diffusion")
    h.source.feature(DAY, paper(1, "Graph databases"))
    await h.tick(utc(2025, 2, 3, 9, 0))
    assert h.adapter.sent == []
    async with h.app.sessions() as s:
        run = await s.scalar(select(DigestRunRow))
    assert (run.slot, run.status) == ("2025-02-03", "empty")


async def test_empty_digests_can_be_posted_when_configured(db_url):
    h = await setup(db_url, "diffusion", POST_EMPTY_DIGESTS="true")
    h.source.feature(DAY, paper(1, "Graph databases"))
    await h.tick(utc(2025, 2, 3, 9, 0))
    assert len(h.adapter.sent) == 1
    assert "No new papers matched" in h.adapter.sent[0].text


async def test_a_paper_featured_again_is_not_delivered_again(db_url):
    h = await setup(db_url, "diffusion")
    p = paper(1, "Diffusion A", upvotes=3)
    h.source.feature(DAY, p)
    await h.tick(utc(2025, 2, 3, 9, 0))
    h.source.feature(DAY + timedelta(days=1), p, paper(2, "Diffusion B"))
    await h.tick(utc(2025, 2, 4, 9, 0))
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00001"], ["2501.00002"]]


async def test_preview_records_nothing_and_now_posts_at_once(db_url):
    h = await setup(db_url, "diffusion")
    h.source.feature(DAY, paper(1, "Diffusion A", upvotes=3), paper(2, "Diffusion B", upvotes=8))
    await h.tick(utc(2025, 2, 3, 8, 0))
    preview = await h.bot.say("digest preview")
    assert [i.paper.id for i in preview[0].items] == ["2501.00002", "2501.00001"]
    assert preview[0].ephemeral
    assert await count(h, DigestRunRow) == 0 and h.adapter.sent == []
    assert "Posting a digest of 2 papers" in await h.bot.text("digest now")
    await h.scheduler.sender.drain()
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00002", "2501.00001"]]
    # The 09:00 digest does not repeat them, and says nothing when nothing is new.
    await h.tick(utc(2025, 2, 3, 9, 0))
    assert len(h.adapter.sent) == 1
    assert "Nothing new" in await h.bot.text("digest now")


@pytest.mark.parametrize("nonce", [True, False], ids=["nonce", "no-nonce"])
async def test_crash_between_send_and_mark(db_url, nonce):
    """The process dies after the platform accepted a message, before the outbox knew."""
    h = await setup(db_url, "diffusion")
    h.adapter.honour_nonce = nonce
    h.scheduler.sender.concurrency = 1
    for n in range(2, 6):  # four more channels, each subscribed
        place = CHANNEL.__class__(platform="test", id=f"C{n}", name=f"c{n}", workspace_id="W1")
        await h.bot.say("subscribe diffusion", place=place)
        await h.bot.say("digest time 09:00 UTC", place=place)
    h.source.feature(DAY, *(paper(i, f"Diffusion {i}") for i in range(1, 4)))

    def die_on_third() -> None:
        if len(h.adapter.sent) == 3:
            h.adapter.after_post = None
            raise Crash

    h.adapter.after_post = die_on_third
    with pytest.raises(Crash):
        await h.tick(utc(2025, 2, 3, 9, 0))
    assert len(h.adapter.sent) == 3
    await h.app.close()
    h2 = await h.restart()
    # On PostgreSQL the dead process's claim is freed when its lease runs out.
    await h2.tick(utc(2025, 2, 3, 9, 4))
    per_paper = h.adapter.paper_counts()
    assert set(per_paper) == {(f"C{c}", f"2501.{i:05d}") for c in range(1, 6) for i in range(1, 4)}
    duplicates = sum(n - 1 for n in per_paper.values()) // 3  # messages, not papers
    per_channel = Counter(s.destination.id for s in h.adapter.sent)
    if nonce:
        assert duplicates == 0 and set(per_channel.values()) == {1}
    else:  # one message in flight at the crash is posted twice, and only that one
        assert duplicates == 1 and sorted(per_channel.values()) == [1, 1, 1, 1, 2]
    await h2.app.close()


async def test_crash_between_compose_and_send(db_url):
    h = await setup(db_url, "diffusion")
    h.source.feature(DAY, paper(1, "Diffusion A"))
    h.clock.set(utc(2025, 2, 3, 9, 0))
    await h.scheduler.ingest_once()
    report = await h.scheduler.sweeper.sweep()
    assert report.queued == 1 and h.adapter.sent == []
    await h.app.close()  # dies before the sender ran
    h2 = await h.restart()
    await h2.tick(utc(2025, 2, 3, 9, 1))
    await h2.tick(utc(2025, 2, 3, 9, 2))
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00001"]]
    await h2.app.close()


async def test_permanent_failure_disables_until_a_digest_command(db_url):
    h = await setup(db_url, "diffusion")
    gone = DeliveryError("the channel was deleted", permanent=True)
    h.adapter.fail = lambda d: gone
    h.source.feature(DAY, paper(1, "Diffusion A"))
    await h.tick(utc(2025, 2, 3, 9, 0))
    assert h.adapter.sent == [] and h.adapter.attempts == 1
    status = await h.bot.text("status")
    assert "Disabled" in status and "the channel was deleted" in status
    h.source.feature(DAY + timedelta(days=1), paper(2, "Diffusion B"))
    await h.tick(utc(2025, 2, 4, 9, 0))
    assert h.adapter.attempts == 1, "tried to post to a disabled destination"
    h.adapter.fail = None
    assert "enabled again" in await h.bot.text("digest resume")
    await h.tick(utc(2025, 2, 4, 9, 5))
    assert sorted(p for s in h.adapter.sent for p in s.paper_ids) == ["2501.00001", "2501.00002"]
    assert "Disabled" not in await h.bot.text("status")


async def test_transient_failures_retry_with_backoff(db_url):
    h = await setup(db_url, "diffusion")
    failures = [DeliveryError("Discord answered 503", permanent=False)] * 2
    h.adapter.fail = lambda d: failures.pop() if failures else None
    h.source.feature(DAY, paper(1, "Diffusion A"))
    await h.tick(utc(2025, 2, 3, 9, 0))
    assert h.adapter.sent == []
    assert "503" in await h.bot.text("status")
    await h.tick(utc(2025, 2, 3, 9, 0, 10), ingest=False)
    assert h.adapter.attempts == 1, "retried before the backoff"
    await h.tick(utc(2025, 2, 3, 9, 1), ingest=False)
    assert h.adapter.attempts == 2 and h.adapter.sent == []
    await h.tick(utc(2025, 2, 3, 9, 4), ingest=False)
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00001"]]
    async with h.app.sessions() as s:
        item = await s.scalar(select(OutboxRow))
    assert (item.status, item.attempts, item.message_ids) == ("sent", 2, ["m1"])


async def test_rate_limits_are_waited_out_honouring_retry_after(db_url):
    h = await setup(db_url, "diffusion")
    limited = [DeliveryError("429", permanent=False, retry_after=0.05)] * 3
    h.adapter.fail = lambda d: limited.pop() if limited else None
    h.source.feature(DAY, paper(1, "Diffusion A"))
    h.clock.set(utc(2025, 2, 3, 9, 0))
    await h.scheduler.ingest_once()
    await h.scheduler.sweeper.sweep()
    report = await h.scheduler.sender.drain()
    assert (report.sent, report.rate_limited, report.retried) == (1, 3, 0)
    assert h.adapter.attempts == 4
