"""What lets the engine hold a million subscriptions: equal queries compiled once and
shared, a compact program that keeps every query, and queries read from their stored
parsed forms matching exactly as parsed ones."""

from __future__ import annotations

import gc
import random

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.delivery.compiled import QueryCache
from bot.matching.engine import MatchEngine, match_batch
from bot.papers import Paper
from bot.query import Query, parse_query
from bot.query.stored import VERSION, dump, load
from tests.reference_matcher import reference_batch
from tests.test_matching_engine import _parse_or_none, papers, query_texts


def _paper(pid: str, title: str, abstract: str = "", **kw: object) -> Paper:
    return Paper(id=pid, title=title, abstract=abstract, **kw)  # type: ignore[arg-type]


BATCH = [
    _paper("a", "Diffusion models for video", "We study LLMs."),
    _paper("b", "Video diffusion", "A world model.", upvotes=12),
    _paper("c", "Audio agents", "Reinforcement learning for agents."),
]


def test_equal_queries_share_one_compiled_query_and_one_result() -> None:
    # Two spellings of one query (order, case, operator words), parsed separately.
    one, two = (
        parse_query("diffusion OR video -audio"),
        parse_query("NOT audio (Video | Diffusion)"),
    )
    assert one is not two and one.canonical == two.canonical
    other = parse_query("diffusion")
    engine = MatchEngine([(1, one), (2, other), (3, two)])
    assert len(engine) == 3 and engine.distinct_queries == 2
    assert engine.query_of(0) == engine.query_of(2) != engine.query_of(1)
    found = engine.match_batch(BATCH)
    assert found[1] is found[3], "one MatchList for both subscriptions"
    assert found[1] == found[3] and found[1].paper_ids == ["a", "b"]
    alone = MatchEngine([(3, two)]).match_batch(BATCH)
    assert list(found[3]) == list(alone[3]), "sharing changes nothing, reasons included"


def test_shared_subtrees_are_compiled_once() -> None:
    engine = MatchEngine(
        [(1, parse_query("diffusion video")), (2, parse_query("diffusion OR video"))]
    )
    # diffusion, video, their AND, their OR: four instructions for two queries.
    assert len(engine._program) == 4 and len(engine._program.leaves) == 2


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(qtext=query_texts)
def test_the_compact_program_round_trips_every_query(qtext: str) -> None:
    query = _parse_or_none(qtext)
    assume(query is not None)
    assert query is not None
    engine = MatchEngine([(0, parse_query("diffusion")), (1, query)])
    assert str(engine.compiled_query(engine.query_of(1))) == str(query)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batch=papers(),
    qtexts=st.lists(query_texts, min_size=1, max_size=5),
    picks=st.lists(st.integers(0, 4), min_size=1, max_size=12),
)
def test_many_subscriptions_sharing_queries_equal_the_reference(
    batch: list[Paper], qtexts: list[str], picks: list[int]
) -> None:
    queries = [q for t in qtexts if (q := _parse_or_none(t)) is not None]
    assume(queries)
    # Subscriptions reuse the queries in any order, some as separately parsed equal copies.
    subs = [
        (
            10 * n + 7,
            queries[p % len(queries)] if n % 2 else parse_query(str(queries[p % len(queries)])),
        )
        for n, p in enumerate(picks)
    ]
    assert match_batch(batch, subs) == reference_batch(batch, subs)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=papers(), qtexts=st.lists(query_texts, min_size=1, max_size=6))
def test_an_engine_from_stored_forms_equals_one_from_parsing(
    batch: list[Paper], qtexts: list[str]
) -> None:
    parsed = [(t, q) for t in qtexts if (q := _parse_or_none(t)) is not None]
    assume(parsed)
    cache = QueryCache()
    loaded = [cache.get(t, dump(q), q.canonical) for t, q in parsed]
    assert all(q is not None for q in loaded)
    from_parsing = MatchEngine([(i, q) for i, (_, q) in enumerate(parsed)])
    from_stored = MatchEngine([(i, q) for i, q in enumerate(loaded) if q is not None])
    assert from_stored.match_batch(batch) == from_parsing.match_batch(batch)


def test_the_cache_reads_each_distinct_text_once() -> None:
    cache = QueryCache()
    q = parse_query("diffusion video")
    first = cache.get("diffusion video", dump(q), q.canonical)
    assert cache.get("diffusion video", dump(q), q.canonical) is first


def test_ids_of_any_size_and_any_iterable() -> None:
    big = 2**70  # beyond an int64 array
    queries = [parse_query("diffusion"), parse_query("video")]
    found = MatchEngine(iter([(big, queries[0]), (-5, queries[1])])).match_batch(BATCH)
    assert list(found) == [big, -5] and found[big].paper_ids == ["a", "b"]


def test_subscription_order_and_duplicate_ids_as_before() -> None:
    rng = random.Random(3)
    pool = [parse_query(t) for t in ("diffusion", "video", "agents", "world model", "zebra")]
    subs: list[tuple[int, Query]] = [(rng.randrange(20), rng.choice(pool)) for _ in range(60)]
    found = match_batch(BATCH, subs)
    expected = reference_batch(BATCH, subs)
    assert found == expected and list(found) == list(expected)


def test_the_collector_is_paused_only_while_compiling_or_matching() -> None:
    assert gc.isenabled()
    engine = MatchEngine([(1, parse_query("diffusion"))])
    assert engine.match_batch(BATCH) and gc.isenabled()
    with pytest.raises(AttributeError):
        MatchEngine([(1, "not a query")])  # type: ignore[list-item]
    assert gc.isenabled(), "re-enabled after a failure too"
    gc.disable()
    try:
        engine.match_batch(BATCH)
        assert not gc.isenabled(), "a caller's disabled collector stays disabled"
    finally:
        gc.enable()


def test_stored_leaves_are_shared_and_a_mistyped_one_is_read_again_from_the_text() -> None:
    one, two = parse_query("diffusion video"), parse_query("diffusion OR audio")
    leaves: dict = {}
    a = load(dump(one), one.text, one.canonical, leaves)
    b = load(dump(two), two.text, two.canonical, leaves)
    assert a is not None and b is not None and a.root == one.root and b.root == two.root
    assert a.root.children[0] is b.root.children[0], "one object for the term diffusion"  # type: ignore[union-attr]
    bad = {"v": VERSION, "tree": ["t", "any", [1.0], [False]]}  # a number where a word goes
    good = {"v": VERSION, "tree": ["t", "any", ["1"], [False]]}
    assert load(bad, "1", "1", leaves) is None
    assert load({"v": VERSION, "tree": ["t", "any", [1], [False]]}, "1", "1", leaves) is None
    assert getattr(load(good, "1", "1", leaves), "root", None) == parse_query("1").root
    cache = QueryCache()
    assert cache.get("diffusion", bad, "diffusion") == parse_query("diffusion")
