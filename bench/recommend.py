"""Benchmark the recommender on real days: `python bench/recommend.py --data DIR`.

Quality: simulated readers. Each has a hidden interest, a few Hugging Face keywords drawn
(seeded) from the keywords common in the data; a paper is relevant when its keywords, title
or abstract name one of them. A reader browses the earlier weeks' days most upvoted first,
as the bot lists them, and rates the first relevant papers they meet 👍 and the first others
👎 (10 and 10, or fewer for the cold-start rows), then every method ranks the papers of the
later weeks; nDCG@10 and precision@10 are averaged over readers, in one run, for:
- model: bot.recommend.model (TF-IDF; a linear classifier, ridge in its dual form, on likes,
  dislikes and sampled unrated papers of the days they rated, with a small upvote prior;
  cold start, under 5 ratings: upvotes nudged by the ratings);
- arxiv-sanity: the same TF-IDF, one LinearSVC per reader, likes against every other
  paper of the earlier weeks (what arxiv-sanity-lite does), nothing else;
- upvotes: most upvoted first; random: a seeded shuffle.
Speed: fitting one reader on 500 ratings, ranking 1,000 candidates, and re-ranking the
digests of 10,000 destinations (20 ratings each, 30 matched papers each) in one worker
call as a sweep does, against a naive baseline that vectorises the corpus again per reader
(timed on a few readers, extrapolated).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.data import add_data_option, need_days, use_data
from bot.papers import Paper
from bot.sources.huggingface import parse_daily_items


def load(files: list[Path]) -> list[Paper]:
    papers: dict[str, Paper] = {}
    for f in files:
        parsed, _ = parse_daily_items(json.loads(f.read_text()), None)
        for p in parsed:
            papers.setdefault(p.id, p)
    return list(papers.values())


def relevant(p: Paper, interest: tuple[str, ...]) -> bool:
    text = f"{p.title} {p.abstract}".lower()
    keys = {k.lower() for k in p.ai_keywords}
    return any(k in keys or f" {k} " in f" {text} " for k in interest)


def ndcg(order: list[str], rel: set[str], k: int = 10) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, pid in enumerate(order[:k]) if pid in rel)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(k, len(rel))))
    return dcg / ideal if ideal else 0.0


def precision(order: list[str], rel: set[str], k: int = 10) -> float:
    return sum(1 for pid in order[:k] if pid in rel) / k


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_option(ap)
    ap.add_argument("--readers", type=int, default=60)
    ap.add_argument("--test-days", type=int, default=14, help="later days ranked")
    ap.add_argument("--train-days", type=int, default=28, help="earlier days rated")
    ap.add_argument("--destinations", type=int, default=10_000)
    args = ap.parse_args()
    use_data(args)

    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    from bot.recommend.model import build_corpus, fit_reader, paper_text, rank

    papers = load(need_days())
    days = sorted({d for p in papers for d in p.featured_on})
    test_days = set(days[-args.test_days :])
    train_days = set(days[-args.test_days - args.train_days : -args.test_days])
    print(f"data: {len(papers)} papers, {len(days)} days {days[0]} to {days[-1]}")
    t = time.perf_counter()
    corpus = build_corpus(papers)
    fit_s = time.perf_counter() - t
    print(
        f"corpus: TF-IDF fit over {corpus.size} papers in {fit_s:.2f} s, "
        f"{corpus.matrix.shape[1]} terms"
    )
    by_id = {p.id: p for p in papers}
    train = sorted(
        (p for p in papers if p.featured_on and p.featured_on[0] in train_days),
        key=lambda p: (min(p.featured_on), -p.upvotes, p.id),
    )
    test = [p.id for p in papers if p.featured_on and p.featured_on[0] in test_days]
    counts = Counter(k.lower() for p in papers for k in p.ai_keywords)
    common = sorted(k for k, n in counts.items() if 15 <= n <= 400)
    rng = random.Random(13)

    readers = []
    tries = 0
    while len(readers) < args.readers and tries < 20_000:
        tries += 1
        interest = tuple(rng.sample(common, 3))
        rel_test = {pid for pid in test if relevant(by_id[pid], interest)}
        rel_train = [p.id for p in train if relevant(p, interest)]
        if len(rel_test) >= 5 and len(rel_train) >= 10:
            readers.append((interest, rel_train, rel_test))
    print(
        f"readers: {len(readers)}, interests of 3 keywords; {len(test)} papers ranked "
        f"({args.test_days} days), rated from {len(train)} papers ({args.train_days} days)"
    )

    train_rows = [corpus.index[p.id] for p in train]

    def sanity(likes: list[str]) -> list[str]:
        pos = {corpus.index[p] for p in likes}
        y = np.array([1 if r in pos else 0 for r in train_rows])
        svm = LinearSVC(C=0.01, class_weight="balanced", random_state=0, max_iter=2000)
        svm.fit(corpus.matrix[train_rows], y)
        rows = [corpus.index[p] for p in test]
        s = svm.decision_function(corpus.matrix[rows])
        return [test[i] for i in sorted(range(len(test)), key=lambda i: (-s[i], test[i]))]

    upvote_order = sorted(test, key=lambda pid: (-by_id[pid].upvotes, pid))
    for n_like, n_dislike in ((10, 10), (3, 0), (3, 3), (20, 20)):
        scores: dict[str, list[tuple[float, float]]] = {
            k: [] for k in ("model", "arxiv-sanity", "upvotes", "random")
        }
        for n, (_interest, rel_train, rel_test) in enumerate(readers):
            likes = rel_train[:n_like]
            dislikes = [p.id for p in train if p.id not in set(rel_train)][:n_dislike]
            reader = fit_reader(corpus, likes, dislikes, name=f"reader{n}")
            orders = {
                "model": [r.paper_id for r in rank(corpus, reader, test, explain=False)],
                "arxiv-sanity": sanity(likes),
                "upvotes": upvote_order,
                "random": random.Random(n).sample(test, len(test)),
            }
            for k, order in orders.items():
                scores[k].append((ndcg(order, rel_test), precision(order, rel_test)))
        print(f"after {n_like} likes and {n_dislike} dislikes:")
        for k, vals in scores.items():
            nd = statistics.mean(v[0] for v in vals)
            pr = statistics.mean(v[1] for v in vals)
            print(f"  {k:13s} nDCG@10 {nd:.3f}  P@10 {pr:.3f}")

    # Speed.
    ids = list(corpus.ids)
    r = random.Random(7)

    def best_of(fn, repeat: int = 7) -> float:
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return min(times) * 1000

    many = r.sample(ids, 500)
    ms = best_of(lambda: fit_reader(corpus, many[:250], many[250:], name="speed"))
    print(f"speed: fit one reader on 500 ratings (plus sampled unrated): {ms:.1f} ms (goal 20)")
    reader = fit_reader(corpus, many[:250], many[250:], name="speed")
    cands = r.sample(ids, 1000)
    ms = best_of(lambda: rank(corpus, reader, cands, explain=False))
    print(f"speed: rank 1,000 candidates: {ms:.2f} ms (goal 5)")
    ms = best_of(lambda: rank(corpus, reader, cands, limit=10))
    print(f"speed: rank 1,000 candidates, top 10 with reasons: {ms:.2f} ms")

    jobs = []
    for d in range(args.destinations):
        rd = random.Random(d)
        rated = rd.sample(ids, 20)
        jobs.append((rated[:10], rated[10:], rd.sample(ids, 30)))
    t = time.perf_counter()
    for likes, dislikes, c in jobs:
        rank(corpus, fit_reader(corpus, likes, dislikes, name="d"), c, explain=False)
    total = time.perf_counter() - t
    print(
        f"speed: re-rank the digests of {args.destinations:,} destinations (20 ratings, "
        f"30 papers each): {total:.1f} s (goal 30)"
    )
    texts = [paper_text(by_id[pid]) for pid in corpus.ids]
    sample = 3
    t = time.perf_counter()
    for likes, dislikes, c in jobs[:sample]:
        vec = TfidfVectorizer(stop_words="english", ngram_range=(1, 2), sublinear_tf=True)
        x = vec.fit_transform(texts)
        rows = [corpus.index[p] for p in likes + dislikes]
        svm = LinearSVC(C=1.0, class_weight="balanced", random_state=0)
        svm.fit(x[rows], [1] * len(likes) + [0] * len(dislikes))
        svm.decision_function(x[[corpus.index[p] for p in c]])
    naive = (time.perf_counter() - t) / sample
    print(
        f"speed: naive (vectorise the corpus per reader): {naive:.2f} s per destination, "
        f"{naive * args.destinations / 3600:.1f} h for {args.destinations:,} (extrapolated "
        f"from {sample})"
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"memory: this bench's peak RSS {rss:.0f} MiB (corpus of {corpus.size} papers)")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
