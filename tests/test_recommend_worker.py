"""The recommender's worker process: same results as in-process, and nothing kept after use.

These check behaviour (what is returned, what is cached, whether a worker still runs), not
memory figures: those are bench/recommend_rss.py's.
"""

from __future__ import annotations

import asyncio
import json
import platform
import subprocess
import sys
from datetime import timedelta

import numpy as np
import pytest

from bot.recommend import model, release
from bot.recommend.model import build_corpus, fit_reader, rank, svm_fit
from bot.recommend.service import Recommender
from bot.recommend.worker import Worker
from bot.sources.huggingface import parse_daily_items
from bot.storage.feedback_repo import Taste
from tests.helpers import TestBot
from tests.recommend_corpus import DIFFUSION, KV, ROBOTS, items

KV_IDS = [p[0] for p in KV]
DIFF_IDS = [p[0] for p in DIFFUSION]
ROBOT_IDS = [p[0] for p in ROBOTS]


@pytest.fixture
async def fed(bot: TestBot) -> TestBot:
    papers, skipped = parse_daily_items(items(), None)
    assert skipped == 0
    await bot.app.papers.upsert(papers, now=bot.app.clock() - timedelta(minutes=5))
    return bot


def _taste(liked: list[str], disliked: list[str]) -> Taste:
    return Taste({**{p: 1 for p in liked}, **{p: -1 for p in disliked}})


async def test_the_corpus_from_the_worker_is_the_one_built_here(fed: TestBot) -> None:
    recommender = fed.app.recommender
    corpus = await recommender.corpus()
    here = build_corpus(await fed.app.papers.all_papers())
    assert corpus.ids == here.ids
    assert corpus.index == here.index
    assert list(corpus.terms) == list(here.terms)
    assert (corpus.matrix != here.matrix).nnz == 0
    assert corpus.matrix.has_sorted_indices
    assert np.array_equal(corpus.prior, here.prior)
    assert corpus.featured == here.featured and corpus.by_day == here.by_day
    # It ran in a worker process, which has ended since.
    assert recommender.worker.started == 1
    assert not recommender.worker.running


async def test_a_sweep_orders_as_before_and_keeps_none_of_its_readers(fed: TestBot) -> None:
    recommender = fed.app.recommender
    candidates = [*DIFF_IDS, *ROBOT_IDS, *KV_IDS[3:]]
    jobs = [
        ("destination:1", _taste(KV_IDS[:3], DIFF_IDS[:2]), candidates),
        ("destination:2", _taste(DIFF_IDS[:3], KV_IDS[:2]), candidates),
    ]
    orders = await recommender.order_many(jobs)
    corpus = await recommender.corpus()
    expected = [
        [r.paper_id for r in rank(corpus, fit_reader(corpus, t.liked, t.disliked, name=n), ids)]
        for n, t, ids in jobs
    ]
    assert orders == expected
    assert set(orders[0][:2]) == set(KV_IDS[3:])  # the KV reader gets KV cache first
    assert recommender.cached_readers == 0  # a sweep's readers are not kept
    assert not recommender.worker.running
    # An interactive ranking keeps its reader, and a sweep after it reads that one.
    ranked = await recommender.rank("destination:1", jobs[0][1], candidates)
    assert [r.paper_id for r in ranked] == expected[0]
    assert recommender.cached_readers == 1
    assert await recommender.order_many(jobs) == expected
    assert recommender.cached_readers == 1


async def test_many_ratings_fit_in_the_worker_exactly_as_here(
    fed: TestBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The hand corpus is small: make every fit take the many-ratings (SVM) path.
    monkeypatch.setattr(model, "DUAL_MAX_ROWS", 0)
    recommender = fed.app.recommender
    taste = _taste(KV_IDS[:3], DIFF_IDS[:2])
    corpus, reader = await recommender.reader("u", taste)
    here = fit_reader(corpus, taste.liked, taste.disliked, name="u")
    assert reader.terms is not None and here.terms is not None
    assert np.array_equal(reader.terms[0], here.terms[0])
    assert np.array_equal(reader.terms[1], here.terms[1])
    assert reader.bias == here.bias
    # One worker served the corpus and the fit, and it has ended.
    assert recommender.worker.started == 1
    assert not recommender.worker.running


async def test_the_worker_lives_while_a_session_is_open() -> None:
    worker = Worker()
    x = build_corpus(parse_daily_items(items(), None)[0]).matrix.astype(np.float64)
    y = np.array([1.0 if i % 2 else -1.0 for i in range(x.shape[0])])
    weight = np.ones(x.shape[0])
    async with worker.session():
        async with worker.session():
            w, bias = worker.call(svm_fit, x, y, weight)
        assert worker.running  # the outer session still holds it
        worker.call(svm_fit, x, y, weight)
        assert worker.started == 1
    assert not worker.running
    here = svm_fit(x, y, weight)
    assert np.array_equal(w, here[0]) and bias == here[1]
    async with worker.session():  # used again: started again
        worker.call(svm_fit, x, y, weight)
    assert worker.started == 2 and not worker.running


async def test_a_recommender_without_a_database_url_reads_the_papers_itself(
    fed: TestBot,
) -> None:
    recommender = Recommender(fed.app.papers, fed.app.clock)
    corpus = await recommender.corpus()
    assert corpus.ids == build_corpus(await fed.app.papers.all_papers()).ids
    assert set(KV_IDS) <= set(corpus.ids)
    assert not recommender.worker.running


RANK_IN_A_FRESH_PROCESS = """
import asyncio, json, sys
import bot.recommend.model as model
from bot.app import build_app
from bot.settings import load_settings
from bot.storage.feedback_repo import Taste
model.DUAL_MAX_ROWS = 0  # the many-ratings (SVM) path too
async def main():
    app = build_app(load_settings({"DATABASE_URL": sys.argv[1]}), source_name="sample")
    taste = Taste(json.loads(sys.argv[2]))
    ranked = await app.recommender.rank("u", taste, json.loads(sys.argv[3]))
    orders = await app.recommender.order_many([("d", taste, json.loads(sys.argv[3]))])
    await app.close()
    print(json.dumps([[r.paper_id for r in ranked], orders[0], "sklearn" in sys.modules]))
asyncio.run(main())
"""


async def test_the_bot_process_ranks_without_importing_scikit_learn(fed: TestBot) -> None:
    taste = _taste(KV_IDS[:3], DIFF_IDS[:2])
    candidates = [*DIFF_IDS, *ROBOT_IDS, *KV_IDS[3:]]
    args = [fed.app.settings.database_url, json.dumps(taste.ratings), json.dumps(candidates)]
    out = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", RANK_IN_A_FRESH_PROCESS, *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    ranked, ordered, loaded = json.loads(out.stdout.splitlines()[-1])
    assert set(ranked[:2]) == set(KV_IDS[3:]) and ordered == ranked
    assert loaded is False  # scikit-learn ran in the worker only


def test_releasing_memory_is_a_no_op_where_glibc_is_not(monkeypatch: pytest.MonkeyPatch) -> None:
    kept = [np.arange(10)]
    monkeypatch.setattr(release, "_malloc_trim", lambda: None)
    assert release.release_freed_memory() is False
    assert list(kept[0]) == list(range(10))


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_releasing_memory_trims_with_glibc() -> None:
    assert release.release_freed_memory() is True
