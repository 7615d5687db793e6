"""Test doubles for delivery: a paper source we control and a recording chat platform."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from bot.app import App, build_app
from bot.messages import Notice, PaperList, Reply
from bot.papers import Paper
from bot.port import DeliveryError, Destination, SendResult
from bot.settings import load_settings
from bot.sources import SourceError
from tests.helpers import FakeClock


class FakeSource:
    """Daily Papers as the test sets them; `down` makes every call fail like an outage."""

    def __init__(self) -> None:
        self.days: dict[date, list[Paper]] = {}
        self.down = False
        self.delay = 0.0  # seconds each call takes, to make concurrent ingests overlap
        self.calls: list[date] = []

    def feature(self, day: date, *papers: Paper) -> None:
        listed = {p.id: p for p in self.days.get(day, [])}
        for p in papers:
            listed[p.id] = Paper(**{**p.__dict__, "featured_on": (day,)})
        self.days[day] = list(listed.values())

    async def daily_papers(self, day: date) -> list[Paper]:
        self.calls.append(day)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.down:
            raise SourceError("Hugging Face answered 503")
        return list(self.days.get(day, []))

    async def paper(self, arxiv_id: str) -> Paper | None:
        return None

    async def search(self, query: str, limit: int = 10) -> list[Paper]:
        return []


def paper(n: int, title: str, upvotes: int = 0, abstract: str = "") -> Paper:
    return Paper(id=f"2501.{n:05d}", title=title, abstract=abstract or title, upvotes=upvotes)


@dataclass
class Sent:
    destination: Destination
    reply: Reply
    key: str

    @property
    def paper_ids(self) -> list[str]:
        if isinstance(self.reply, PaperList):
            return [i.paper.id for i in self.reply.items]
        return []

    @property
    def text(self) -> str:
        if isinstance(self.reply, Notice):
            return self.reply.text
        assert isinstance(self.reply, PaperList)
        lines = [self.reply.title]
        lines += [
            f"{i.paper.id} {i.paper.title} <- {', '.join(i.reasons)}" for i in self.reply.items
        ]
        return "\n".join([*lines, self.reply.footer or ""])


@dataclass
class RecordingAdapter:
    """Implements the Adapter port and remembers every message it "posted".

    With `honour_nonce`, a second send with a key already posted returns the first message
    (as Discord does with enforce_nonce); without it, it posts again (as Slack would).
    `fail` decides per destination id whether to raise a DeliveryError instead.
    """

    platform: str = "test"
    honour_nonce: bool = True
    fail: Callable[[Destination], DeliveryError | None] | None = None
    sent: list[Sent] = field(default_factory=list)
    attempts: int = 0
    _by_key: dict[str, SendResult] = field(default_factory=dict)
    # Awaited inside send after "posting" and before returning: lets a test crash right there.
    after_post: Callable[[], object] | None = None

    @property
    def dedupes_sends(self) -> bool:
        return self.honour_nonce

    async def start(self) -> None:
        await asyncio.Event().wait()

    async def stop(self) -> None:
        return None

    async def send(self, destination: Destination, reply: Reply, *, key: str) -> SendResult:
        self.attempts += 1
        if self.fail is not None:
            err = self.fail(destination)
            if err is not None:
                raise err
        if self.honour_nonce and key in self._by_key:
            return self._by_key[key]
        self.sent.append(Sent(destination, reply, key))
        result = SendResult(message_ids=(f"m{len(self.sent)}",))
        self._by_key[key] = result
        if self.after_post is not None:
            hook = self.after_post()
            if asyncio.iscoroutine(hook):
                await hook
        return result

    def to(self, external_id: str) -> list[Sent]:
        return [s for s in self.sent if s.destination.id == external_id]

    def paper_counts(self) -> Counter[tuple[str, str]]:
        return Counter((s.destination.id, pid) for s in self.sent for pid in s.paper_ids)


def make_app(db_url: str, clock: FakeClock, source: FakeSource, **env: str) -> App:
    settings = load_settings({"DATABASE_URL": db_url, **env})
    return build_app(settings, source_name="sample", source=source, clock=clock)


def utc(*args: int) -> datetime:
    from datetime import UTC

    return datetime(*args, tzinfo=UTC)


class Harness:
    """One bot process: the app, a chat user's view (TestBot), and its delivery scheduler."""

    def __init__(self, app: App, source: FakeSource, adapter: RecordingAdapter):
        from bot.scheduler import DeliveryScheduler
        from tests.helpers import TestBot

        self.app = app
        self.clock: FakeClock = app.clock  # type: ignore[assignment]
        self.source = source
        self.adapter = adapter
        self.bot = TestBot(app)
        self.scheduler = DeliveryScheduler(app, {adapter.platform: adapter})

    async def tick(self, at: datetime, *, ingest: bool = True) -> None:
        """What the scheduler does at `at`: poll the source, sweep, send."""
        self.clock.set(at)
        if ingest:
            await self.scheduler.ingest_once()
        await self.scheduler.sweeper.sweep()
        await self.scheduler.sender.drain()

    async def restart(self) -> Harness:
        """A new process on the same database (what survives is only what is stored)."""
        app = build_app(
            self.app.settings, source_name="sample", source=self.source, clock=self.clock
        )
        other = Harness(app, self.source, self.adapter)
        if app.settings.is_sqlite:
            from bot.delivery.outbox import OutboxRepo

            await OutboxRepo(app.sessions).release_all()
        return other
