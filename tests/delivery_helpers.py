"""Test doubles for delivery: a paper source we control and a recording chat platform."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bot.app import App, build_app
from bot.messages import Notice, PaperItem, PaperList, Reply
from bot.papers import Paper
from bot.port import Capabilities, DeliveryError, Destination, Part, Posted
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
    """One part the recording platform "posted": the part's data, rebuilt as a reply."""

    destination: Destination
    part: dict[str, Any]
    key: str

    @property
    def reply(self) -> Reply:
        if "notice" in self.part:
            return Notice(self.part["notice"])
        items = tuple(
            PaperItem(Paper(id=i["id"], title=i["title"], abstract=""), tuple(i["reasons"]))
            for i in self.part["items"]
        )
        return PaperList(title=self.part["title"], items=items, footer=self.part["footer"])

    @property
    def paper_ids(self) -> list[str]:
        return [i["id"] for i in self.part.get("items", ())]

    @property
    def also_ids(self) -> list[str]:
        """The papers this part suggests ("You may also like")."""
        return [i["id"] for i in self.part.get("also", ())]

    @property
    def text(self) -> str:
        if "notice" in self.part:
            return str(self.part["notice"])
        lines = [self.part["title"] or ""]
        lines += [
            f"{i['id']} {i['title']} <- {', '.join(i['reasons'])}" for i in self.part["items"]
        ]
        return "\n".join([*lines, self.part["footer"] or ""])


@dataclass
class RecordingAdapter:
    """Implements the Adapter port and remembers every part it "posted".

    `compose` splits a list into parts of `part_size` papers (None: one part), the title on
    the first and the footer on the last, like the real renderers' splits. With
    `honour_nonce`, a second post with a key already posted returns the first message (as
    Discord does with enforce_nonce); without it, it posts again. With `finds_posts`,
    `find_posted` returns a part posted under a key (as Slack's metadata look-up does). `fail`
    decides per destination whether to raise a DeliveryError instead.
    """

    platform: str = "test"
    honour_nonce: bool = True
    # Like Slack's metadata look-up: `find_posted` finds a part posted under a key.
    finds_posts: bool = False
    part_size: int | None = None
    fail: Callable[[Destination], DeliveryError | None] | None = None
    sent: list[Sent] = field(default_factory=list)
    attempts: int = 0
    looked: list[str] = field(default_factory=list)  # keys `find_posted` was asked for
    _by_key: dict[str, Posted] = field(default_factory=dict)
    # Awaited inside post after "posting" and before returning: lets a test crash right there.
    after_post: Callable[[], object] | None = None

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(dedupes_sends=self.honour_nonce, finds_posts=self.finds_posts)

    async def start(self) -> None:
        await asyncio.Event().wait()

    async def stop(self) -> None:
        return None

    def compose(self, reply: Reply) -> list[Part]:
        if isinstance(reply, Notice):
            return [{"notice": reply.text}]
        assert isinstance(reply, PaperList)
        items = [
            {"id": i.paper.id, "title": i.paper.title, "reasons": list(i.reasons)}
            for i in reply.items
        ]
        size = self.part_size or max(1, len(items))
        chunks = [items[n : n + size] for n in range(0, len(items), size)] or [[]]
        parts: list[Part] = [
            {
                "title": reply.title if n == 0 else None,
                "intro": reply.intro if n == 0 else None,
                "items": chunk,
                "footer": reply.footer if n == len(chunks) - 1 else None,
            }
            for n, chunk in enumerate(chunks)
        ]
        if reply.also:  # "You may also like", after the matches (on the last part)
            also = [
                {"id": i.paper.id, "title": i.paper.title, "reasons": list(i.reasons)}
                for i in reply.also
            ]
            parts[-1] = {**parts[-1], "also_title": reply.also_title, "also": also}
        return parts

    async def post(self, destination: Destination, part: Part, *, key: str) -> Posted:
        self.attempts += 1
        if self.fail is not None:
            err = self.fail(destination)
            if err is not None:
                raise err
        if self.honour_nonce and key in self._by_key:
            return self._by_key[key]
        self.sent.append(Sent(destination, dict(part), key))
        result = Posted(f"m{len(self.sent)}")
        self._by_key[key] = result
        if self.after_post is not None:
            hook = self.after_post()
            if asyncio.iscoroutine(hook):
                await hook
        return result

    async def find_posted(self, destination: Destination, key: str) -> Posted | None:
        self.looked.append(key)
        return self._by_key.get(key) if self.finds_posts else None

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
            await app.outbox.release_all()
        return other
