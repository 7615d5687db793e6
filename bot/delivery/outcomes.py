"""What a failed post leads to: a later try with backoff, giving up, a disabled destination,
or a platform halt; and the tally of a sending round."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.delivery.halts import PlatformHalts
from bot.ops.metrics import Metrics, SendOutcome
from bot.port import DeliveryError, Failure
from bot.storage.outbox_repo import Claimed, OutboxRepo

log = logging.getLogger(__name__)

BACKOFF_FIRST = 30.0  # seconds before the first retry of a transient failure
BACKOFF_MAX = 3600.0
# A platform's transient answers (5xx, timeouts, 429 beyond the inline wait) are retried
# until it recovers, an hour apart at most: an outage delays a digest, it does not lose it.
# An adapter's own exception (a bug, not an answer) is given up after about a day (7 tries
# in the first hour, then hourly), counted in attempts so time spent disabled does not
# count; status shows it and any digest or alerts command there tries again.
MAX_ATTEMPTS = 30
# A message the platform refused (a rendering bug, a limit) is tried this often, in case the
# refusal was a passing fault, then given up; the destination stays on.
REJECTED_ATTEMPTS = 3


@dataclass
class SendReport:
    sent: int = 0  # items whose every part is posted
    parts: int = 0  # messages posted
    rate_limited: int = 0  # rate-limit answers waited out in place
    retried: int = 0  # transient failures put back with a backoff
    disabled: int = 0  # destinations gone: disabled with the reason
    failed: int = 0  # items given up (rejected, or adapter errors): status shows them
    halted: int = 0  # items put back because the platform refused the bot's credentials


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """Seconds to wait before attempt `attempts + 1`: exponential, jittered, capped."""
    delay = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** max(0, attempts)) * random.uniform(0.8, 1.2)
    return max(delay, retry_after or 0.0)


class Outcomes:
    """Records in the outbox what a failed post means for the item and its destination."""

    def __init__(
        self,
        repo: OutboxRepo,
        halts: PlatformHalts,
        clock: Callable[[], datetime],
        metrics: Metrics | None = None,
    ) -> None:
        self.repo = repo
        self.halts = halts
        self._clock = clock
        self.metrics = metrics or Metrics()

    async def failed(self, c: Claimed, exc: DeliveryError, report: SendReport) -> None:
        """Handle a failed post by what it means: disable, retry later, give up, or halt."""
        platform = c.item.platform
        if exc.failure is Failure.DESTINATION_GONE:
            await self.disable(c, exc.reason)
            report.disabled += 1
            self.metrics.post_failed(platform, SendOutcome.FAILED)
        elif exc.failure is Failure.REJECTED:
            self.metrics.post_failed(platform, SendOutcome.REJECTED)
            await self.reschedule(
                c, exc.reason, None, report, limit=REJECTED_ATTEMPTS, counted=True
            )
        elif exc.failure is Failure.BOT_UNAUTHORIZED:
            # Not this destination's fault: stop the platform, keep the item as it was.
            await self.halts.halt(c.item.platform, exc.reason, self._clock())
            await self.repo.mark_retry(
                c.item.id, exc.reason, self._clock(), give_up=False, count=False
            )
            report.halted += 1
            self.metrics.post_failed(platform, SendOutcome.HALTED)
        else:
            if exc.retry_after is not None:
                self.metrics.limited(platform)  # a 429 longer than the sender waits in place
            await self.reschedule(c, exc.reason, exc.retry_after, report, limit=None)

    async def reschedule(
        self,
        c: Claimed,
        reason: str,
        retry_after: float | None,
        report: SendReport,
        *,
        limit: int | None,
        counted: bool = False,
    ) -> None:
        """Put the item back with a backoff, or give it up after `limit` attempts.

        `counted`: the caller already counted this post in the metrics (a rejection).
        """
        now = self._clock()
        give_up = limit is not None and c.item.attempts + 1 >= limit
        delay = timedelta(seconds=backoff(c.item.attempts, retry_after))
        await self.repo.mark_retry(c.item.id, reason, now + delay, give_up=give_up)
        if not counted:
            outcome = SendOutcome.FAILED if give_up else SendOutcome.RETRIED
            self.metrics.post_failed(c.item.platform, outcome)
        if give_up:
            report.failed += 1
            log.error(
                "giving up outbox item %s for destination %s after %s attempts: %s",
                c.item.id,
                c.destination.id,
                c.item.attempts + 1,
                reason,
                extra=context(c),
            )
        else:
            report.retried += 1
            log.warning(
                "outbox item %s for destination %s failed (%s); retry in %.0fs",
                c.item.id,
                c.destination.id,
                reason,
                delay.total_seconds(),
                extra=context(c),
            )

    async def disable(self, c: Claimed, reason: str) -> None:
        await self.repo.disable(c.item.id, c.destination.id, reason, self._clock())
        log.warning(
            "destination %s (%s %s %s) disabled: %s",
            c.destination.id,
            c.destination.platform,
            c.destination.kind,
            c.destination.external_id,
            reason,
            extra=context(c),
        )


def context(c: Claimed) -> dict[str, object]:
    """The structured context of a log line about an outbox item (LOG_FORMAT=json)."""
    return {"platform": c.item.platform, "destination": c.destination.id, "outbox_key": c.item.key}
