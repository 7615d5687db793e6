"""The ranking model on a small hand-written corpus where the right order is obvious."""

from __future__ import annotations

from bot.papers import Paper
from bot.recommend.model import build_corpus, fit_reader, rank, similar
from bot.sources.huggingface import parse_daily_items
from tests.recommend_corpus import DIFFUSION, KV, ROBOTS, items


def papers() -> list[Paper]:
    parsed, skipped = parse_daily_items(items(), None)
    assert skipped == 0
    return parsed


KV_IDS = [p[0] for p in KV]
DIFF_IDS = [p[0] for p in DIFFUSION]
ROBOT_IDS = [p[0] for p in ROBOTS]


def test_a_reader_who_likes_kv_cache_gets_kv_cache_first_over_upvotes() -> None:
    corpus = build_corpus(papers())
    reader = fit_reader(corpus, KV_IDS[:3], DIFF_IDS[:2], name="u")
    assert not reader.cold
    assert reader.terms is not None  # kept sparse: the terms of the rated papers only
    assert 0 < len(reader.terms[0]) < corpus.matrix.shape[1]
    ranked = rank(corpus, reader, [*DIFF_IDS[2:], ROBOT_IDS[1], *KV_IDS[3:]])
    order = [r.paper_id for r in ranked]
    # The two unrated KV cache papers first, though they have the fewest upvotes; the
    # diffusion papers (the most upvoted, but disliked) last.
    assert set(order[:2]) == set(KV_IDS[3:])
    assert set(order[-2:]) == set(DIFF_IDS[2:])
    assert ranked[0].like in KV_IDS[:3]
    assert any("cache" in t for t in ranked[0].terms)
    assert "you liked" in ranked[0].reason()


def test_ranking_is_deterministic_and_independent_of_input_order() -> None:
    ps = papers()
    a = build_corpus(ps)
    b = build_corpus(list(reversed(ps)))
    ra = rank(a, fit_reader(a, KV_IDS[:3], DIFF_IDS[:2], name="u"), ROBOT_IDS + KV_IDS[3:])
    rb = rank(b, fit_reader(b, KV_IDS[:3], DIFF_IDS[:2], name="u"), KV_IDS[3:] + ROBOT_IDS)
    assert ra == rb


def test_cold_start_follows_upvotes_nudged_by_ratings() -> None:
    corpus = build_corpus(papers())
    nobody = fit_reader(corpus, [], [], name="new")
    assert nobody.cold
    order = [r.paper_id for r in rank(corpus, nobody, [*KV_IDS, *DIFF_IDS, *ROBOT_IDS])]
    assert order[:4] == sorted(DIFF_IDS, reverse=True)  # most upvoted first
    # Two likes of KV cache papers lift closely related KV cache papers (the least upvoted)
    # above the robots, where upvotes alone put them below.
    few = fit_reader(corpus, KV_IDS[:2], [], name="few")
    assert few.cold
    order = [r.paper_id for r in rank(corpus, few, [*KV_IDS[2:], *ROBOT_IDS])]
    assert set(order[:2]) <= set(KV_IDS[2:])


def test_unknown_candidates_are_left_out() -> None:
    corpus = build_corpus(papers())
    reader = fit_reader(corpus, ["9999.99999", *KV_IDS[:1]], [], name="u")
    assert [r.paper_id for r in rank(corpus, reader, ["9999.99999", KV_IDS[1]])] == [KV_IDS[1]]


def test_similar_finds_the_same_topic() -> None:
    corpus = build_corpus(papers())
    near = [pid for pid, _ in similar(corpus, KV_IDS[0], 4)]
    assert set(near) == set(KV_IDS[1:])
    assert similar(corpus, "9999.99999", 3) == []


def test_an_empty_corpus_ranks_nothing() -> None:
    corpus = build_corpus([])
    assert rank(corpus, fit_reader(corpus, [], [], name="u"), ["2412.10001"]) == []
