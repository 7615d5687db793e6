"""Benchmark `paperbot` operator commands as whole processes: `python bench/cli.py`.

A fresh SQLite database gets 10,000 papers (`--papers`): every day in `--data` (saved
`GET /api/daily_papers` responses, default $PAPERBOT_BENCH_DATA, see bench/data.py) through
`paperbot ingest --from-file`, padded with generated papers. Then each command runs
`--runs` times as a new process, and the median wall time, CPU time and peak RSS are printed
beside two baselines from the same run: `python -c pass` (the interpreter alone) and the
same command from the code at `--baseline-ref` (default: the commit before the fast CLI),
extracted with `git archive` into a temporary folder and put first on PYTHONPATH. Without
git or that commit, the baseline column says so.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.data import add_data_option, day_files, use_data  # noqa: E402
from bot.app import build_app  # noqa: E402
from bot.papers import Paper  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from bot.storage.db import upgrade  # noqa: E402

BASELINE_REF = "1fe5ef7"
WORDS = [
    "adaptive",
    "sparse",
    "diffusion",
    "transformers",
    "for",
    "long",
    "video",
    "generation",
    "with",
    "latent",
    "memory",
    "scaling",
    "reasoning",
    "agents",
    "retrieval",
    "augmented",
    "alignment",
    "multimodal",
    "benchmark",
    "efficient",
    "quantized",
    "language",
    "models",
    "robust",
    "planning",
    "world",
    "model",
    "tokenizer",
    "speech",
    "vision",
]


@dataclass(frozen=True)
class Timing:
    wall: float  # median seconds
    cpu: float  # median user + system seconds
    rss_mb: float  # largest peak RSS of the runs


def generated(n: int, day: date) -> list[Paper]:
    """`n` made-up papers featured on `day`, with titles from a small vocabulary."""
    rng = random.Random(20261202)
    return [
        Paper(
            id=f"2601.{90000 + i:05d}",
            title=" ".join(rng.sample(WORDS, rng.randint(5, 10))).capitalize(),
            abstract=" ".join(rng.choices(WORDS, k=60)),
            upvotes=rng.randint(0, 50),
            featured_on=(day,),
        )
        for i in range(n)
    ]


def seed(url: str, files: list[str], papers: int) -> tuple[int, str]:
    """Store the saved days through `paperbot ingest`, then pad with generated papers."""
    env = {"DATABASE_URL": url, "PAPERS_SOURCE": "huggingface"}
    if files:
        # Through the CLI, as an operator imports saved days.
        cmd = [sys.executable, "-m", "adapters.cli", "ingest", "--from-file", *files]
        subprocess.run(cmd, env={**os.environ, **env}, check=True, capture_output=True)
    return asyncio.run(_pad(url, env, papers))


async def _pad(url: str, env: dict[str, str], papers: int) -> tuple[int, str]:
    await upgrade(url)
    app = build_app(load_settings(env={**os.environ, **env}), source_name="huggingface")
    try:
        stored = len(await app.papers.titles())
        if stored < papers:
            await app.papers.upsert(
                generated(papers - stored, date(2025, 6, 1)), now=datetime.now(UTC)
            )
        titles = await app.papers.titles()
        # A title look-up as people type one: the longest title's first five words, lower case.
        words = max((t for _, t in titles), key=len).lower().split()[:5]
        return len(titles), " ".join(words)
    finally:
        await app.close()


def run(
    argv: list[str], env: dict[str, str], cwd: str, runs: int, stdin: str | None = None
) -> Timing:
    walls, cpus, peak = [], [], 0.0
    for _ in range(runs):
        start = time.perf_counter()
        child = subprocess.Popen(
            argv,
            env=env,
            # Not the repository: `python -m` puts the working folder first on sys.path.
            cwd=cwd,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        if stdin is not None and child.stdin is not None:
            child.stdin.write(stdin)
            child.stdin.close()
        # wait4 gives this child's own CPU time and peak RSS (RUSAGE_CHILDREN would mix runs).
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        walls.append(time.perf_counter() - start)
        cpus.append(usage.ru_utime + usage.ru_stime)
        peak = max(peak, usage.ru_maxrss / 1024)  # KiB on Linux
    return Timing(statistics.median(walls), statistics.median(cpus), peak)


def baseline_tree(ref: str, into: Path) -> Path | None:
    """The code at `ref` in `into`, or None if git cannot give it."""
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", ref, "bot", "adapters"],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return into


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_option(p)
    p.add_argument("--papers", type=int, default=10_000)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--baseline-ref", default=BASELINE_REF)
    args = p.parse_args()
    use_data(args)
    files = [str(f) for f in day_files()]
    if not files:
        print("no saved Daily Papers files found; generated papers only (see --data)")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/cli.sqlite3"
        stored, title = seed(url, files, args.papers)
        print(f"database: SQLite, {stored} papers ({len(files)} saved days + generated)")
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "PAPERS_SOURCE": "huggingface",
            "PYTHONPATH": str(ROOT),
            # Nothing may reach the internet: a paper not stored fails fast instead.
            "HF_API_URL": "http://127.0.0.1:9",
            "ARXIV_API_URL": "http://127.0.0.1:9",
        }
        for name in ("DISCORD_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
            env.pop(name, None)
        (Path(tmp) / "baseline").mkdir()
        old = baseline_tree(args.baseline_ref, Path(tmp) / "baseline")
        old_env = {**env, "PYTHONPATH": str(old)} if old else None
        last_day = Path(files[-1]).stem[:10] if files else "2025-06-01"
        commands = {
            "lookup <arXiv id>": ["lookup", "2412.17747" if files else "2601.90001"],
            f"lookup {title!r}": ["lookup", *title.split()],
            "papers --date <day>": ["papers", "--date", last_day],
            "search <query> --all": ["search", "diffusion", "--all"],
        }
        py = sys.executable
        bare = run([py, "-c", "pass"], env, tmp, args.runs)
        print(f"python -c pass: {1e3 * bare.wall:.0f} ms wall, {1e3 * bare.cpu:.0f} ms CPU")
        print(f"{args.runs} runs each; median wall / median CPU / peak RSS")
        print("| command | paperbot | baseline: code at " + args.baseline_ref + " | speed-up |")
        print("|---|---|---|---|")
        rows = [(label, ["-m", "adapters.cli", *argv], None) for label, argv in commands.items()]
        rows.append(("console: `help`, piped", ["-m", "adapters.cli", "run"], "help\n"))
        for label, argv, stdin in rows:
            new = run([py, *argv], env, tmp, args.runs, stdin)
            base = run([py, *argv], old_env, tmp, args.runs, stdin) if old_env else None
            shown = _fmt(base) if base else "(no git or no such commit)"
            ratio = f"{base.wall / new.wall:.1f}x" if base else "-"
            print(f"| {label} | {_fmt(new)} | {shown} | {ratio} |")


def _fmt(t: Timing) -> str:
    return f"{1e3 * t.wall:.0f} ms / {1e3 * t.cpu:.0f} ms / {t.rss_mb:.0f} MiB"


if __name__ == "__main__":
    main()
