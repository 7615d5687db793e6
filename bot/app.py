"""The services the core runs on, built once at start-up from the settings."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.health import HealthBoard
from bot.settings import Settings
from bot.sources import PaperSource
from bot.sources.arxiv import ArxivClient
from bot.storage.claims_repo import EventClaimRepo
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.papers_repo import PaperRepo

if TYPE_CHECKING:
    from bot.lookup import TitleIndex
    from bot.ops.metrics import Metrics
    from bot.recommend.service import Recommender
    from bot.search import SearchIndex
    from bot.storage.delivery_repo import DeliveryRepo
    from bot.storage.destinations_repo import DestinationRepo
    from bot.storage.feedback_repo import FeedbackRepo
    from bot.storage.installations_repo import InstallationRepo, OAuthStateRepo
    from bot.storage.outbox_repo import OutboxRepo
    from bot.storage.state_repo import StateRepo
    from bot.storage.subscriptions_repo import SubscriptionRepo

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
MARK_MARGIN = timedelta(minutes=10)
# Seconds between artifact look-ups: 0.7 s is at most ~430 per 5 minutes even in one run,
# below Hugging Face's 500 before the budget check (`hf_request_budget`) even applies.
ARTIFACT_INTERVAL = 0.7


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    """Everything a command handler, the ingest and the scheduler need.

    The repositories besides `papers` are made on first use (each one's module loads then):
    a one-shot `paperbot lookup` or `papers` reads papers only, and need not import every
    repository (the ledger's, the outbox's, the query parser behind subscriptions) at start
    (issue 17). Each is made once and shared, as a field was.
    """

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    papers: PaperRepo
    source: PaperSource
    arxiv: ArxivClient | None  # None when offline
    online: bool
    clock: Clock = utc_now
    # How this process's chat adapters are doing (bot.supervision keeps it current).
    health: HealthBoard = field(default_factory=HealthBoard)
    _metrics: Metrics | None = field(default=None, repr=False)
    _index: TitleIndex | None = field(default=None, repr=False)
    _index_mark: datetime | None = field(default=None, repr=False)
    _index_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    _search_index: SearchIndex | None = field(default=None, repr=False)
    _recommender: Recommender | None = field(default=None, repr=False)

    @functools.cached_property
    def destinations(self) -> DestinationRepo:
        """Channels and conversations that get digests, and their schedules."""
        from bot.storage.destinations_repo import DestinationRepo

        return DestinationRepo(self.sessions, self.settings.default_timezone)

    @functools.cached_property
    def subscriptions(self) -> SubscriptionRepo:
        """The saved queries of every destination."""
        from bot.storage.subscriptions_repo import SubscriptionRepo

        return SubscriptionRepo(self.sessions)

    @functools.cached_property
    def state(self) -> StateRepo:
        """Small named facts shared by every process: the ingest status, the last prune."""
        from bot.storage.state_repo import StateRepo

        return StateRepo(self.sessions)

    @functools.cached_property
    def deliveries(self) -> DeliveryRepo:
        """The ledger of digest runs and what each posted."""
        from bot.storage.delivery_repo import DeliveryRepo

        return DeliveryRepo(self.sessions)

    @functools.cached_property
    def outbox(self) -> OutboxRepo:
        """Composed messages waiting to be sent."""
        from bot.storage.outbox_repo import OutboxRepo

        return OutboxRepo(self.sessions)

    @property
    def search_index(self) -> SearchIndex:
        """The per-day token indexes `search` reads, kept current with the database per search.

        Made on first use, like the title index: `paperbot lookup` and `papers`, and a bot
        nobody has searched yet, never load the search modules (start-up time, idle memory).
        """
        if self._search_index is None:
            from bot.search import SearchIndex

            self._search_index = SearchIndex(self.papers)
        return self._search_index

    @property
    def installations(self) -> InstallationRepo:
        """Apps installed per workspace (Slack's OAuth installs), shared by every process."""
        from bot.storage.installations_repo import InstallationRepo

        return InstallationRepo(self.sessions)

    @property
    def oauth_states(self) -> OAuthStateRepo:
        """OAuth `state` values handed to browsers, each consumed once."""
        from bot.storage.installations_repo import OAuthStateRepo

        return OAuthStateRepo(self.sessions)

    @property
    def event_claims(self) -> EventClaimRepo:
        """Platform events taken on, so that a re-sent copy is acted on once in all processes."""
        return EventClaimRepo(self.sessions)

    @property
    def feedback(self) -> FeedbackRepo:
        """Ratings, saves and rank settings, per person and per channel."""
        from bot.storage.feedback_repo import FeedbackRepo

        return FeedbackRepo(self.sessions)

    @property
    def recommender(self) -> Recommender:
        """The ranking model over the stored papers, made on first use.

        scikit-learn never loads in this process: the recommender's worker process runs it.
        """
        if self._recommender is None:
            from bot.recommend.service import Recommender

            self._recommender = Recommender(
                self.papers, self.clock, database_url=self.settings.database_url
            )
        return self._recommender

    @property
    def metrics(self) -> Metrics:
        """This App's own Prometheus registry and metrics: what /metrics shows (bot.ops).

        Made on first use: a one-shot command (`paperbot lookup`) never loads the client.
        """
        if self._metrics is None:
            from bot.ops.metrics import Metrics

            self._metrics = Metrics()
        return self._metrics

    async def title_index(self) -> TitleIndex:
        """The in-memory title index: built on first use, then kept current with the database.

        Other processes (a cron `paperbot ingest`, a second bot) store papers too; they leave
        a mark, and titles changed since the last mark seen are added before a look-up.
        """
        async with self._index_lock:
            mark = await self.papers.titles_mark()
            if self._index is None:
                self._index = await self._stored_or_built_index()
            elif mark != self._index_mark:
                # Processes' clocks may differ a little: look back a margin, re-adding is harmless.
                since = self._index_mark - MARK_MARGIN if self._index_mark else None
                titles = await self.papers.titles(changed_since=since)
                await asyncio.to_thread(_add_titles, self._index, titles)
                log.info("title index refreshed with %d changed titles", len(titles))
            self._index_mark = mark
            return self._index

    async def _stored_or_built_index(self) -> TitleIndex:
        """The snapshot stored for exactly the stored titles, else a fresh build (then stored).

        Folding 10,000 titles is most of a one-shot `paperbot lookup`; the next process (or
        the next start of the bot) reads the folded forms back instead (bot/lookup/snapshot).
        """
        from bot.lookup import TitleIndex, snapshot
        from bot.storage.title_index_repo import TitleIndexRepo

        repo = TitleIndexRepo(self.sessions)
        titles = await self.papers.titles()
        key = await asyncio.to_thread(snapshot.fingerprint, titles)
        data = await repo.load(snapshot.KEY, key)
        index = await asyncio.to_thread(snapshot.decode, data) if data is not None else None
        if index is not None:
            log.info("title index read back over %d papers", len(titles))
            return index
        index = await asyncio.to_thread(TitleIndex.build, titles)
        log.info("title index built over %d papers", len(titles))
        data = await asyncio.to_thread(snapshot.encode, index)
        if data is not None:
            try:
                await repo.save(snapshot.KEY, key, data)
            except Exception as exc:  # a read-only database, a race: the next one builds too
                log.warning("title index not stored for reuse: %s", exc)
        return index

    async def index_titles(self, entries: list[tuple[str, str]]) -> None:
        """Add freshly ingested titles to the index, if it was built already."""
        async with self._index_lock:
            if self._index is not None:
                # An archive import brings thousands of titles to fold and index: CPU work.
                await asyncio.to_thread(_add_titles, self._index, entries)

    async def close(self) -> None:
        for closable in (self.source, self.arxiv):
            close = getattr(closable, "close", None)
            if close is not None:
                await close()
        await self.engine.dispose()


def _add_titles(index: TitleIndex, entries: list[tuple[str, str]]) -> None:
    for pid, title in entries:
        index.add(pid, title)


class MixedPapers(Exception):
    """The offline sample was about to go into a database that holds real papers."""


async def keep_sample_apart(app: App, *, brings_real_papers: bool) -> int:
    """Keep the bundled sample and real papers in different databases.

    Offline (the sample as source): raise MixedPapers if the database holds any real paper.
    Online: delete the sample papers a demo left behind when this command brings real papers
    in, or the database holds some already, so that no digest, list, look-up or search of
    real papers can show one; return how many went.
    """
    if not app.online:
        real = await app.papers.first_real_id()
        if real is not None:
            raise MixedPapers(real)
        return 0
    removed = await app.papers.delete_sample(only_beside_real=not brings_real_papers)
    if removed:
        log.warning("removed %d bundled sample papers: never mixed with real ones", removed)
    return removed


def resolve_source_name(settings: Settings, *, chat_configured: bool) -> str:
    """Pick the paper source: "auto" means the sample offline, Hugging Face with a chat platform."""
    if settings.papers_source != "auto":
        return settings.papers_source
    return "huggingface" if chat_configured else "sample"


def build_app(
    settings: Settings,
    *,
    source_name: str | None = None,
    source: PaperSource | None = None,
    clock: Clock = utc_now,
) -> App:
    """Wire engine, repositories and paper sources (no I/O happens here)."""
    from bot.sources.huggingface import HuggingFaceClient
    from bot.sources.sample import SampleSource

    engine = make_engine(settings.database_url, pool_size=settings.database_pool_size)
    sessions = make_sessionmaker(engine)
    name = source_name or resolve_source_name(settings, chat_configured=False)
    online = name == "huggingface"

    def today():  # the UTC date, by the injected clock
        return clock().date()

    if source is None:
        if online:
            source = HuggingFaceClient(
                base_url=settings.hf_api_url,
                token=settings.token,
                today=today,
                artifact_interval=ARTIFACT_INTERVAL,
            )
        else:
            source = SampleSource(today=today)
    arxiv = ArxivClient(base_url=settings.arxiv_api_url) if online else None
    return App(
        settings=settings,
        engine=engine,
        sessions=sessions,
        papers=PaperRepo(sessions),
        source=source,
        arxiv=arxiv,
        online=online,
        clock=clock,
    )
