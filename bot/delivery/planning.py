"""The sweep's pure planning: what each destination it looked at is owed, and when to look again.

No I/O here: the sweep (`bot.delivery.sweep`) reads the database, hands the rows to these
functions, and writes what they decide. Tests can drive every rule with plain rows.
"""

from __future__ import annotations

from collections.abc import Collection, Container, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from bot.delivery.alerts import is_instant, mute_occasions
from bot.delivery.digest import Occasion
from bot.delivery.quiet import is_quiet, quiet_until
from bot.delivery.timing import Schedule, due_slots, next_digest
from bot.settings import Settings
from bot.storage.due_reads import Destination, NextLook
from bot.storage.kinds import RunKind
from bot.storage.models import LOOK_NOW, NEVER
from bot.storage.state_repo import IngestStatus

# However short the configured catch-up and grace, a digest stays due this long: the minute
# sweep (or a cron-driven `digest run`) comes a little after the digest time, never on it.
MIN_REACH = timedelta(minutes=15)

Key = tuple[int, str]  # (destination id, slot)


def reach(settings: Settings) -> timedelta:
    """How long after its time a digest is still posted (after a downtime or an outage)."""
    hours = max(settings.catch_up_hours, settings.source_grace_hours)
    return max(MIN_REACH, timedelta(hours=hours))


def schedule_of(d: Destination) -> Schedule:
    since = d.schedule_since or d.created_at
    return Schedule(d.digest_time, d.timezone, d.weekdays_only, since, d.digest_weekday)


def ingest_horizon(status: IngestStatus, now: datetime) -> datetime:
    """Windows end where the last complete poll round ended (now, before the first one)."""
    at = status.last_complete_round_at
    return now if at is None else min(at, now)


def papers_in(status: IngestStatus, due_at: datetime, fresh_after: timedelta) -> bool:
    """Whether a complete round since `fresh_after` before `due_at` polled its UTC day."""
    at = status.last_complete_round_at
    return (
        at is not None
        and at >= due_at - fresh_after
        and due_at.astimezone(UTC).date() in status.last_round_days
    )


@dataclass(frozen=True)
class Rules:
    """One sweep's moment and the settings its decisions follow."""

    now: datetime
    horizon: datetime  # where windows end (the last complete poll round)
    status: IngestStatus
    reach: timedelta
    grace: timedelta  # how long a digest waits for a failing paper source
    fresh_after: timedelta  # how recent a poll round must be for a digest to go
    alerts: bool  # False while an ingest runs: instant alerts wait for its end

    @classmethod
    def of(cls, settings: Settings, status: IngestStatus, now: datetime, alerts: bool) -> Rules:
        return cls(
            now=now,
            horizon=ingest_horizon(status, now),
            status=status,
            reach=reach(settings),
            grace=timedelta(hours=settings.source_grace_hours),
            fresh_after=timedelta(minutes=settings.ingest_interval_minutes + 1),
            alerts=alerts,
        )


def live(d: Destination) -> bool:
    """Whether a digest or alert may go to `d`: not paused, not disabled, with subscriptions
    (trending ones do not count: they post on their own, bot.delivery.trending)."""
    return (
        not d.paused
        and d.disabled_reason is None
        and any(not s.when_crossed for s in d.subscriptions)
    )


@dataclass(frozen=True)
class Split:
    special: list[Destination]  # muted, or instant alerts (when alerts may go)
    daily: list[Occasion]  # daily digests whose time has come


def split(destinations: Sequence[Destination], rules: Rules) -> Split:
    """Sort the live destinations into special ones and the daily digests due now."""
    special: list[Destination] = []
    daily: list[Occasion] = []
    for d in destinations:
        if not live(d):
            continue
        if d.muted_until is not None or is_instant(d):
            if rules.alerts or d.muted_until is not None:
                special.append(d)
            continue
        schedule = schedule_of(d)
        for day, at in due_slots(schedule, rules.now, rules.reach):
            daily.append(Occasion(d, schedule.slot(day), RunKind.DIGEST, day, at))
    return Split(special, daily)


def special_occasions(
    special: Sequence[Destination],
    rules: Rules,
    latest_seen: datetime | None,
    last: Mapping[int, datetime],
) -> list[Occasion]:
    """Catch-ups of ended mutes and instant alerts owed now."""
    out: list[Occasion] = []
    for d in special:
        found = mute_occasions(d, rules.now, rules.horizon, latest_seen, last.get(d.id))
        out.extend(found or [])
    return out


@dataclass
class Triage:
    ready: list[Occasion] = field(default_factory=list)  # papers are in: compose
    skips: list[Occasion] = field(default_factory=list)  # the source failed too long
    waiting: int = 0  # waiting for the paper source


def triage(daily: Sequence[Occasion], taken: Container[Key], rules: Rules) -> Triage:
    """Which of the due daily digests go now, wait for papers, or are given up."""
    out = Triage()
    for o in daily:
        if (o.destination.id, o.slot) in taken:
            continue
        assert o.due_at is not None
        if papers_in(rules.status, o.due_at, rules.fresh_after):
            out.ready.append(o)
        elif rules.now > o.due_at + rules.grace and rules.status.failing:
            # Only a failing source gives a digest up; after a downtime, the first poll
            # (moments away) decides.
            out.skips.append(o)
        else:
            out.waiting += 1
    return out


def next_look(
    d: Destination,
    rules: Rules,
    done: Container[date],
    last_horizon: datetime | None,
) -> tuple[datetime, datetime | None]:
    """(next due, alert mark) of a destination: never later than what it is owed next.

    `done` holds the local dates whose daily digest has a run; `last_horizon` is where its
    last run ended. A digest still owed and waiting for papers keeps a due time in the past,
    so every sweep looks at it until it goes, is given up, or is owed no more.
    """
    if not live(d):
        return NEVER, None  # a change (resume, re-enable, subscribe) brings it back
    if d.muted_until is not None:
        return d.muted_until, None
    if is_instant(d):
        if d.quiet_end and is_quiet(rules.now, d.quiet_start, d.quiet_end, d.timezone):
            # No alert mark while quiet: new papers would bring it back every sweep all
            # night; it is looked at again when the quiet hours end (or a setting changes).
            return quiet_until(rules.now, d.quiet_end, d.timezone), None
        return NEVER, last_horizon or LOOK_NOW
    return next_digest(schedule_of(d), rules.now, rules.reach, done), None


def next_looks(
    looked: Sequence[Destination],
    rules: Rules,
    done: Collection[Key],
    daily: Sequence[Occasion],
    last: Mapping[int, datetime],
) -> list[NextLook]:
    """What the sweep stores for every destination it looked at (`done`: slots with a run)."""
    days: dict[int, set[date]] = {}
    for o in daily:
        if (o.destination.id, o.slot) in done and o.local_date is not None:
            days.setdefault(o.destination.id, set()).add(o.local_date)
    out = []
    for d in looked:
        due, mark = next_look(d, rules, days.get(d.id, set()), last.get(d.id))
        out.append(NextLook(d.id, d.due_version, due, mark))
    return out
