"""What a digest holds, the ledger and outbox, crashes, retries and disabled destinations."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from bot.port import DeliveryError, Failure
from bot.storage.models import DigestRunRow, OutboxRow
from tests.delivery_helpers import FakeSource, Harness, RecordingAdapter, make_app, paper, utc
from tests.helpers import CHANNEL, MEMBER, FakeClock

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
    assert digest.reply.footer == "and 2 more — find them with the search command: search diffusion"
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
    gone = DeliveryError("the channel was deleted", Failure.DESTINATION_GONE)
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
    failures = [DeliveryError("Discord answered 503")] * 2
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
    limited = [DeliveryError("429", retry_after=0.05)] * 3
    h.adapter.fail = lambda d: limited.pop() if limited else None
    h.source.feature(DAY, paper(1, "Diffusion A"))
    h.clock.set(utc(2025, 2, 3, 9, 0))
    await h.scheduler.ingest_once()
    await h.scheduler.sweeper.sweep()
    report = await h.scheduler.sender.drain()
    assert (report.sent, report.rate_limited, report.retried) == (1, 3, 0)
    assert h.adapter.attempts == 4


async def test_a_digest_re_enabled_days_later_still_retries_transient_failures(db_url):
    """Days spent disabled do not use up the retry budget of the waiting digest."""
    h = await setup(db_url, "diffusion")
    errors = [DeliveryError("the bot was removed", Failure.DESTINATION_GONE)]
    h.adapter.fail = lambda d: errors.pop(0) if errors else None
    h.source.feature(DAY, paper(1, "Diffusion A"))
    await h.tick(utc(2025, 2, 3, 9, 0))
    assert h.adapter.sent == [] and "Disabled" in await h.bot.text("status")
    h.clock.set(utc(2025, 2, 6, 12, 0))  # three days later the bot is back in the channel
    errors.append(DeliveryError("Slack answered 503"))
    assert "enabled again" in await h.bot.text("digest resume")
    await h.tick(utc(2025, 2, 6, 12, 0), ingest=False)
    assert h.adapter.sent == []
    await h.tick(utc(2025, 2, 6, 12, 5), ingest=False)
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00001"]]


async def test_a_long_platform_outage_delays_the_digest_but_does_not_lose_it(db_url):
    h = await setup(db_url, "diffusion")
    h.adapter.fail = lambda d: DeliveryError("Slack answered 503")
    h.source.feature(DAY, paper(1, "Diffusion A"))
    await h.tick(utc(2025, 2, 3, 9, 0))
    t = utc(2025, 2, 3, 10, 0)
    for _ in range(60):  # two and a half days of hourly failures
        await h.tick(t, ingest=False)
        t += timedelta(hours=1)
    assert "503" in await h.bot.text("status", user=MEMBER)
    h.adapter.fail = None  # Slack is back; nobody had to do anything
    await h.tick(t + timedelta(hours=1), ingest=False)  # past the longest jittered backoff
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00001"]]


async def test_a_digest_the_adapter_keeps_failing_on_is_given_up_shown_and_retried(db_url):
    """An adapter bug (not a platform answer) is not retried forever: status shows it, and
    any digest command tries again."""
    h = await setup(db_url, "diffusion")
    h.adapter.fail = lambda d: ValueError("message too long for the renderer")
    h.source.feature(DAY, paper(1, "Diffusion A"))
    await h.tick(utc(2025, 2, 3, 9, 0))
    t = utc(2025, 2, 3, 10, 0)
    for _ in range(80):  # hourly ticks: at least 30 attempts, whatever the jitter
        await h.tick(t, ingest=False)
        t += timedelta(hours=1)
    async with h.app.sessions() as s:
        item = await s.scalar(select(OutboxRow))
    assert item.status == "failed"
    status = await h.bot.text("status")
    assert "not sent" in status and "too long" in status and "gave up retrying" in status
    h.adapter.fail = None
    await h.bot.say("digest resume")
    await h.tick(t, ingest=False)
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00001"]]


async def test_a_slow_platform_never_lets_two_processes_post_one_item(db_url):
    """Posts as slow as the request timeout, for longer than a lease in all: another
    process takes only what this one has not claimed, and nothing is posted twice."""
    h = await setup(db_url, "diffusion")
    h.adapter.honour_nonce = False  # as on Slack: a second send is a second message
    h.scheduler.sender.concurrency = 1
    for n in range(2, 6):
        place = CHANNEL.__class__(platform="test", id=f"C{n}", name=f"c{n}", workspace_id="W1")
        await h.bot.say("subscribe diffusion", place=place)
        await h.bot.say("digest time 09:00 UTC", place=place)
    h.source.feature(DAY, paper(1, "Diffusion A"))
    h.clock.set(utc(2025, 2, 3, 9, 0))
    await h.scheduler.ingest_once()
    assert (await h.scheduler.sweeper.sweep()).queued == 5
    other = Harness(make_app(db_url, h.clock, h.source), h.source, h.adapter)

    async def slow_sends() -> None:
        # Each message takes the whole request timeout (a platform throttling us).
        h.clock.advance(seconds=h.scheduler.sender.request_timeout)
        if len(h.adapter.sent) == 4:  # 40 s in: longer than one lease
            h.adapter.after_post = None
            await other.scheduler.sender.drain()
            h.adapter.after_post = slow_sends

    h.adapter.after_post = slow_sends
    await h.scheduler.sender.drain()
    await other.app.close()
    assert Counter(s.destination.id for s in h.adapter.sent) == {f"C{n}": 1 for n in range(1, 6)}


async def test_an_archive_imported_today_is_not_news_in_the_next_digest(db_url):
    """Papers of past days stored now (an archive import, a look-up) were not featured since
    the previous digest, so no digest lists them."""
    from bot.papers import Paper
    from bot.services.ingest import store

    h = await setup(db_url, "diffusion")
    h.source.feature(DAY, paper(1, "Diffusion A"))
    await h.tick(utc(2025, 2, 3, 9, 0))
    h.clock.set(utc(2025, 2, 3, 12, 0))
    old = paper(7, "Diffusion from last summer", upvotes=500)
    await store(h.app, [Paper(**{**old.__dict__, "featured_on": (date(2024, 6, 3),)})])
    h.source.feature(DAY + timedelta(days=1), paper(2, "Diffusion B"))
    await h.tick(utc(2025, 2, 4, 9, 0))
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00001"], ["2501.00002"]]


async def test_a_paper_below_min_upvotes_comes_once_its_upvotes_reach_it(db_url):
    """Fresh papers have few upvotes at digest time; they are considered again later."""
    h = await setup(db_url, "diffusion")
    await h.bot.say("digest min-upvotes 5")
    h.source.feature(DAY, paper(1, "Diffusion A", upvotes=2), paper(2, "Diffusion B", upvotes=9))
    await h.tick(utc(2025, 2, 3, 9, 0))
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00002"]]
    h.source.feature(DAY, paper(1, "Diffusion A", upvotes=8))  # upvoted during the day
    await h.tick(utc(2025, 2, 3, 15, 0))
    h.source.feature(DAY + timedelta(days=1), paper(3, "Diffusion C", upvotes=6))
    await h.tick(utc(2025, 2, 4, 9, 0))
    assert [s.paper_ids for s in h.adapter.sent][1:] == [["2501.00001", "2501.00003"]]
    await h.tick(utc(2025, 2, 5, 9, 0))
    assert len(h.adapter.sent) == 2, "a paper was delivered twice"


async def test_papers_counted_in_and_n_more_are_not_listed_the_next_day(db_url):
    h = await setup(db_url, "diffusion")
    await h.bot.say("digest max 1")
    h.source.feature(DAY, *(paper(i, f"Diffusion {i}", upvotes=i) for i in range(1, 4)))
    await h.tick(utc(2025, 2, 3, 9, 0))
    assert h.adapter.sent[0].paper_ids == ["2501.00003"]
    assert h.adapter.sent[0].reply.footer.startswith("and 2 more")
    h.source.feature(DAY + timedelta(days=1), paper(4, "Diffusion 4"))
    await h.tick(utc(2025, 2, 4, 9, 0))
    assert [s.paper_ids for s in h.adapter.sent][1:] == [["2501.00004"]]
    assert h.adapter.sent[1].reply.footer is None


async def test_a_paper_committed_after_the_window_it_was_stamped_in_is_not_lost(db_url):
    """Another writer (a `papers today` fetch) stamps a paper before the last poll ended but
    commits after a digest read the papers: the next digest still has it."""
    h = await setup(db_url, "diffusion")
    h.source.feature(DAY, paper(1, "Diffusion A"))
    await h.tick(utc(2025, 2, 3, 9, 0))
    late = paper(2, "Diffusion B")
    await h.app.papers.upsert(
        [late.__class__(**{**late.__dict__, "featured_on": (DAY,)})], now=utc(2025, 2, 3, 8, 59)
    )
    h.source.feature(DAY + timedelta(days=1), paper(3, "Diffusion C"))
    await h.tick(utc(2025, 2, 4, 9, 0))
    assert [sorted(s.paper_ids) for s in h.adapter.sent] == [
        ["2501.00001"],
        ["2501.00002", "2501.00003"],
    ]


async def test_old_outbox_items_and_empty_runs_are_pruned_but_the_ledger_stays(db_url):
    h = await setup(db_url, "diffusion")
    p1 = paper(1, "Diffusion A")
    h.source.feature(DAY, p1)
    await h.tick(utc(2025, 2, 3, 9, 0))  # sent
    await h.tick(utc(2025, 2, 4, 9, 0))  # nothing new: an empty run
    h.source.feature(date(2025, 2, 5), paper(2, "Diffusion B"))
    await h.tick(utc(2025, 2, 5, 9, 0))  # sent
    assert (await count(h, OutboxRow), await count(h, DigestRunRow)) == (2, 3)
    later = date(2025, 3, 20)
    h.source.feature(later, p1, paper(3, "Diffusion C"))  # paper 1 is featured again
    await h.tick(utc(2025, 3, 20, 9, 0))
    async with h.app.sessions() as s:
        runs = (await s.scalars(select(DigestRunRow.slot).order_by(DigestRunRow.slot))).all()
        items = (await s.scalars(select(OutboxRow.run_id).order_by(OutboxRow.id))).all()
    # Runs that delivered papers hold the ledger; the empty one went. Of the old messages,
    # only the last one stays (status shows when something was last posted).
    assert runs == ["2025-02-03", "2025-02-05", "2025-03-20"]
    assert len(items) == 2
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00001"], ["2501.00002"], ["2501.00003"]]
    assert "Last delivery" in await h.bot.text("status")
