"""Benchmark the title look-up against a naive rapidfuzz baseline: `python bench/lookup.py`.

Titles: every title in --data DIR (bench/data.py) (read at run time, never
copied), padded with generated titles to 10,000 and to 100,000. Generated titles come from a
word-bigram chain over the real titles, half of them behind an invented "Name:" head, and
never repeat a real title, subtitle or name, so they act as realistic distractors. Queries
(fixed seed) target real titles only and are reported per kind of noise.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import sys
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from rapidfuzz import fuzz, process, utils

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.data import add_data_option, need_days, use_data
from bot.lookup import LookupResult, TitleIndex
from bot.lookup.text import fold_title, title_forms

SEED = 20261130
SYLLABLES = ("ka", "lo", "ri", "ven", "tor", "mi", "sa", "qu", "el", "dra", "phi", "zen", "vo")
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def real_titles() -> dict[str, str]:
    """Read every (id, title) from the stored daily-papers days."""
    titles: dict[str, str] = {}
    for path in need_days():
        for item in json.loads(path.read_text()):
            paper = item["paper"]
            titles[paper["id"]] = " ".join(paper["title"].split())
    return titles


def generated_titles(real: list[str], count: int, rng: random.Random) -> list[str]:
    """Make `count` new titles from a word-bigram chain over `real` (see module docstring)."""
    chain: dict[str, list[str]] = defaultdict(list)
    bodies = [t.partition(":")[2].strip() or t for t in real]
    for body in bodies:
        words = ["<s>", *body.split(), "</s>"]
        for a, b in itertools.pairwise(words):
            chain[a].append(b)
    # Neither a whole title nor a head, subtitle or name may repeat one seen before.
    taken = {p for t in real for p in _parts(t)}
    out: list[str] = []
    while len(out) < count:
        words: list[str] = []
        word = rng.choice(chain["<s>"])
        while word != "</s>" and len(words) < 18:
            words.append(word)
            word = rng.choice(chain[word])
        if len(words) < 5:
            continue
        title = " ".join(words)
        if rng.random() < 0.5:
            title = f"{_invented_name(rng)}: {title}"
        parts = _parts(title)
        if parts & taken:
            continue
        taken |= parts
        out.append(title)
    return out


def _parts(title: str) -> set[str]:
    forms = title_forms(title)
    return {p for p in (forms.full, forms.head, forms.tail, forms.name) if p}


def _invented_name(rng: random.Random) -> str:
    name = "".join(rng.choice(SYLLABLES).capitalize() for _ in range(rng.randint(2, 3)))
    return name + rng.choice(["", "", "3D", "-V2", "2", "-R1", "X", "GPT"])


def typo(text: str, rng: random.Random, n: int) -> str:
    """Apply `n` random letter edits (substitute, drop, insert, swap neighbours)."""
    chars = list(text)
    for _ in range(n):
        spots = [i for i, ch in enumerate(chars) if ch.isalpha()]
        i = rng.choice(spots)
        kind = rng.choice("sdit")
        if kind == "s":
            chars[i] = rng.choice(LETTERS)
        elif kind == "d" and len(spots) > 4:
            del chars[i]
        elif kind == "i":
            chars.insert(i, rng.choice(LETTERS))
        elif i + 1 < len(chars):
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


def maybe_lower(text: str, rng: random.Random) -> str:
    return text.lower() if rng.random() < 0.5 else text


def make_queries(
    targets: list[tuple[str, str]], pool: list[str], per_kind: int, rng: random.Random
) -> tuple[dict[str, list[tuple[str, str]]], dict[str, int]]:
    """Return (query, paper id) pairs for each kind of noise, and the ambiguous ones skipped."""
    parts_count: dict[str, int] = defaultdict(int)
    for title in pool:
        for part in _parts(title):
            parts_count[part] += 1
    kinds: dict[str, list[tuple[str, str]]] = defaultdict(list)
    skipped: dict[str, int] = defaultdict(int)
    order = targets[:]
    rng.shuffle(order)
    for paper_id, title in order:
        words = title.split()
        forms = title_forms(title)
        if len(kinds["typo"]) < per_kind:
            kinds["typo"].append((maybe_lower(typo(title, rng, rng.randint(1, 2)), rng), paper_id))
        if len(words) >= 5 and len(kinds["dropped words"]) < per_kind:
            keep = words[:]
            for _ in range(rng.randint(1, 2)):
                keep.pop(rng.randrange(len(keep)))
            kinds["dropped words"].append((maybe_lower(" ".join(keep), rng), paper_id))
        if len(words) >= 4 and len(kinds["word order"]) < per_kind:
            moved = words[:]
            i, j = rng.sample(range(len(moved)), 2)
            moved[i], moved[j] = moved[j], moved[i]
            kinds["word order"].append((" ".join(moved), paper_id))
        if len(words) >= 6 and len(kinds["first words, lower"]) < per_kind:
            n = max(4, round(len(words) * rng.uniform(0.5, 0.8)))
            kinds["first words, lower"].append((" ".join(words[:n]).lower(), paper_id))
        # A subtitle or name shared by two titles ("A Survey", "ATLAS") has no one answer.
        tail = title.partition(":")[2].strip()
        unique_tail = tail and parts_count[forms.tail] == 1
        skipped["subtitles"] += bool(tail) and not unique_tail
        if unique_tail and len(tail.split()) >= 3 and len(kinds["subtitle only"]) < per_kind:
            kinds["subtitle only"].append((tail, paper_id))
        short = title.partition(":")[0] if forms.head else title.split()[0]
        short_fold = forms.head or forms.name
        skipped["names"] += bool(short_fold) and parts_count[short_fold] > 1
        if (
            short_fold
            and len(short.split()) == 1
            and len(short_fold) >= 3
            and parts_count[short_fold] == 1
            and len(kinds["name only"]) < per_kind
        ):
            kinds["name only"].append((maybe_lower(short, rng), paper_id))
    return dict(kinds), dict(skipped)


def ambiguous_queries(
    entries: list[tuple[str, str]], per_kind: int, rng: random.Random
) -> dict[str, list[tuple[str, frozenset[str]]]]:
    """Return queries that more than one title fits, each with every id it fits.

    `shared subtitle` / `shared name`: the part after or before ":" of real titles whose
    part another title has too ("A Survey", "ATLAS"); `shared opening`: the first four words
    of a real title that other titles start with too. No single card is right for these.
    """
    by_part: dict[tuple[str, str], set[str]] = defaultdict(set)
    text_of: dict[tuple[str, str], str] = {}
    for paper_id, title in entries:
        forms = title_forms(title)
        before, _, after = title.partition(":")
        if forms.tail:
            by_part["tail", forms.tail].add(paper_id)
            text_of.setdefault(("tail", forms.tail), after.strip())
        if forms.head:
            by_part["head", forms.head].add(paper_id)
            text_of.setdefault(("head", forms.head), before.strip())
        words = title.split()
        if len(words) > 5:
            opening = fold_title(" ".join(words[:4]))
            by_part["opening", opening].add(paper_id)
            text_of.setdefault(("opening", opening), " ".join(words[:4]))
    real = {paper_id for paper_id, _ in entries if not paper_id.startswith("gen-")}
    names = {"tail": "shared subtitle", "head": "shared name", "opening": "shared opening"}
    kinds: dict[str, list[tuple[str, frozenset[str]]]] = defaultdict(list)
    keys = sorted(k for k, ids in by_part.items() if len(ids) > 1 and ids & real)
    rng.shuffle(keys)
    for key in keys:
        kind = names[key[0]]
        if len(kinds[kind]) < per_kind:
            kinds[kind].append((text_of[key], frozenset(by_part[key])))
    return dict(kinds)


def report_ambiguous(
    index: TitleIndex, entries: list[tuple[str, str]], per_kind: int, rng: random.Random
) -> None:
    """Print how the index answers queries more than one title fits: a short list, no card."""
    print(
        "\nqueries that more than one title fits: 'short list' = `lookup().best` is None and "
        "the first 5 hits hold a fitting title; 'all in list' = every fitting title is in the "
        "first 5 (only where at most 5 fit); 'shown alone' = one card (a guess)"
    )
    print(
        "| kind | n | titles fitting (median) | short list | all in list | shown alone | p95 ms |"
    )
    print("|---|---|---|---|---|---|---|")
    for kind, queries in ambiguous_queries(entries, per_kind, rng).items():
        listed = complete = few = alone = 0
        lat: list[float] = []
        for query, fits in queries:
            result, ms = timed(index.lookup, query)
            lat.append(ms)
            assert isinstance(result, LookupResult)
            top = {h.paper_id for h in result.hits[:5]}
            alone += result.best is not None
            listed += result.best is None and bool(top & fits)
            if len(fits) <= 5:
                few += 1
                complete += fits <= top
        n = len(queries)
        fitting = statistics.median(len(f) for _, f in queries)
        print(
            f"| {kind} | {n} | {fitting:.0f} | {100 * listed / n:.1f} % "
            f"| {100 * complete / max(few, 1):.1f} % of {few} | {100 * alone / n:.1f} % "
            f"| {pct(lat, 95):.1f} |"
        )


def gibberish(count: int, rng: random.Random) -> list[str]:
    """Return queries that name no paper ("nonsense query xyz" and made-up words)."""
    out = ["nonsense query xyz", "asdf qwerty", "zzzz", "lorem ipsum dolor sit amet"]
    while len(out) < count:
        words = [
            "".join(rng.choice(LETTERS) for _ in range(rng.randint(3, 8)))
            for _ in range(rng.randint(1, 4))
        ]
        out.append(" ".join(words))
    return out


def pct(values: list[float], q: int) -> float:
    """Return the q-th percentile of `values`."""
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def timed(fn: Callable[[str], object], query: str) -> tuple[object, float]:
    start = time.perf_counter()
    result = fn(query)
    return result, (time.perf_counter() - start) * 1000


def run_size(size: int, real: dict[str, str], extra: list[str], args: argparse.Namespace) -> None:
    rng = random.Random(SEED + size)
    entries = list(real.items()) + [(f"gen-{i}", t) for i, t in enumerate(extra)]
    entries = entries[:size]
    titles = [t for _, t in entries]
    start = time.perf_counter()
    index = TitleIndex.build(entries)
    build_s = time.perf_counter() - start
    tracemalloc.start()
    traced = TitleIndex.build(entries)
    mem_mb = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    del traced
    print(f"\n### {size:,} titles ({len(real):,} real + {size - len(real):,} generated)")
    print(f"build {build_s:.2f} s, index memory {mem_mb:.0f} MiB (tracemalloc)")
    kinds, skipped = make_queries(list(real.items()), titles, args.per_kind, rng)
    print(
        f"real titles whose subtitle / name is shared with another title, so never a target: "
        f"{skipped.get('subtitles', 0)} / {skipped.get('names', 0)}"
    )
    baseline_n = args.baseline_10k if size <= 10_000 else args.baseline_100k
    print(
        f"queries per kind: {args.per_kind} (index); baseline on the first {baseline_n} "
        "of each kind: process.extractOne(query, titles, scorer=fuzz.WRatio, "
        "processor=utils.default_process)"
    )
    print(
        "| kind | n | top-1 | shown alone (right / wrong) | p50 ms | p95 ms "
        "| baseline top-1 | baseline p50 ms | baseline p95 ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    all_lat: list[float] = []
    totals = [0, 0, 0, 0]
    for kind, queries in kinds.items():
        right = alone_right = alone_wrong = 0
        lat: list[float] = []
        for query, paper_id in queries:
            result, ms = timed(index.lookup, query)
            lat.append(ms)
            hit = bool(result.hits) and result.hits[0].paper_id == paper_id
            right += hit
            if args.misses and not hit:
                top = [(h.score, h.title) for h in result.hits[:3]]
                print(f"MISS {kind}: {query!r} -> {real[paper_id]!r}: {top}", file=sys.stderr)
            if result.best is not None:
                alone_right += result.best.paper_id == paper_id
                alone_wrong += result.best.paper_id != paper_id
        base_right, base_lat = 0, []
        for query, paper_id in queries[:baseline_n]:
            found, ms = timed(
                lambda q: process.extractOne(
                    q, titles, scorer=fuzz.WRatio, processor=utils.default_process
                ),
                query,
            )
            base_lat.append(ms)
            base_right += entries[found[2]][0] == paper_id  # type: ignore[index]
        n, bn = len(queries), len(base_lat)
        all_lat += lat
        totals = [totals[0] + right, totals[1] + n, totals[2] + base_right, totals[3] + bn]
        print(
            f"| {kind} | {n} | {100 * right / n:.1f} % "
            f"| {100 * alone_right / n:.1f} % / {100 * alone_wrong / n:.1f} % "
            f"| {statistics.median(lat):.1f} | {pct(lat, 95):.1f} "
            f"| {100 * base_right / bn:.1f} % | {statistics.median(base_lat):.0f} "
            f"| {pct(base_lat, 95):.0f} |"
        )
    print(
        f"| **all** | {totals[1]} | **{100 * totals[0] / totals[1]:.2f} %** | | "
        f"{statistics.median(all_lat):.1f} | **{pct(all_lat, 95):.1f}** "
        f"| {100 * totals[2] / totals[3]:.1f} % | | |"
    )
    junk = gibberish(args.per_kind, rng)
    any_hit = alone = 0
    junk_lat: list[float] = []
    for query in junk:
        result, ms = timed(index.lookup, query)
        junk_lat.append(ms)
        any_hit += bool(result.hits)
        alone += result.best is not None
        if args.misses and result.best is not None:
            print(f"SHOWN for junk {query!r}: {result.best}", file=sys.stderr)
    print(
        f"no-match queries ({len(junk)}, e.g. 'nonsense query xyz'): any hit "
        f"{100 * any_hit / len(junk):.1f} %, shown alone {100 * alone / len(junk):.1f} %, "
        f"p50 {statistics.median(junk_lat):.1f} ms, p95 {pct(junk_lat, 95):.1f} ms"
    )
    report_ambiguous(index, entries, args.per_kind, rng)
    # The ingest job replaces titles in place: time a remove and a re-add of real titles.
    start = time.perf_counter()
    updated = list(real.items())[:500]
    for paper_id, title in updated:
        index.remove(paper_id)
        index.add(paper_id, title)
    per_update = (time.perf_counter() - start) * 1000 / len(updated)
    print(f"update (remove + add one title): {per_update:.2f} ms each")


def main() -> None:
    """Run the benchmark at each size and print Markdown for bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--per-kind", type=int, default=500)
    parser.add_argument("--baseline-10k", type=int, default=100)
    parser.add_argument("--baseline-100k", type=int, default=30)
    parser.add_argument("--misses", action="store_true", help="print each wrong top-1")
    add_data_option(parser)
    args = parser.parse_args()
    use_data(args)
    real = real_titles()
    rng = random.Random(SEED)
    need = max(args.sizes) - len(real)
    start = time.perf_counter()
    extra = generated_titles(list(real.values()), max(0, need), rng)
    took = time.perf_counter() - start
    print(f"{len(real):,} real titles; generated {len(extra):,} in {took:.1f} s")
    for size in args.sizes:
        run_size(size, real, extra, args)


if __name__ == "__main__":
    main()
