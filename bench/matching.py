"""Benchmark the batch matching engine at several sizes against today's engine and a naive loop.

`python bench/matching.py --sizes 10000,100000,1000000 --baseline-ref b9c9fa8`

Papers: the 1,000 most recent distinct papers in --data DIR (bench/data.py)
(read at run time, never copied), or a generated corpus when that folder is absent.
Subscriptions (fixed seed): users share popular queries, Zipf-like (rank r drawn with
weight 1/r from a pool of popular queries), and the rest are drawn afresh, a long tail of
single words, acronyms, quoted phrases, hyphenated words, typos, long-tail words from the
real titles, OR groups, NOT, fields (title:, abstract:, keyword:, author: with real author
names) and upvotes>=N. Size N is the first N subscriptions of one stream.
Each distinct text is parsed once here and stored in its parsed form (`bot.query.stored`),
as a subscription is; each size then runs in a fresh child process (bench/matching_run.py)
per engine, so one size's heap never inflates the next one's peak RSS: it reads the N
stored forms, compiles, matches. "today" is the engine of --baseline-ref, extracted with
`git archive` into a temporary folder (never copied into the repository).
The naive loop evaluates every (subscription, paper) pair on papers tokenised and indexed
once up front (word set, run-together set, rapidfuzz for typos); it runs on an evenly
spread sample of subscriptions and is scaled to the full count.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import pickle
import random
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from array import array
from dataclasses import asdict, replace
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import OSA

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.data import add_data_option, data_dir, day_files, use_data
from bot.matching.engine import Match, Reason
from bot.papers import Artifacts, Paper, normalize_space
from bot.query import (
    Author,
    Claimed,
    Has,
    Node,
    Not,
    Or,
    Org,
    Query,
    QueryError,
    Stars,
    Text,
    parse_query,
)
from bot.query.ast import And, iter_leaves
from bot.query.facts import fact_hit
from bot.query.names import parse_name, same_person
from bot.query.stored import dump
from bot.query.text import MAX_CONCAT, TEXT_FIELDS, field_texts, tokenize
from bot.sources.huggingface import parse_daily_item

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
    paths = day_files()[::-1]
    papers: dict[str, Paper] = {}
    authors: set[str] = set()
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            for item in json.load(fh):
                raw = item["paper"]
                names = tuple(a["name"] for a in raw.get("authors", []) if not a.get("hidden"))
                authors.update(names)
                if len(papers) < n and raw["id"] not in papers:
                    # The paper facts (repo, stars, organisation, verified claims) as the
                    # HF client reads them, so has:/stars/org:/author:@ see real data.
                    facts = parse_daily_item(item, None)
                    papers[raw["id"]] = Paper(
                        id=raw["id"],
                        title=normalize_space(raw["title"]),
                        abstract=raw.get("summary", ""),
                        authors=names,
                        upvotes=raw.get("upvotes", 0),
                        ai_keywords=tuple(raw.get("ai_keywords", ())),
                        github_repo=facts.github_repo,
                        github_stars=facts.github_stars,
                        organization=facts.organization,
                        organization_handle=facts.organization_handle,
                        claimed=facts.claimed,
                    )
    if len(papers) >= n:
        return list(papers.values()), sorted(authors), f"{len(paths)} real days in {data_dir()}"
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
        self.orgs = sorted({p.organization_handle for p in papers if p.organization_handle})
        self.users = sorted({u for p in papers for _, u in p.claimed})
        self.facts = 0.0  # the share of queries that also test a paper fact (--facts)
        self.artifacts = False  # has:model/dataset/space among them (--artifacts)

    def fact(self) -> str:
        r = self.rng.random()
        if r < 0.3 or not (self.orgs and self.users):
            if self.artifacts and self.rng.random() < 0.75:
                return f"has:{self.rng.choice(['model', 'dataset', 'space'])}"
            return "has:code"
        if r < 0.55:
            return f"stars>={self.rng.choice([10, 50, 100, 500, 1000])}"
        if r < 0.8:
            return f"org:{self.rng.choice(self.orgs)}"
        return f"author:@{self.rng.choice(self.users)}"

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
        text = self.plain_query()
        if self.facts and self.rng.random() < self.facts:
            # Alone (following a lab or a person) or narrowing a topic, half and half.
            return self.fact() if self.rng.random() < 0.5 else f"{text} {self.fact()}"
        return text

    def plain_query(self) -> str:
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
        self.paper = paper  # for the paper facts
        self.upvotes = paper.upvotes
        self.fields = {name: NaiveField(s) for name, s in field_texts(paper).items()}
        self.authors = [n for a in paper.authors if (n := parse_name(a)) is not None]


def naive_fields(leaf: object, paper: NaivePaper) -> list[str]:
    """Return the fields where one leaf holds in one paper."""
    if isinstance(leaf, Author):
        return ["author"] if any(same_person(leaf.name, a) for a in paper.authors) else []
    if isinstance(leaf, Stars | Has | Org | Claimed):
        hit = fact_hit(leaf, paper.paper)
        return [hit[0]] if hit else []
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


POPULAR = 20_000  # queries many users share
SHARED = 0.6  # of subscriptions pick a popular query; the rest are drawn afresh
REPO = Path(__file__).resolve().parent.parent


def subscription_texts(n: int, maker: QueryMaker, rng: random.Random) -> list[str]:
    """Draw `n` subscription texts: Zipf-like reuse of popular queries, plus a long tail."""
    popular = [maker.query() for _ in range(POPULAR)]
    weights = list(itertools.accumulate(1 / r for r in range(1, POPULAR + 1)))
    out: list[str] = []
    for _ in range(n):
        if rng.random() < SHARED:
            out.append(rng.choices(popular, cum_weights=weights)[0])
        else:
            out.append(maker.query())
    return out


def extract_tree(ref: str, into: str) -> str | None:
    """Extract `bot/` at git commit `ref` into `into`; say why not and return None if it fails."""
    try:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", ref, "bot"], capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        err = getattr(exc, "stderr", b"") or b""
        print(f"today's engine skipped: cannot extract {ref} ({err.decode().strip() or exc})")
        return None
    Path(into).mkdir(parents=True)
    path = Path(into).with_suffix(".tar")
    path.write_bytes(archive)
    with tarfile.open(path) as tar:
        tar.extractall(into, filter="data")
    return into


def run_child(
    workload: str, size: int, repeat: int, tree: str | None, mode: str = "today"
) -> dict[str, object]:
    """Run one size in a fresh process (today's engine when `tree` is given, read the way
    `mode` says: "today" one Query per subscription, "new" through QueryCache)."""
    cmd = [sys.executable, str(REPO / "bench" / "matching_run.py"), "--workload", workload]
    cmd += ["--size", str(size), "--repeat", str(repeat)]
    if tree is not None:
        cmd += ["--tree", tree, "--mode", mode]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"child failed ({' '.join(cmd)}):\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def as_lists(found: dict[int, list[Match]]) -> list[list[object]]:
    """The naive results in the form a child prints its sample in."""
    return [
        [sid, [[m.paper_id, [[r.term, r.field] for r in m.reasons]] for m in ms]]
        for sid, ms in sorted(found.items())
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--papers", type=int, default=1_000)
    ap.add_argument("--sample", type=int, default=300, help="subscriptions in the naive run")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--baseline-ref", default="b9c9fa8", help="git commit of today's engine")
    ap.add_argument(
        "--workload", help="keep the generated workload in this file, reuse it if there"
    )
    ap.add_argument(
        "--facts",
        type=float,
        default=0.0,
        help="share of queries that also test has:code, stars>=N, org: or author:@ (0-1); "
        "today's engine cannot read those, so give --baseline-ref none with it",
    )
    ap.add_argument(
        "--artifacts",
        action="store_true",
        help="papers get linked models/datasets/Spaces (seeded: real files have none) and "
        "3 in 4 has: facts become has:model/dataset/space; today's engine runs the same "
        "queries with has:code in their place, as the baseline of the same run",
    )
    add_data_option(ap)
    args = ap.parse_args()
    use_data(args)
    sizes = sorted(int(s) for s in args.sizes.split(","))

    papers, authors, source = load_papers(args.papers)
    if args.artifacts:
        papers = with_artifacts(papers)
    rng = random.Random(SEED)
    maker = QueryMaker(papers, authors, rng)
    maker.facts = args.facts
    maker.artifacts = args.artifacts
    texts = subscription_texts(sizes[-1], maker, rng)
    # Today's engine cannot read has:model: it runs the same queries with has:code instead.
    twin_texts = [ARTIFACT_HAS.sub("has:code", t) for t in texts] if args.artifacts else None
    distinct_texts = sorted(set(texts))
    t0 = time.perf_counter()
    parsed: dict[str, Query | None] = {}
    for text in distinct_texts:
        try:
            parsed[text] = parse_query(text)
        except QueryError:
            parsed[text] = None
    parse_s = time.perf_counter() - t0
    number = {t: i for i, t in enumerate(distinct_texts)}
    samples = {n: list(range(0, n, max(1, n // args.sample)))[: args.sample] for n in sizes}
    skipped = sum(q is None for q in parsed.values())
    print(f"papers: {len(papers)} from {source}")
    print(
        f"parse: {len(distinct_texts)} distinct texts of {len(texts)} subscriptions parsed once "
        f"each in {parse_s:.1f} s ({parse_s / len(distinct_texts) * 1e6:.0f} us a query; "
        f"{skipped} do not parse); parsing every subscription would take "
        f"~{parse_s / len(distinct_texts) * len(texts):.0f} s"
    )
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    naive_papers = [NaivePaper(p) for p in papers]
    with tempfile.TemporaryDirectory(prefix="bench-matching-") as tmp:
        workload = args.workload or str(Path(tmp) / "workload.pickle")
        twin = None
        if twin_texts is not None:
            twin = str(Path(tmp) / "twin.pickle")
            write_workload(
                twin, papers, twin_texts, sorted({i for s in samples.values() for i in s})
            )
        if not Path(workload).exists():
            work = {
                "papers": [asdict(p) for p in papers],
                "texts": distinct_texts,
                "canonical": [q.canonical if (q := parsed[t]) else "" for t in distinct_texts],
                # As the database holds them: JSON text, decoded row by row by the child.
                "stored": [
                    json.dumps(dump(q)) if (q := parsed[t]) else "null" for t in distinct_texts
                ],
                "subscriptions": array("I", [number[t] for t in texts]),
                "sample": sorted({i for s in samples.values() for i in s}),
            }
            with open(workload, "wb") as fh:
                pickle.dump(work, fh, protocol=pickle.HIGHEST_PROTOCOL)
            del work
        tree = extract_tree(args.baseline_ref, str(Path(tmp) / "today"))
        rows: list[tuple[object, ...]] = []
        for n in sizes:
            new = run_child(workload, n, args.repeat, None)
            if twin is not None:
                # Same run, same shape of queries: has:code where the new fields are.
                # Read as the sweep reads (QueryCache) when that tree has it, as this one does:
                # the same path on both sides, so only the engines differ.
                cached = tree and (Path(tree) / "bot" / "delivery" / "compiled.py").exists()
                mode = "new" if cached else "today"
                today = run_child(twin, n, args.repeat, tree, mode) if tree else None
                new_twin = run_child(twin, n, args.repeat, None)
                print_artifact_row(n, new, new_twin, today)
                same = today is None or (
                    today["digest"] == new_twin["digest"] and today["sample"] == new_twin["sample"]
                )
                sample = [(i, q) for i in samples[n] if (q := parsed[texts[i]]) is not None]
                mine = [m for m in new["sample"] if m[0] in set(samples[n])]  # type: ignore[attr-defined]
                same_naive = mine == as_lists(naive_loop(sample, naive_papers))
                print(f"naive sample identical (reasons included): {same_naive}")
                rows.append((n, len(set(texts[:n])), new, None, 0.0, same_naive, same))
                continue
            today = run_child(workload, n, args.repeat, tree) if tree else None
            sample = [(i, q) for i in samples[n] if (q := parsed[texts[i]]) is not None]
            t0 = time.perf_counter()
            expected = naive_loop(sample, naive_papers)
            naive_s = (time.perf_counter() - t0) * n / len(sample)
            mine = [m for m in new["sample"] if m[0] in set(samples[n])]  # type: ignore[attr-defined]
            same_naive = mine == as_lists(expected)
            same_today = today is None or today["digest"] == new["digest"]
            if today is not None:
                same_today = same_today and today["sample"] == new["sample"]
            rows.append((n, len(set(texts[:n])), new, today, naive_s, same_naive, same_today))
            print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} after {n}")
    if twin is None:
        report(rows, args, bool(tree))
    else:
        print("identical to today's engine on the has:code twin:", all(r[6] for r in rows))
    if not all(r[5] and r[6] for r in rows):
        sys.exit(1)


ARTIFACT_HAS = re.compile(r"has:(?:model|dataset|space)\b")


def with_artifacts(papers: list[Paper]) -> list[Paper]:
    """`papers` with seeded linked-repo counts: a paper with code is likelier to have some."""
    rng = random.Random(SEED + 15)
    out = []
    for p in papers:
        odds = 0.5 if p.github_repo else 0.15
        models = rng.randint(1, 12) if rng.random() < odds else 0
        datasets = rng.randint(1, 3) if rng.random() < odds / 2 else 0
        spaces = rng.randint(1, 4) if rng.random() < odds / 2 else 0
        out.append(replace(p, artifacts=Artifacts(models, datasets, spaces)))
    return out


def write_workload(path: str, papers: list[Paper], texts: list[str], sample: list[int]) -> None:
    """A workload file like main()'s, for other subscription texts over the same papers."""
    distinct = sorted(set(texts))
    number = {t: i for i, t in enumerate(distinct)}
    parsed = {t: _parsed(t) for t in distinct}
    work = {
        "papers": [asdict(p) for p in papers],
        "texts": distinct,
        "canonical": [q.canonical if (q := parsed[t]) else "" for t in distinct],
        "stored": [json.dumps(dump(q)) if (q := parsed[t]) else "null" for t in distinct],
        "subscriptions": array("I", [number[t] for t in texts]),
        "sample": sample,
    }
    with open(path, "wb") as fh:
        pickle.dump(work, fh, protocol=pickle.HIGHEST_PROTOCOL)


def _parsed(text: str) -> Query | None:
    try:
        return parse_query(text)
    except QueryError:
        return None


def print_artifact_row(
    n: int, new: dict[str, object], twin: dict[str, object], today: dict[str, object] | None
) -> None:
    """One size of --artifacts: the new fields on the new engine beside today's baseline."""

    def cm(r: dict[str, object]) -> float:
        return float(r["compile_s"]) + float(r["match_s"])  # type: ignore[arg-type]

    def cpu(r: dict[str, object]) -> float:
        return float(r["compile_cpu"]) + float(r["match_cpu"])  # type: ignore[arg-type]

    def peak(r: dict[str, object]) -> float:
        return float(r["peak_mib"])  # type: ignore[arg-type]

    line = (
        f"{n:,} subscriptions, compile+match wall / CPU s: new fields on the new engine "
        f"{cm(new):.2f} / {cpu(new):.2f} (peak {peak(new):.0f} MiB, {new['pairs']:,} pairs); "
        f"has:code twin on the new engine {cm(twin):.2f} / {cpu(twin):.2f}"
    )
    if today is not None:
        line += (
            f"; has:code twin on today's engine {cm(today):.2f} / {cpu(today):.2f} "
            f"(peak {peak(today):.0f} MiB); new fields / today: wall {cm(new) / cm(today):.2f}x, "
            f"CPU {cpu(new) / cpu(today):.2f}x"
        )
    print(line, flush=True)


def report(rows: list[tuple], args: argparse.Namespace, with_today: bool) -> None:  # type: ignore[type-arg]
    """Print the sizes side by side."""
    print()
    print(
        f"{'subscriptions':>13} {'distinct':>8} {'engine':>6} {'decode s':>8} {'load s':>6} "
        f"{'compile s':>9} {'match s':>7} {'c+m s':>6} {'CPU: compile':>12} {'match':>5} "
        f"{'peak RSS MiB':>12} {'input MiB':>9}"
    )
    for n, distinct, new, today, naive_s, _, _ in rows:
        for name, r in (("new", new), ("today", today)):
            if r is None:
                continue
            cm = r["compile_s"] + r["match_s"]
            print(
                f"{n:>13,} {distinct:>8,} {name:>6} {r['decode_s']:>8.2f} {r['load_s']:>6.2f} "
                f"{r['compile_s']:>9.2f} {r['match_s']:>7.2f} {cm:>6.2f} "
                f"{r['compile_cpu']:>12.2f} {r['match_cpu']:>5.2f} "
                f"{r['peak_mib']:>12.0f} {r['rss_before_mib']:>9.0f}"
            )
        print(
            f"{n:>13,} {distinct:>8,} {'naive':>6} {'':>8} {'':>6} {'':>9} {naive_s:>7.0f} (scaled)"
        )
    print("(decode: JSON of the stored forms, the database driver's work; load: stored forms to")
    print(" queries; c+m: compile + match, wall; CPU: this process's CPU seconds, which other")
    print(" processes on the shared cores inflate much less than wall time; match: median)")
    print()
    for n, _, new, today, naive_s, same_naive, same_today in rows:
        speed = naive_s / new["match_s"]
        line = (
            f"{n:,}: {new['distinct_compiled']:,} distinct compiled queries; "
            f"{new['matched']:,} subscriptions matched, {new['pairs']:,} (subscription, paper) "
            f"pairs; reading every subscription's paper ids {new['ids_s']:.2f} s; "
            f"match {speed:,.0f}x the naive loop; naive sample identical (reasons "
            f"included): {same_naive}"
        )
        if today is not None:
            line += (
                f"; identical to today's engine (all paper ids, sample reasons): {same_today}; "
                f"compile+match {today['compile_s'] + today['match_s']:.2f} s -> "
                f"{new['compile_s'] + new['match_s']:.2f} s, peak {today['peak_mib']:.0f} -> "
                f"{new['peak_mib']:.0f} MiB"
            )
        print(line)
    if not with_today:
        print(f"(today's engine at {args.baseline_ref} not run: see above)")


if __name__ == "__main__":
    main()
