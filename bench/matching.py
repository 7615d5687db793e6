"""Benchmark the batch matching engine against a naive per-pair loop: `python bench/matching.py`.

Papers: the 1,000 most recent distinct papers in $PAPERBOT_BENCH_DATA/*.json (bench/data.py)
(read at run time, never copied), or a generated corpus when that folder is absent.
Subscriptions: 100,000 generated queries (fixed seed) mixing single words, acronyms, quoted
phrases, hyphenated words, typos, long-tail words from the real titles, OR groups, NOT,
fields (title:, abstract:, keyword:, author: with real author names) and upvotes>=N.
The naive loop evaluates every (subscription, paper) pair on papers tokenised and indexed
once up front (word set, run-together set, rapidfuzz for typos); it runs on an evenly
spread sample of subscriptions and is scaled to the full count.
"""

from __future__ import annotations

import argparse
import glob
import json
import random
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import OSA

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.data import data_glob
from bot.matching.engine import Match, MatchEngine, Reason
from bot.papers import Paper, normalize_space
from bot.query import Author, Node, Not, Or, Query, QueryError, Text, parse_query
from bot.query.ast import And, iter_leaves
from bot.query.names import parse_name, same_person
from bot.query.text import MAX_CONCAT, TEXT_FIELDS, field_texts, tokenize

DATA = data_glob()
SEED = 20261130
TOPICS = [
    "diffusion",
    "agents",
    "reasoning",
    "robotics",
    "benchmark",
    "retrieval",
    "alignment",
    "quantization",
    "distillation",
    "segmentation",
    "tokenizer",
    "watermarking",
    "hallucination",
    "interpretability",
    "planning",
    "navigation",
    "speech",
    "music",
    "audio",
    "video",
    "math",
    "code",
    "medical",
    "protein",
    "molecule",
    "chemistry",
    "weather",
    "graph",
    "recommendation",
    "compression",
    "pruning",
    "sparsity",
    "safety",
    "jailbreak",
    "privacy",
    "federated",
    "evaluation",
    "multilingual",
    "translation",
    "summarization",
    "captioning",
    "detection",
    "tracking",
    "avatar",
    "animation",
    "editing",
    "inpainting",
    "depth",
    "pose",
    "mesh",
    "gaussian",
    "splatting",
    "attention",
    "transformer",
    "mamba",
    "scaling",
    "pretraining",
    "finetuning",
    "instruction",
    "preference",
    "reward",
    "feedback",
    "curriculum",
    "synthetic",
    "dataset",
    "tabular",
    "forecasting",
    "anomaly",
    "embedding",
    "contrastive",
    "unlearning",
    "memorization",
    "uncertainty",
    "calibration",
    "robustness",
    "adversarial",
    "agentic",
    "tool",
    "search",
    "verifier",
    "physics",
    "geometry",
    "sketch",
    "layout",
    "font",
    "document",
    "table",
    "chart",
    "satellite",
    "remote",
    "sensing",
    "climate",
    "genomics",
    "pathology",
    "radiology",
    "surgery",
    "driving",
    "trajectory",
    "manipulation",
    "grasping",
    "locomotion",
    "humanoid",
    "drone",
    "game",
    "chess",
    "poker",
    "theorem",
    "proof",
    "lean",
    "compiler",
    "kernel",
    "hardware",
    "energy",
    "latency",
    "throughput",
    "memory",
    "cache",
    "routing",
]
ACRONYMS = [
    "LLM",
    "LLMs",
    "VLM",
    "MLLM",
    "RAG",
    "RL",
    "RLHF",
    "DPO",
    "PPO",
    "GRPO",
    "MoE",
    "LoRA",
    "ViT",
    "GAN",
    "VAE",
    "NeRF",
    "CLIP",
    "SAM",
    "OCR",
    "ASR",
    "TTS",
    "KV",
    "SFT",
    "CoT",
    "GUI",
    "SLAM",
    "LiDAR",
    "GNN",
    "MCTS",
]
PHRASES = [
    "large language model", "chain of thought", "world model", "reinforcement learning",
    "mixture of experts", "in-context learning", "speech recognition", "text to image",
    "video generation", "image editing", "code generation", "mathematical reasoning",
    "knowledge distillation", "test-time scaling", "long context", "diffusion model",
    "vision language model", "state space model", "flow matching", "reward model",
    "preference optimization", "multi-agent", "embodied AI", "autonomous driving",
    "visual question answering", "neural rendering", "3D reconstruction", "speculative decoding",
]  # fmt: skip
HYPHENATED = [
    "self-supervised",
    "multi-modal",
    "text-to-image",
    "vision-language",
    "text-to-speech",
    "image-to-video",
    "zero-shot",
    "few-shot",
    "open-source",
    "long-context",
    "fine-tuning",
    "pre-training",
    "low-rank",
    "real-time",
    "chain-of-thought",
    "mixture-of-experts",
    "in-context",
]


def load_papers(n: int) -> tuple[list[Paper], list[str], str]:
    """Return the `n` most recent distinct real papers, all author names seen, and the source."""
    paths = sorted(glob.glob(DATA), reverse=True)
    papers: dict[str, Paper] = {}
    authors: set[str] = set()
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            for item in json.load(fh):
                raw = item["paper"]
                names = tuple(a["name"] for a in raw.get("authors", []) if not a.get("hidden"))
                authors.update(names)
                if len(papers) < n and raw["id"] not in papers:
                    papers[raw["id"]] = Paper(
                        id=raw["id"],
                        title=normalize_space(raw["title"]),
                        abstract=raw.get("summary", ""),
                        authors=names,
                        upvotes=raw.get("upvotes", 0),
                        ai_keywords=tuple(raw.get("ai_keywords", ())),
                    )
    if len(papers) >= n:
        return list(papers.values()), sorted(authors), f"{len(paths)} real days in {DATA}"
    return generated_papers(n), ["Yann LeCun", "Ana Silva", "Wei Zhang"], "generated corpus"


def generated_papers(n: int) -> list[Paper]:
    """Build `n` papers from the term lists when the real data is absent."""
    rng = random.Random(SEED)
    pool = TOPICS + ACRONYMS + PHRASES + HYPHENATED + ["the", "of", "a", "we", "model", "with"]
    return [
        Paper(
            id=f"gen-{i}",
            title=" ".join(rng.choices(pool, k=8)),
            abstract=". ".join(" ".join(rng.choices(pool, k=14)) for _ in range(10)),
            authors=tuple(rng.choice(["Yann LeCun", "Ana Silva", "Wei Zhang"]) for _ in range(3)),
            upvotes=rng.randint(0, 60),
            ai_keywords=tuple(rng.choices(pool, k=6)),
        )
        for i in range(n)
    ]


class QueryMaker:
    """Draw realistic subscription texts."""

    def __init__(self, papers: list[Paper], authors: list[str], rng: random.Random) -> None:
        self.rng = rng
        words = {w.lower() for p in papers for w in p.title.split() if w.isalpha() and len(w) > 5}
        self.tail = sorted(words)
        self.authors = authors

    def typo(self, word: str) -> str:
        i = self.rng.randrange(1, len(word) - 1)
        return (
            word[:i] + word[i + 1] + word[i] + word[i + 2 :]
            if self.rng.random() < 0.5
            else (word[:i] + word[i + 1 :])
        )

    def term(self) -> str:
        r = self.rng.random()
        if r < 0.33:
            return self.rng.choice(TOPICS[: int(len(TOPICS) * self.rng.random()) + 1])
        if r < 0.48:
            return self.rng.choice(ACRONYMS)
        if r < 0.63:
            phrase = self.rng.choice(PHRASES)
            return f'"{phrase}"' if self.rng.random() < 0.7 else phrase
        if r < 0.73:
            return self.rng.choice(HYPHENATED)
        if r < 0.95:
            return self.rng.choice(self.tail)
        return self.typo(self.rng.choice([t for t in TOPICS if len(t) >= 6]))

    def author(self) -> str:
        parts = self.rng.choice(self.authors).split()
        form = self.rng.random()
        if form < 0.4 or len(parts) < 2:
            return f"author:{parts[-1]}" if parts[-1].isalpha() else f'author:"{parts[-1]}"'
        if form < 0.7:
            return f'author:"{" ".join(parts)}"'
        return f'author:"{parts[0][0]}. {parts[-1]}"'

    def query(self) -> str:
        t, r = self.term, self.rng.random()
        if r < 0.28:
            return t()
        if r < 0.43:
            return f"{t()} {t()}"
        if r < 0.57:
            return " OR ".join(t() for _ in range(self.rng.randint(2, 3)))
        if r < 0.65:
            return f"({t()} OR {t()}) {t()}"
        if r < 0.73:
            return f"{t()} -{t()}" if self.rng.random() < 0.5 else f"{t()} NOT {t()}"
        if r < 0.83:
            field = self.rng.choice(["title", "keyword", "abstract"])
            return f"{field}:{t()}" + (f" {t()}" if self.rng.random() < 0.3 else "")
        if r < 0.93:
            return self.author() + (f" OR {self.author()}" if self.rng.random() < 0.2 else "")
        if r < 0.98:
            return f"{t()} upvotes>={self.rng.choice([5, 10, 20, 50])}"
        return f"({t()} OR {t()}) ({t()} OR {t()}) -{t()} upvotes>=3"


class NaiveField:
    """One field of one paper, pre-indexed the way a careful per-pair loop would."""

    def __init__(self, strings: tuple[str, ...]) -> None:
        self.segments = [[t.stem for t in seg] for s in strings for seg in tokenize(s)]
        self.words = {w for seg in self.segments for w in seg}
        self.alpha = sorted(w for w in self.words if w.isalpha())
        self.joined = {
            "".join(seg[i : i + m])
            for seg in self.segments
            for i in range(len(seg))
            for m in range(1, MAX_CONCAT + 1)
            if i + m <= len(seg)
        }


class NaivePaper:
    """A paper tokenised and indexed once; each (query, paper) pair is then evaluated alone."""

    def __init__(self, paper: Paper) -> None:
        self.id = paper.id
        self.upvotes = paper.upvotes
        self.fields = {name: NaiveField(s) for name, s in field_texts(paper).items()}
        self.authors = [n for a in paper.authors if (n := parse_name(a)) is not None]


def naive_fields(leaf: object, paper: NaivePaper) -> list[str]:
    """Return the fields where one leaf holds in one paper."""
    if isinstance(leaf, Author):
        return ["author"] if any(same_person(leaf.name, a) for a in paper.authors) else []
    if not isinstance(leaf, Text):
        return ["upvotes"] if leaf.test(paper.upvotes) else []  # type: ignore[attr-defined]
    names = TEXT_FIELDS if leaf.field == "any" else (leaf.field,)
    return [name for name in names if _in_field(leaf, paper.fields[name])]


def _in_field(leaf: Text, fx: NaiveField) -> bool:
    if leaf.key in fx.joined:  # the words, or up to 3 words run together
        return True
    allowed = []
    for q, fuzzy in zip(leaf.tokens, leaf.fuzzy, strict=True):
        near = {q}
        if fuzzy:
            found = process.extract(q, fx.alpha, scorer=OSA.distance, score_cutoff=1, limit=None)
            near |= {w for w, _, _ in found}
        if not near & fx.words:
            return False
        allowed.append(near)
    n = len(allowed)
    return any(
        all(seg[i + k] in allowed[k] for k in range(n))
        for seg in fx.segments
        for i in range(len(seg) - n + 1)
    )


def naive_eval(node: Node, paper: NaivePaper) -> bool:
    """Evaluate a query tree on one paper."""
    if isinstance(node, Not):
        return not naive_eval(node.child, paper)
    if isinstance(node, And):
        return all(naive_eval(c, paper) for c in node.children)
    if isinstance(node, Or):
        return any(naive_eval(c, paper) for c in node.children)
    return bool(naive_fields(node, paper))


def naive_loop(subs: list[tuple[int, Query]], papers: list[NaivePaper]) -> dict[int, list[Match]]:
    """Match every pair, building the same reasons as the engine."""
    out: dict[int, list[Match]] = {}
    for sub_id, query in subs:
        positives = sorted({str(x): x for x, neg in iter_leaves(query.root) if not neg}.items())
        found = []
        for paper in papers:
            if naive_eval(query.root, paper):
                reasons = tuple(
                    Reason(term, f) for term, leaf in positives for f in naive_fields(leaf, paper)
                )
                found.append(Match(paper.id, reasons))
        if found:
            out[sub_id] = found
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subscriptions", type=int, default=100_000)
    ap.add_argument("--papers", type=int, default=1_000)
    ap.add_argument("--sample", type=int, default=400, help="subscriptions in the naive run")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    papers, authors, source = load_papers(args.papers)
    rng = random.Random(SEED)
    maker = QueryMaker(papers, authors, rng)
    texts = [maker.query() for _ in range(args.subscriptions)]
    t0 = time.perf_counter()
    subs: list[tuple[int, Query]] = []
    for i, text in enumerate(texts):
        try:
            subs.append((i, parse_query(text)))
        except QueryError as exc:
            print(f"skipped {text!r}: {exc}")
    parse_s = time.perf_counter() - t0
    distinct = len({str(q) for _, q in subs})
    leaves = {leaf for _, q in subs for leaf, _ in iter_leaves(q.root)}
    print(f"papers: {len(papers)} from {source}")
    print(f"subscriptions: {len(subs)} ({distinct} distinct queries, {len(leaves)} distinct terms)")
    print(f"parse:   {parse_s:.2f} s for all subscriptions (done once, at subscribe time)")

    t0 = time.perf_counter()
    engine = MatchEngine(subs)
    compile_s = time.perf_counter() - t0
    print(f"compile: {compile_s:.2f} s (once, reused for every batch)")
    runs, result = [], {}
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        result = engine.match_batch(papers)
        runs.append(time.perf_counter() - t0)
    match_s = statistics.median(runs)
    pairs = sum(len(v) for v in result.values())
    print(
        f"match:   {match_s:.2f} s median of {args.repeat} ({', '.join(f'{r:.2f}' for r in runs)})"
        f"; {len(result)} subscriptions matched, {pairs} (subscription, paper) matches"
    )
    t0 = time.perf_counter()
    firsts = sum(len(found[:10]) for found in result.values())
    first_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    built = sum(len(list(found)) for found in result.values())
    all_s = time.perf_counter() - t0
    print(
        f"read:    {first_s:.2f} s to build the first 10 matches (with reasons) of every "
        f"subscription ({firsts}); {all_s:.2f} s to build all {built}"
    )

    step = max(1, len(subs) // args.sample)
    sample = subs[::step][: args.sample]
    t0 = time.perf_counter()
    naive_papers = [NaivePaper(p) for p in papers]
    naive_prep = time.perf_counter() - t0
    t0 = time.perf_counter()
    expected = naive_loop(sample, naive_papers)
    naive_s = time.perf_counter() - t0
    scaled = naive_s * len(subs) / len(sample) + naive_prep
    print(
        f"naive:   {naive_s:.2f} s for {len(sample)} subscriptions x {len(papers)} papers "
        f"(+{naive_prep:.2f} s indexing papers); scaled to {len(subs)}: {scaled:.0f} s"
    )
    full_s = match_s + all_s
    print(
        f"speed-up: {scaled / match_s:.0f}x (match), {scaled / full_s:.0f}x (match + building "
        f"every match with reasons, {full_s:.2f} s)"
    )
    got = {sid: list(result[sid]) for sid, _ in sample if sid in result}
    same = got == expected
    print(f"identical results on the sample ({len(sample)} subscriptions, incl. reasons): {same}")

    tracemalloc.start()
    MatchEngine(subs)
    compile_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    engine.match_batch(papers)
    match_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"memory:  tracemalloc peak compile {compile_peak / 2**20:.0f} MiB, "
        f"match {match_peak / 2**20:.0f} MiB; process max RSS {rss:.0f} MiB"
    )
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
