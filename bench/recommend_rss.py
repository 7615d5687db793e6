"""Idle RSS of `paperbot run` with 10,000 papers and 1,000 rated readers, against the same
process with the recommender loaded eagerly (the naive start-up): `python
bench/recommend_rss.py --data DIR`.

The database (SQLite, in a temporary directory) holds the real days' papers, topped up to
`--papers` with copies under new ids, and `--readers` people with 20 ratings each (seeded).
`paperbot run` is started as an operator would (console adapter on a pipe that stays open,
Hugging Face pointed at a closed port so no poll reaches the internet); its VmRSS is read
from /proc after `--settle` seconds. The baseline is a process that builds the same App and
the recommender's TF-IDF corpus at start-up, as a bot that loads scikit-learn eagerly would.
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


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def seed(url: str, n_papers: int, n_readers: int) -> int:
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
        for n, pid in enumerate(r.sample(ids, 20)):
            rows.append(
                {
                    "platform": "discord",
                    "user_id": f"{10**17 + u}",
                    "paper_id": pid,
                    "value": 1 if n < 10 else -1,
                    "place_id": None,
                    "rated_at": now,
                }
            )
    async with app.sessions.begin() as s:
        await s.execute(insert(RatingRow), rows)
    await app.close()
    return len(papers)


def measure(cmd: list[str], env: dict[str, str], settle: float) -> float:
    proc = subprocess.Popen(
        cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        time.sleep(settle)
        if proc.poll() is not None:
            raise SystemExit(f"{cmd[0]} ended early with {proc.returncode}")
        return rss_mib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_option(ap)
    ap.add_argument("--papers", type=int, default=10_000)
    ap.add_argument("--readers", type=int, default=1_000)
    ap.add_argument("--settle", type=float, default=20.0, help="seconds before reading RSS")
    args = ap.parse_args()
    use_data(args)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/rss.sqlite3"
        stored = asyncio.run(seed(url, args.papers, args.readers))
        print(f"stored: {stored} papers, {args.readers} readers with 20 ratings each")
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
        eager = measure([sys.executable, "-c", BASELINE, url], env, args.settle)
        print(f"memory: naive (recommender loaded at start-up): {eager:.0f} MiB")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
