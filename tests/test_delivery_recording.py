"""Recording runs: the claim, the ledger and the outbox, on both paths (bulk and row by row).

PostgreSQL records a batch in two statements of arrays (`bot.storage.bulk_record`); SQLite
row by row. Both must keep the same promises: one run per (destination, slot), a paper
never twice in one destination's digests (the ledger decides, "and N more" included), each
run recorded with its ledger rows and its outbox item or not at all.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text

import bot.storage.bulk_record as bulk_record
import bot.storage.delivery_repo as delivery_repo
from bot.app import App
from bot.delivery.digest import digest_payload, payload_paper_ids
from bot.storage.delivery_plan import Entry, PayloadBuilder, Recorded, RunPlan
from bot.storage.delivery_repo import DeliveryRepo
from bot.storage.kinds import RunKind, RunStatus
from bot.storage.models import DeliveryRow, DestinationRow, DigestRunRow, OutboxRow
from tests.delivery_helpers import FakeSource, make_app, paper, utc
from tests.helpers import FakeClock

NOW = utc(2025, 2, 3, 9, 0)
DAY = date(2025, 2, 3)
PAPERS = [paper(n, f"Paper {n}") for n in range(1, 41)]
IDS = [p.id for p in PAPERS]


class RowByRow(DeliveryRepo):
    """The portable path, on whatever database the test runs."""

    async def _bulk(self) -> bool:
        return False


async def _app(db_url: str) -> App:
    app = make_app(db_url, FakeClock(NOW), FakeSource())
    await app.papers.upsert(PAPERS, now=NOW)
    return app


async def _destinations(app: App, n: int) -> list[int]:
    """`n` new channels; their ids."""
    async with app.sessions.begin() as s:
        before = await s.scalar(select(func.count()).select_from(DestinationRow))
        await s.execute(
            insert(DestinationRow),
            [
                {
                    "platform": "test",
                    "kind": "channel",
                    "external_id": f"C{before + i}",
                    "created_at": NOW,
                }
                for i in range(n)
            ],
        )
        ids = await s.scalars(select(DestinationRow.id).order_by(DestinationRow.id))
        return list(ids.all())[-n:]


def _plan(d: int, ranked: list[str], *, slot: str = "2025-02-03", cap: int = 3) -> RunPlan:
    return RunPlan(
        destination_id=d,
        platform="test",
        slot=slot,
        kind=RunKind.DIGEST if slot[0].isdigit() else RunKind.NOW,
        local_date=DAY if slot[0].isdigit() else None,
        window_start=utc(2025, 2, 2, 9, 0),
        horizon=NOW,
        cap=cap,
        ranked=[(pid, (f"q{pid[-2:]}",)) for pid in ranked],
    )


def _builder(empty: str | None = None) -> PayloadBuilder:
    def build(listed: list[Entry], more: int) -> dict[str, Any] | None:
        return digest_payload(f"{len(listed)} + {more}", listed, more, "q", empty_text=empty)

    return build


async def _stored(app: App) -> tuple[list[Any], list[Any], list[Any]]:
    async with app.sessions() as s:
        runs = (await s.execute(select(DigestRunRow))).scalars().all()
        ledger = (await s.execute(select(DeliveryRow))).scalars().all()
        outbox = (await s.execute(select(OutboxRow))).scalars().all()
    return list(runs), list(ledger), list(outbox)


async def _check_consistent(app: App) -> None:
    """Each queued run has one outbox item listing exactly its `listed` ledger rows, and a
    footer counting its other ones; no paper twice per destination; no stray rows."""
    runs, ledger, outbox = await _stored(app)
    assert len({(r.destination_id, r.slot) for r in runs}) == len(runs)
    pairs = Counter((row.destination_id, row.paper_id) for row in ledger)
    assert all(n == 1 for n in pairs.values())
    items = {o.run_id: o for o in outbox}
    run_ids = {r.id for r in runs}
    assert set(items) <= run_ids and {row.run_id for row in ledger} <= run_ids
    for r in runs:
        mine = [row for row in ledger if row.run_id == r.id]
        listed = {row.paper_id for row in mine if row.listed}
        more = sum(1 for row in mine if not row.listed)
        if r.status == RunStatus.EMPTY:
            # (Counted rows only if a concurrent run took every paper it was to list: as
            # before, the ledger does not promote counted papers to listed ones.)
            assert r.id not in items and not listed
            continue
        assert r.status == RunStatus.QUEUED
        payload = items[r.id].payload
        assert sorted(payload_paper_ids(payload)) == sorted(listed)
        if more:
            assert payload["footer"].startswith(f"and {more} more")
        else:
            assert payload["footer"] is None
        assert payload["title"] == f"{len(listed)} + {more}"


async def test_fresh_papers_fill_the_cap_and_the_rest_is_counted_in_the_ledger(db_url):
    app = await _app(db_url)
    [d] = await _destinations(app, 1)
    repo = app.deliveries
    first = await repo.record_many([(_plan(d, IDS[:5], slot="2025-02-02"), _builder())], NOW)
    assert [(r.listed, r.more) for r in first if r] == [(3, 2)]

    # The next run ranks papers the first one listed or counted among new ones: those are
    # skipped before the cap is applied, so the cap is filled with new papers only.
    ranked = [IDS[1], IDS[5], IDS[0], IDS[6], IDS[4], IDS[7], IDS[8], IDS[9]]
    [second] = await repo.record_many([(_plan(d, ranked), _builder())], NOW)
    assert second is not None and (second.listed, second.more) == (3, 2)
    runs, ledger, outbox = await _stored(app)
    item = next(o for o in outbox if o.run_id == second.run_id)
    assert payload_paper_ids(item.payload) == [IDS[5], IDS[6], IDS[7]]  # rank order
    counted = {row.paper_id for row in ledger if row.run_id == second.run_id and not row.listed}
    assert counted == {IDS[8], IDS[9]}
    run = next(r for r in runs if r.id == second.run_id)
    assert (run.listed, run.more, run.status) == (3, 2, RunStatus.QUEUED)
    await _check_consistent(app)
    await app.close()


async def test_a_run_with_nothing_new_is_empty_and_queues_nothing(db_url):
    app = await _app(db_url)
    [d, e] = await _destinations(app, 2)
    repo = app.deliveries
    await repo.record_many([(_plan(d, IDS[:2], slot="2025-02-02"), _builder())], NOW)
    plans = [
        (_plan(d, IDS[:2]), _builder()),  # all delivered already
        (_plan(e, [], slot="now-1"), _builder(empty="nothing new")),  # an empty digest posted
    ]
    empty, notice = await repo.record_many(plans, NOW)
    assert empty is not None and empty.status == RunStatus.EMPTY and empty.outbox_id is None
    assert notice is not None and notice.status == RunStatus.QUEUED and notice.outbox_id
    _, _, outbox = await _stored(app)
    assert [o.payload for o in outbox if o.run_id == notice.run_id] == [{"notice": "nothing new"}]
    await app.close()


async def test_a_slot_taken_before_is_not_recorded_again(db_url):
    app = await _app(db_url)
    ids = await _destinations(app, 3)
    repo = app.deliveries
    await repo.record_many([(_plan(ids[1], IDS[:4]), _builder())], NOW)
    results = await repo.record_many([(_plan(d, IDS[4:8]), _builder()) for d in ids], NOW)
    assert [r is None for r in results] == [False, True, False]  # in the order asked
    runs, ledger, _ = await _stored(app)
    assert len(runs) == 3
    # The taken slot's papers went to nobody a second time: the first run holds its four.
    assert {row.paper_id for row in ledger if row.destination_id == ids[1]} == set(IDS[:4])
    await _check_consistent(app)
    await app.close()


async def test_both_paths_record_the_same(db_url):
    """A random batch, some papers delivered before: bulk and row by row agree (each on
    its own destinations of one database; on SQLite both are the portable path)."""
    app = await _app(db_url)
    outcomes = []
    for repo in (app.deliveries, RowByRow(app.sessions)):
        rng = random.Random(5)  # the same batch for both
        ids = await _destinations(app, 30)
        earlier = [(_plan(d, rng.sample(IDS, 4), slot="2025-02-02"), _builder()) for d in ids]
        await repo.record_many(earlier[::3], NOW)
        plans = [
            (_plan(d, rng.sample(IDS, rng.randrange(0, 12)), cap=rng.randrange(1, 5)), _builder())
            for d in ids
        ]
        results = await repo.record_many(plans, NOW)
        runs, ledger, outbox = await _stored(app)
        mine = {d: n for n, d in enumerate(ids)}  # the destinations as 0..29
        outcomes.append(
            (
                [(r.status, r.listed, r.more) if r else None for r in results],
                sorted(
                    (mine[row.destination_id], row.paper_id, row.listed)
                    for row in ledger
                    if row.destination_id in mine
                ),
                sorted(
                    (mine[r.destination_id], r.slot, r.status, r.listed, r.more)
                    for r in runs
                    if r.destination_id in mine
                ),
                sorted(
                    (mine[o.destination_id], str(o.payload))
                    for o in outbox
                    if o.destination_id in mine
                ),
            )
        )
    assert outcomes[0] == outcomes[1]
    assert any(r[1] for r in outcomes[0][0] if r) and any(r[2] for r in outcomes[0][0] if r)
    await _check_consistent(app)
    await app.close()


async def test_a_batch_is_cut_into_transactions_and_answers_in_order(db_url, monkeypatch):
    monkeypatch.setattr(delivery_repo, "_BULK_LIMITS", (3, 10))
    monkeypatch.setattr(delivery_repo, "_ROW_LIMITS", (3, 10))
    app = await _app(db_url)
    ids = await _destinations(app, 10)
    plans = [(_plan(d, IDS[k : k + 1 + k % 4]), _builder()) for k, d in enumerate(ids)]
    results = await app.deliveries.record_many(plans, NOW)
    assert [r.listed + r.more if r else None for r in results] == [1 + k % 4 for k in range(10)]
    runs, _, _ = await _stored(app)
    by_id = {r.id: r.destination_id for r in runs}
    assert [by_id[r.run_id] for r in results if r] == ids
    await _check_consistent(app)
    await app.close()


async def test_a_failure_mid_batch_records_nothing_of_its_transaction(db_url, monkeypatch):
    app = await _app(db_url)
    ids = await _destinations(app, 4)

    def broken(*args: Any) -> Any:
        raise RuntimeError("payload failed")

    # After the claim and the ledger rows went in, before the outbox items.
    monkeypatch.setattr(bulk_record, "_outcome_params", broken)
    monkeypatch.setattr(delivery_repo, "settle", broken)
    with pytest.raises(RuntimeError):
        await app.deliveries.record_many([(_plan(d, IDS[:3]), _builder()) for d in ids], NOW)
    assert await _stored(app) == ([], [], [])
    await app.close()


async def test_duplicate_slots_in_one_bulk_batch_are_refused(db_url):
    app = await _app(db_url)
    [d] = await _destinations(app, 1)
    if app.engine.dialect.name != "postgresql":
        await app.close()
        pytest.skip("the bulk path is PostgreSQL's")
    with pytest.raises(ValueError):
        await app.deliveries.record_many([(_plan(d, IDS[:2]), _builder())] * 2, NOW)
    await app.close()


async def _race(db_url: str, batches: list[list[tuple[RunPlan, PayloadBuilder]]]) -> list[Any]:
    """Record each batch from its own process (app, engine, connections), all at once."""
    apps = [make_app(db_url, FakeClock(NOW), FakeSource()) for _ in batches]
    start = asyncio.Event()

    async def one(app: App, batch: list[tuple[RunPlan, PayloadBuilder]]) -> list[Recorded | None]:
        await start.wait()
        return await app.deliveries.record_many(batch, NOW)

    tasks = [asyncio.create_task(one(a, b)) for a, b in zip(apps, batches, strict=True)]
    start.set()
    try:
        return await asyncio.gather(*tasks)
    finally:
        for app in apps:
            await app.close()


async def test_sweepers_recording_the_same_slots_at_once_claim_each_once(db_url):
    """Three sweepers, the same 300 digests in different orders: each slot once, and each
    recorded run holds its papers (no paper twice for a destination)."""
    app = await _app(db_url)
    ids = await _destinations(app, 300)
    rng = random.Random(3)
    plans = {d: _plan(d, rng.sample(IDS, rng.randrange(1, 15))) for d in ids}
    batches = []
    for _ in range(3):
        order = list(ids)
        rng.shuffle(order)
        batches.append([(plans[d], _builder()) for d in order])

    results = await _race(db_url, batches)

    wins = Counter(r.run_id for rs in results for r in rs if r is not None)
    assert len(wins) == 300 and set(wins.values()) == {1}
    runs, ledger, outbox = await _stored(app)
    assert len(runs) == 300 and len(outbox) == 300
    for d, plan in plans.items():
        assert {row.paper_id for row in ledger if row.destination_id == d} == {
            pid for pid, _ in plan.ranked
        }
    await _check_consistent(app)
    await app.close()


async def test_two_runs_of_one_destination_at_once_never_share_a_paper(db_url):
    """A `digest now` and the daily digest recorded at once by two processes, for 200
    destinations whose candidates overlap: the ledger gives each paper to one of them, and
    each payload lists only what its run holds."""
    app = await _app(db_url)
    ids = await _destinations(app, 200)
    rng = random.Random(8)
    daily, now = [], []
    for d in ids:
        picked = rng.sample(IDS, 12)  # six papers both runs rank, three each its own
        shared = picked[:6]
        daily.append((_plan(d, shared + picked[6:9]), _builder()))
        now.append((_plan(d, picked[9:] + shared, slot="now-0900"), _builder()))
    rng.shuffle(now)

    results = await _race(db_url, [daily, now])

    assert all(r is not None for rs in results for r in rs)
    runs, _, outbox = await _stored(app)
    assert len(runs) == 400
    listed = Counter(
        (o.destination_id, pid) for o in outbox for pid in payload_paper_ids(o.payload)
    )
    assert listed and all(n == 1 for n in listed.values())
    await _check_consistent(app)
    await app.close()


async def test_every_claim_is_planned_for_its_own_arrays(db_url, monkeypatch):
    """From a prepared statement's sixth run PostgreSQL may reuse a generic plan, made without
    the arrays' sizes (once 4-18x slower for the claim): every claim gets a custom plan."""
    app = await _app(db_url)
    if app.engine.dialect.name != "postgresql":
        await app.close()
        pytest.skip("prepared statements and plan caching are PostgreSQL's")
    # One transaction at a time, so every claim goes through the one pooled connection.
    monkeypatch.setattr(delivery_repo, "_BULK_AHEAD", 1)
    monkeypatch.setattr(delivery_repo, "_BULK_LIMITS", (20, 400))
    ids = await _destinations(app, 240)
    rng = random.Random(5)
    plans = [(_plan(d, rng.sample(IDS, 15)), _builder()) for d in ids]
    assert all(r is not None for r in await app.deliveries.record_many(plans, NOW))
    async with app.engine.connect() as conn:
        plans_used = (
            await conn.execute(
                text(
                    "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                    "WHERE statement LIKE '%INSERT INTO deliveries%' "
                    "AND statement NOT LIKE '%pg_prepared%'"
                )
            )
        ).all()
    assert plans_used == [(0, 12)]
    await _check_consistent(app)
    await app.close()


async def test_a_claim_probes_the_ledger_by_its_key_even_when_it_looks_empty(db_url):
    """On a ledger planned as empty, a nested loop scanned the whole table once per
    candidate (while another claim filled it): the claim never scans the ledger."""
    app = await _app(db_url)
    if app.engine.dialect.name != "postgresql":
        await app.close()
        pytest.skip("the bulk claim and its planner settings are PostgreSQL's")
    async with app.engine.connect() as conn:
        await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(
            text("VACUUM ANALYZE deliveries")
        )
    ids = await _destinations(app, 50)
    rng = random.Random(9)
    plans = [(_plan(d, rng.sample(IDS, 12)), _builder()) for d in ids]
    async with app.sessions.begin() as s:
        recorded = await bulk_record.record_batch(s, plans, NOW)
        scans = await s.scalar(
            text("SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'deliveries'")
        )
    assert all(r is not None and r.listed == 3 for r in recorded)
    assert scans == 0
    await _check_consistent(app)
    await app.close()
