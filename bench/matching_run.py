"""One size of `bench/matching.py`, in a fresh process so its peak RSS is its own.

Run by bench/matching.py, not by hand: `python bench/matching_run.py --workload W --size N
[--tree DIR] [--mode new|today]`. With --tree, `bot` is imported from DIR (today's engine,
extracted by `git archive`), else from this repository. Reads the workload the parent
wrote (papers, distinct query texts with their stored parsed forms, and which text each
subscription has), then times: reading the N subscriptions' stored parsed forms, compiling,
matching; the peak RSS is read right after matching, before any result is checked. Prints
one JSON line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def rss_mib(field: str) -> float:
    """Return VmRSS or VmHWM (peak) of this process, in MiB."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workload", required=True)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--tree", default=str(REPO))
    ap.add_argument("--mode", choices=["new", "today"], default="new")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    sys.path.insert(0, args.tree)
    import bot  # from the chosen tree, so only after sys.path is set
    from bot.matching.engine import MatchEngine
    from bot.papers import Paper

    assert Path(bot.__file__).resolve().is_relative_to(Path(args.tree).resolve()), bot.__file__
    with open(args.workload, "rb") as fh:
        work: dict[str, Any] = pickle.load(fh)
    # Only the fields this tree's Paper has: an older engine predates the paper facts.
    known = set(Paper.__dataclass_fields__)
    papers = [Paper(**{k: v for k, v in p.items() if k in known}) for p in work["papers"]]
    if "artifacts" in known:
        # Pickled as plain dicts (dataclasses.asdict): rebuilt as the repository reads them.
        from bot.papers import Artifacts

        papers = [
            replace(p, artifacts=Artifacts(a["models"], a["datasets"], a["spaces"]))
            if isinstance(a := p.artifacts, dict)
            else p
            for p in papers
        ]
    texts, canon, stored = work["texts"], work["canonical"], work["stored"]
    which = work["subscriptions"][: args.size]
    rss_before = rss_mib("VmRSS")

    # The rows a sweep reads: (id, text, stored parsed form, canonical), one per subscription,
    # the stored form decoded from JSON row by row as the database driver does (timed apart).
    decode_s = 0.0
    clock = time.perf_counter
    t0, c0 = clock(), time.process_time()
    subs: list[tuple[int, Any]] = []
    if args.mode == "today":
        # Today: every subscription's stored form read into its own Query.
        from bot.services.queries import read_query

        for sid, t in enumerate(which):
            d0 = clock()
            form = json.loads(stored[t])
            decode_s += clock() - d0
            q = read_query(texts[t], form, canon[t])
            if not isinstance(q, Exception):
                subs.append((sid, q))
    else:
        from bot.delivery.compiled import QueryCache

        cache = QueryCache()  # what the sweep reads through: each distinct text once
        for sid, t in enumerate(which):
            d0 = clock()
            form = json.loads(stored[t])
            decode_s += clock() - d0
            q = cache.get(texts[t], form, canon[t])
            if q is not None:
                subs.append((sid, q))
    load_s = clock() - t0 - decode_s
    load_cpu = time.process_time() - c0

    t0, c0 = clock(), time.process_time()
    engine = MatchEngine(subs)
    compile_s, compile_cpu = clock() - t0, time.process_time() - c0
    del subs
    runs: list[float] = []
    cpus: list[float] = []
    result: dict[int, Any] = {}
    for _ in range(args.repeat):
        result = {}  # drop the last run's results first: they would double the peak
        t0, c0 = clock(), time.process_time()
        result = engine.match_batch(papers)
        runs.append(clock() - t0)
        cpus.append(time.process_time() - c0)
    peak = rss_mib("VmHWM")

    # Checked after the peak was read: a digest of every subscription's paper ids, and the
    # full matches (reasons included) of the sample the parent checks against the naive loop.
    t0 = time.perf_counter()
    digest = hashlib.sha256()
    joined: dict[int, str] = {}
    pairs = 0
    for sid, found in result.items():
        key = id(found)
        if key not in joined:
            joined[key] = ",".join(found.paper_ids)
        pairs += len(found)
        digest.update(f"{sid}:{joined[key]};".encode())
    ids_s = time.perf_counter() - t0
    sample = [
        [sid, [[m.paper_id, [[r.term, r.field] for r in m.reasons]] for m in result[sid]]]
        for sid in work["sample"]
        if sid < args.size and sid in result
    ]
    distinct = getattr(engine, "distinct_queries", None)
    out = {
        "decode_s": decode_s,
        "load_s": load_s,
        "load_cpu": load_cpu,
        "compile_s": compile_s,
        "compile_cpu": compile_cpu,
        "match_s": statistics.median(runs),
        "match_cpu": statistics.median(cpus),
        "runs": runs,
        "ids_s": ids_s,
        "rss_before_mib": rss_before,
        "peak_mib": peak,
        "subscriptions": len(engine),
        "distinct_compiled": distinct,
        "matched": len(result),
        "pairs": pairs,
        "digest": digest.hexdigest(),
        "sample": sample,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
