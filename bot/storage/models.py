"""SQLAlchemy 2 typed models. Every change here comes with an Alembic migration."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Due times of destinations (see DestinationRow.next_due_at): before and after every other.
LOOK_NOW = datetime(1970, 1, 1, tzinfo=UTC)
NEVER = datetime(9999, 12, 31, tzinfo=UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class PaperRow(Base):
    __tablename__ = "papers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # bare arXiv id
    title: Mapped[str] = mapped_column(Text)
    abstract: Mapped[str] = mapped_column(Text, default="")
    # [{"name": str, "hidden": bool}, ...] in arXiv order
    authors: Mapped[list[Any]] = mapped_column(JSON, default=list)
    published_at: Mapped[datetime | None]
    upvotes: Mapped[int] = mapped_column(Integer, default=0)
    comments: Mapped[int] = mapped_column(Integer, default=0)
    github_repo: Mapped[str | None] = mapped_column(Text)
    github_stars: Mapped[int | None] = mapped_column(Integer)
    project_page: Mapped[str | None] = mapped_column(Text)
    ai_summary: Mapped[str | None] = mapped_column(Text)
    ai_keywords: Mapped[list[Any]] = mapped_column(JSON, default=list)
    organization: Mapped[str | None] = mapped_column(Text)
    organization_handle: Mapped[str | None] = mapped_column(Text)  # the HF org's name
    thumbnail: Mapped[str | None] = mapped_column(Text)
    first_seen_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # {"models": n, "datasets": n, "spaces": n, "top": [[kind, repo id], ...]}: what cites the
    # paper on Hugging Face (bot.services.artifacts); NULL until first looked up. Written only
    # by that round, never by an upsert of the daily list.
    artifacts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    artifacts_checked_at: Mapped[datetime | None]

    features: Mapped[list[PaperFeature]] = relationship(
        back_populates="paper", order_by="PaperFeature.day", lazy="selectin"
    )


class PaperFeature(Base):
    """One day a paper was featured on Daily Papers (a paper can be featured again)."""

    __tablename__ = "paper_features"

    paper_id: Mapped[str] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    # When we first saw it on that day's list: digests take papers seen since the last one.
    seen_at: Mapped[datetime]

    paper: Mapped[PaperRow] = relationship(back_populates="features")

    __table_args__ = (
        Index("ix_paper_features_day", "day"),
        Index("ix_paper_features_seen_at", "seen_at"),
    )


class DestinationRow(Base):
    """A place the bot posts on its own: a channel, or a user's DMs."""

    __tablename__ = "destinations"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(8))  # "channel" | "user"
    external_id: Mapped[str] = mapped_column(String(64))
    workspace_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(64))  # remembered DM channel id
    # Digest settings (channels, and users in "daily" alerts mode).
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    digest_time: Mapped[str] = mapped_column(String(5), default="09:00")  # local HH:MM
    digest_max: Mapped[int] = mapped_column(Integer, default=10)
    min_upvotes: Mapped[int] = mapped_column(Integer, default=0)
    weekdays_only: Mapped[bool] = mapped_column(Boolean, default=False)
    # The weekly cadence: the local weekday of the digest (0 Monday .. 6 Sunday), posted at
    # `digest_time`; None: the daily cadence (the default). One cadence per destination.
    digest_weekday: Mapped[int | None] = mapped_column(SmallInteger)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    # `digest threads on`: the digest's header is posted, its papers go in a thread under it.
    threads: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    alerts_mode: Mapped[str] = mapped_column(String(8), default="daily")  # "daily" | "instant"
    muted_until: Mapped[datetime | None]
    # Quiet hours of instant alerts, local HH:MM in `timezone` (both None: none); an alert
    # falling inside waits for their end (bot.delivery.quiet).
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    disabled_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    # When the digest schedule (time, zone, days) was last set or resumed; None: since
    # creation. A digest time before it is not owed: only downtime is caught up.
    schedule_since: Mapped[datetime | None]
    # When the sweep next looks at it (bot.delivery.due): never later than anything it is
    # owed. LOOK_NOW: at the next sweep (new, or its settings or subscriptions changed);
    # NEVER: nothing can be due until a change (paused, disabled, no subscriptions).
    next_due_at: Mapped[datetime] = mapped_column(default=LOOK_NOW)
    # Instant alerts: the horizon of the last alert; looked at once papers are seen after it.
    alert_mark: Mapped[datetime | None]
    # Bumped by every change that may bring the next post forward: the sweep stores the
    # time it computed only if no change came in between.
    due_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    subscriptions: Mapped[list[SubscriptionRow]] = relationship(
        back_populates="destination", cascade="all, delete-orphan", lazy="selectin"
    )

    __table_args__ = (
        UniqueConstraint("platform", "kind", "external_id", name="uq_destination"),
        Index("ix_destinations_next_due_at", "next_due_at", "id"),
        Index("ix_destinations_alert_mark", "alert_mark", "id"),
    )


class SubscriptionRow(Base):
    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    destination_id: Mapped[int] = mapped_column(
        ForeignKey("destinations.id", ondelete="CASCADE"), index=True
    )
    query: Mapped[str] = mapped_column(Text)  # as typed
    canonical: Mapped[str] = mapped_column(Text)  # normalised form, for duplicate detection
    # The parsed query (bot.query.stored), so runs read it instead of parsing `query` again.
    parsed: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # A trending subscription (`--when-crossed`): not in digests; it posts a paper of the
    # last week once its upvotes reach the query's threshold (bot.delivery.trending).
    when_crossed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]

    destination: Mapped[DestinationRow] = relationship(back_populates="subscriptions")

    __table_args__ = (UniqueConstraint("destination_id", "canonical", name="uq_subscription"),)


class StateRow(Base):
    """Small named facts shared by every process (last ingest time, last source error)."""

    __tablename__ = "state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime]


class DigestRunRow(Base):
    """One decision to post (or not) to a destination: a daily digest, an alert, a catch-up.

    `slot` names the occasion and is unique per destination, which is the claim: a daily
    digest's slot is its local date ("2024-12-24"), so each destination gets one per day
    however many processes sweep. The papers considered are those first seen in
    (`window_start`, `horizon`] and not in the ledger yet; the next run's window starts a
    little before this one's horizon (see `bot.delivery.sweep.RECONSIDER`).
    """

    __tablename__ = "digest_runs"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    destination_id: Mapped[int] = mapped_column(ForeignKey("destinations.id", ondelete="CASCADE"))
    slot: Mapped[str] = mapped_column(String(48))
    kind: Mapped[str] = mapped_column(String(12))  # a RunKind (bot/storage/kinds.py)
    local_date: Mapped[date | None] = mapped_column(Date)
    window_start: Mapped[datetime]
    horizon: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12))  # a RunStatus (bot/storage/kinds.py)
    listed: Mapped[int] = mapped_column(Integer, default=0)
    more: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("destination_id", "slot", name="uq_digest_run_slot"),
        Index("ix_digest_runs_destination_horizon", "destination_id", "horizon"),
    )


class DeliveryRow(Base):
    """The ledger: a paper is delivered to a destination at most once, ever.

    A paper a digest only counted ("and 3 more") is recorded too, not `listed`: it was
    offered once and is not offered again, while a paper left out for now (too few upvotes
    yet) is considered again by later digests.

    No foreign keys and no index beyond the key (migration 0008 says why): a sweep writes
    ~110,000 of these rows at once, each row's checks cost more than the row, and the
    statement that writes a row writes its run (whose own key checks the destination).
    Deleting a destination or a paper deletes its rows (triggers, from the same migration).
    """

    __tablename__ = "deliveries"

    destination_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True
    )
    paper_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    run_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    listed: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime]


class OutboxRow(Base):
    """A message composed and recorded, waiting to be sent (or sent, with its message ids)."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("digest_runs.id", ondelete="CASCADE"), unique=True
    )
    destination_id: Mapped[int] = mapped_column(
        ForeignKey("destinations.id", ondelete="CASCADE"), index=True
    )
    platform: Mapped[str] = mapped_column(String(16))
    # The idempotency key handed to the adapter (Discord's nonce: at most 25 characters).
    key: Mapped[str] = mapped_column(String(25), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(8))  # an OutboxStatus (bot/storage/kinds.py)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # The platform parts (messages) to post, rendered once before the first is posted and
    # re-posted exactly on every retry; None until then. `message_ids` holds the ids of the
    # parts already posted, in order, each recorded the moment the platform accepted it.
    parts: Mapped[list[Any] | None] = mapped_column(JSON)
    message_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The thread the item's later parts go into (a Discord thread channel id, a Slack
    # thread_ts), stored the moment a part opened it: a retry after a crash posts into the
    # same thread instead of opening a second one.
    thread: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
        # The claim's own index (migration 0006): pending items in claim order.
        Index(
            "ix_outbox_claim",
            "next_attempt_at",
            "id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )


class InstallationRow(Base):
    """An app installed in one workspace of a chat platform (Slack's OAuth installs).

    The core never reads `data`: the adapter keeps there what it needs to act in that
    workspace, its tokens encrypted by the adapter before they reach this table.
    """

    __tablename__ = "installations"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    # The adapter's name of the workspace (Slack: the team id, or the enterprise id of an
    # org-wide install): destinations there carry the same value in `workspace_id`.
    workspace_id: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    installed_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("platform", "workspace_id", name="uq_installation_workspace"),
    )


class OAuthStateRow(Base):
    """An OAuth `state` handed to one browser: consumed once, before it expires."""

    __tablename__ = "oauth_states"

    state: Mapped[str] = mapped_column(String(128), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class EventClaimRow(Base):
    """A platform event some process has taken on, so that a re-sent copy is not run again.

    Slack re-sends an event it thinks was lost (a retry after 3 s, Socket Mode after a
    reconnect), and the copy may reach another process: the claim is in the shared database.
    """

    __tablename__ = "event_claims"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class TitleIndexRow(Base):
    """The last title index built over the stored titles, for the next process to reuse.

    `fingerprint` hashes every stored (id, title) in order and the index code: a snapshot
    is used only for exactly the titles it was built from (see bot/lookup/snapshot.py), so
    a look-up through it answers as a fresh build would.
    """

    __tablename__ = "title_index"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class RatingRow(Base):
    """One person's 👍 (+1) or 👎 (-1) on a paper: one vote per person per paper.

    `place_id` is the channel it was given in (None in a DM): a channel's taste is the sum of
    its members' votes there, each person counted once per paper.
    """

    __tablename__ = "ratings"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    paper_id: Mapped[str] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    value: Mapped[int] = mapped_column(SmallInteger)
    place_id: Mapped[str | None] = mapped_column(String(64))
    rated_at: Mapped[datetime]

    __table_args__ = (Index("ix_ratings_place", "platform", "place_id"),)


class SaveRow(Base):
    """A paper one person saved (🔖) to read later or export."""

    __tablename__ = "saves"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    paper_id: Mapped[str] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    place_id: Mapped[str | None] = mapped_column(String(64))
    saved_at: Mapped[datetime]


class TasteSettingsRow(Base):
    """Ranking preferences of a channel, or of a person's DM digest: the digest order, and
    whether a person's alerts suggest papers outside their queries.

    Kept apart from `destinations` so that a person's preferences exist before they have a
    destination, and `forget me` removes them with the rest. None means "the default".
    """

    __tablename__ = "taste_settings"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # "channel" | "user"
    external_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    digest_rank: Mapped[str | None] = mapped_column(String(12))  # "relevance" | "upvotes"
    # "You may also like" in a person's alerts: None means the default (on from 5 ratings).
    suggest: Mapped[bool | None] = mapped_column(Boolean)
    updated_at: Mapped[datetime]
