"""Idle RSS of `paperbot run` with 10,000 papers and 1,000 rated readers, before and after a
sweep that ranked every reader's digest, against the code at `--baseline-ref` (default
main) in the same run: `python bench/recommend_rss.py --data DIR [--baseline-ref REF]`.

The database (SQLite, in a temporary directory) holds the real days' papers, topped up to
`--papers` with copies under new ids, and `--readers` people with 20 ratings each (seeded).
`paperbot run` is started as an operator would (console adapter on a pipe that stays open,
Hugging Face pointed at a closed port so no poll reaches the internet); its VmRSS is read
from /proc after `--settle` seconds. The baseline is a process that builds the same App and
the recommender's TF-IDF corpus at start-up, as a bot that loads scikit-learn eagerly would.

After the work: a process builds the App as `paperbot run` does, reads each reader's taste
from the database, ranks a 30-paper digest for each of them in one `order_many` call (what
a sweep's `order_by_taste` does), then waits `--settle` seconds and reads its VmRSS: the
steady state of a bot that has swept. The same script runs once against this tree and
once against the code at `--baseline-ref` (extracted with `git archive`), in turn.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.data import add_data_option, need_days, use_data
from bench.recommend import load

BASELINE = """
import asyncio, sys, time
from bot.app import build_app
from bot.settings import load_settings
async def main():
    app = build_app(load_settings(dict(DATABASE_URL=sys.argv[1])), source_name="huggingface")
    corpus = await app.recommender.corpus()  # what an eager start-up does
    print("corpus", corpus.size, flush=True)
    await asyncio.sleep(3600)
asyncio.run(main())
"""


SWEPT = """
import asyncio, hashlib, random, sys, time
from sqlalchemy import select
from bot.app import build_app
from bot.settings import load_settings
from bot.storage.feedback_repo import Taste
from bot.storage.models import RatingRow
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
async def main():
    app = build_app(load_settings(dict(DATABASE_URL=sys.argv[1])), source_name="huggingface")
    async with app.sessions() as s:
        q = select(RatingRow.user_id, RatingRow.paper_id, RatingRow.value)
        rows = (await s.execute(q)).all()
        ids = sorted(await s.scalars(select(RatingRow.paper_id).distinct()))
    tastes = {}
    for user, pid, value in rows:
        tastes.setdefault(user, {})[pid] = value
    r = random.Random(7)
    jobs = [(f"destination:{u}", Taste(t), r.sample(ids, 30)) for u, t in sorted(tastes.items())]
    before = rss()
    t = time.perf_counter()
    orders = await app.recommender.order_many(jobs)
    took = time.perf_counter() - t
    del jobs, rows, tastes
    await asyncio.sleep(float(sys.argv[2]))
    digest = hashlib.sha256(str(orders).encode()).hexdigest()[:12]
    print(f"{before:.1f} {rss():.1f} {took:.2f} {len(orders)} {digest}", flush=True)
if __name__ == "__main__":  # the recommender's worker process imports this module again
    asyncio.run(main())
"""


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def seed(url: str, n_papers: int, n_readers: int, heavy: int = 0) -> int:
    from sqlalchemy import insert

    from bot.app import build_app
    from bot.settings import load_settings
    from bot.storage.db import upgrade
    from bot.storage.models import RatingRow

    await upgrade(url)
    papers = load(need_days())
    extra = []
    for i in range(max(0, n_papers - len(papers))):
        base = papers[i % len(papers)]
        extra.append(dataclasses.replace(base, id=f"2901.{i:05d}"))
    papers += extra
    app = build_app(load_settings({"DATABASE_URL": url}), source_name="huggingface")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    await app.papers.upsert(papers, now=now)
    ids = sorted(p.id for p in papers)
    r = random.Random(5)
    rows = []
    for u in range(n_readers):
        # The first `heavy` readers rated 100 papers: their fit is liblinear's SVM.
        count = 100 if u < heavy else 20
        for n, pid in enumerate(r.sample(ids, count)):
            rows.append(
                {
                    "platform": "discord",
                    "user_id": f"{10**17 + u}",
                    "paper_id": pid,
                    "value": 1 if n < count // 2 else -1,
                    "place_id": None,
                    "rated_at": now,
                }
            )
    async with app.sessions.begin() as s:
        await s.execute(insert(RatingRow), rows)
    await app.close()
    return len(papers)


def measure(cmd: list[str], env: dict[str, str], settle: float, cwd: Path | None = None) -> float:
    proc = subprocess.Popen(
        cmd,
        env=env,
        cwd=cwd,  # `python -c` puts the working directory first on sys.path
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(settle)
        if proc.poll() is not None:
            raise SystemExit(f"{cmd[0]} ended early with {proc.returncode}")
        return rss_mib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)


def baseline_tree(ref: str, into: Path) -> Path:
    """The code at ref (bot/ and adapters/), for the baseline to import."""
    root = Path(__file__).resolve().parent.parent
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(root), "archive", ref, "bot", "adapters"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def swept(tree: Path, script: Path, url: str, env: dict[str, str], settle: float) -> str:
    """RSS before the sweep, idle after it, its seconds, digests, a digest of the orders."""
    out = subprocess.run(
        [sys.executable, str(script), url, str(settle)],
        env={**env, "PYTHONPATH": str(tree)},
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_option(ap)
    ap.add_argument("--papers", type=int, default=10_000)
    ap.add_argument("--readers", type=int, default=1_000)
    ap.add_argument("--settle", type=float, default=20.0, help="seconds before reading RSS")
    ap.add_argument("--heavy", type=int, default=20, help="readers with 100 ratings, not 20")
    ap.add_argument("--baseline-ref", default="main", help="the naive code to compare with")
    args = ap.parse_args()
    use_data(args)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/rss.sqlite3"
        stored = asyncio.run(seed(url, args.papers, args.readers, args.heavy))
        print(
            f"stored: {stored} papers, {args.readers} readers with 20 ratings each"
            f" ({args.heavy} of them with 100)"
        )
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "PAPERS_SOURCE": "huggingface",
            "HF_API_URL": "http://127.0.0.1:9",  # nothing listens: polls fail, offline
            "ARXIV_API_URL": "http://127.0.0.1:9",
        }
        paperbot = str(Path(sys.executable).with_name("paperbot"))
        idle = measure([paperbot, "run"], env, args.settle)
        print(f"memory: idle RSS of `paperbot run`: {idle:.0f} MiB (goal 150)")
        old = baseline_tree(args.baseline_ref, Path(tmp) / "baseline")
        eager = measure(
            [sys.executable, "-c", BASELINE, url],
            {**env, "PYTHONPATH": str(old)},
            args.settle,
            cwd=old,
        )
        print(f"memory: naive ({args.baseline_ref}, corpus built at start-up): {eager:.0f} MiB")
        script = Path(tmp) / "swept.py"
        script.write_text(SWEPT)
        here = Path(__file__).resolve().parent.parent
        print("after a sweep: RSS before, idle RSS after (MiB), sweep s, digests, orders' sha256")
        for name, tree in ((f"baseline {args.baseline_ref}", old), ("this tree", here)):
            print(f"  {name:>16}: {swept(tree, script, url, env, args.settle)}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
