"""Benchmark `paperbot` operator commands as whole processes: `python bench/cli.py`.

A fresh SQLite database gets 10,000 papers (`--papers`): every day in `--data` (saved
`GET /api/daily_papers` responses, default $PAPERBOT_BENCH_DATA, see bench/data.py) through
`paperbot ingest --from-file`, padded with generated papers. Then each command runs
`--runs` times as a new process (in turn with its baseline: A B A B ...), and the median wall
time, CPU time (with its spread) and peak RSS are printed beside two baselines from the same
run: `python -c pass` (the interpreter alone) and the
same command from the code at `--baseline-ref` (default: the commit before the fast CLI;
`--baseline-ref main` for today's main), extracted with `git archive` into a temporary
folder and put first on PYTHONPATH, on its own copy of the database taken back to that
code's newest migration. Without git or that commit, the baseline column says so. That code
reads its settings through pydantic-settings: `pip install -e ".[bench]"` installs it. A
command that exits with an error is shown as failed, with its last line of stderr, not timed.
`--only 'arXiv id'` runs just the commands whose label holds the text (no console).

The children write bytecode (PYTHONDONTWRITEBYTECODE is dropped) and each command runs once
unmeasured first, as an installed paperbot runs: pip compiles the package on install, and a
bench that recompiles ~60 modules a run measures the compiler. The title look-up is measured
twice: as the first after an ingest that did not store the title index (built, then
stored), and as the ones after (read back).

Then `paperbot run` (the console: no chat platform; metrics off) starts on a pseudo-terminal,
as an operator would type to it: "ready" is the time until its prompt; idle RSS is read from
/proc once its CPU time stops growing, at start and again after a title look-up
(`/paper <title words>`) built the title index.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import select
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
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
GNU_TIME = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None
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
    cpu_min: float = 0.0  # the spread of the CPU times: a wide one says the machine was busy
    cpu_max: float = 0.0
    failed: str | None = None  # the first failed run's exit code and last line of stderr


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
    argv: list[str],
    env: dict[str, str],
    cwd: str,
    runs: int,
    stdin: str | None = None,
    before_each: Callable[[], None] | None = None,
) -> Timing:
    """Run `argv` once unmeasured (bytecode, caches), then `runs` times measured."""
    return run_paired([(argv, env)], cwd, runs, stdin, before_each)[0]


def run_paired(
    sides: list[tuple[list[str], dict[str, str]]],
    cwd: str,
    runs: int,
    stdin: str | None = None,
    before_each: Callable[[], None] | None = None,
) -> list[Timing]:
    """Run each (argv, env) of `sides` in turn, A B A B ..., once unmeasured, then `runs` times.

    In turn, not one after the other: on a machine others share, the load drifts within a
    minute, and the side measured later would carry the later load.
    """
    walls: list[list[float]] = [[] for _ in sides]
    cpus: list[list[float]] = [[] for _ in sides]
    peaks = [0.0 for _ in sides]
    failed: list[str | None] = [None for _ in sides]
    for i in range(runs + 1):
        for k, (argv, env) in enumerate(sides):
            if before_each is not None:
                before_each()
            wall, cpu, mib, problem = _once(argv, env, cwd, stdin)
            # A command that failed is not a time: the row says so instead of a figure.
            failed[k] = failed[k] or problem
            if i == 0:
                continue
            walls[k].append(wall)
            cpus[k].append(cpu)
            peaks[k] = max(peaks[k], mib)
    return [
        Timing(statistics.median(w), statistics.median(c), p, min(c), max(c), f)
        for w, c, p, f in zip(walls, cpus, peaks, failed, strict=True)
    ]


def _once(
    argv: list[str], env: dict[str, str], cwd: str, stdin: str | None
) -> tuple[float, float, float, str | None]:
    """One run of `argv`: its wall seconds, CPU seconds (user + system), peak RSS (MiB), and
    what went wrong if it exited with an error (the exit code and the last line of stderr)."""
    peak_file = os.path.join(cwd, "peak-rss.txt")
    with open(os.path.join(cwd, "stderr.txt"), "w+") as err_file:
        start = time.perf_counter()
        child = subprocess.Popen(
            # A child started from this bench (tens of MiB by now) reports the bench's peak RSS
            # as its own (Linux keeps it across exec); GNU time forks it from a small process
            # and writes the command's own peak to a file.
            [GNU_TIME, "-f", "%M", "-o", peak_file, *argv] if GNU_TIME else argv,
            env=env,
            # Not the repository: `python -m` puts the working folder first on sys.path.
            cwd=cwd,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err_file,
            text=True,
        )
        if stdin is not None and child.stdin is not None:
            child.stdin.write(stdin)
            child.stdin.close()
        # wait4 gives this child's own CPU time and peak RSS (RUSAGE_CHILDREN would mix runs).
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        kib = int(Path(peak_file).read_text().split()[-1]) if GNU_TIME else usage.ru_maxrss
        problem = None
        if child.returncode != 0:
            err_file.seek(0)
            lines = [line.strip() for line in err_file.read().splitlines() if line.strip()]
            problem = f"exit {child.returncode}: {lines[-1] if lines else 'no output'}"
    return wall, usage.ru_utime + usage.ru_stime, kib / 1024, problem


@dataclass(frozen=True)
class Console:
    ready: float  # seconds until the prompt
    idle_mb: float  # RSS once settled after start
    after_lookup_mb: float  # RSS once settled after a title look-up


def console(py: str, env: dict[str, str], cwd: str, title: str) -> Console | None:
    """Start `paperbot run` on a pseudo-terminal; time its prompt, read its idle RSS."""
    import pty

    master, slave = pty.openpty()
    start = time.perf_counter()
    child = subprocess.Popen(
        [py, "-m", "adapters.cli", "run"],
        env=env,
        cwd=cwd,
        stdin=slave,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    seen = bytearray()
    try:
        if not _read_until(master, seen, b"> ", 60):
            return None
        ready = time.perf_counter() - start
        idle = _settled_rss(child.pid, master, seen)
        os.write(master, f"/paper {title}\n".encode())
        after = _settled_rss(child.pid, master, seen)
        return Console(ready, idle, after)
    finally:
        child.terminate()
        child.wait()
        os.close(master)


def _consoles(py: str, env: dict[str, str], cwd: str, title: str, runs: int) -> Console | None:
    """The median time to the prompt and the largest idle RSS of `runs` console starts."""
    done = [c for _ in range(runs) if (c := console(py, env, cwd, title)) is not None]
    if not done:
        return None
    return Console(
        statistics.median(c.ready for c in done),
        max(c.idle_mb for c in done),
        max(c.after_lookup_mb for c in done),
    )


def _read_until(fd: int, seen: bytearray, marker: bytes, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while marker not in seen and time.monotonic() < end:
        if select.select([fd], [], [], 0.2)[0]:
            try:
                seen += os.read(fd, 65536)
            except OSError:  # the child exited
                return False
    return marker in seen


def _settled_rss(pid: int, fd: int, seen: bytearray) -> float:
    """The child's RSS (MiB) once its CPU time stayed the same for 2 s (at most 60 s)."""
    last, still, end = -1, 0.0, time.monotonic() + 60
    while still < 2 and time.monotonic() < end:
        _read_until(fd, seen, b"\0", 0.5)  # drain output while waiting
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
        still = still + 0.5 if cpu == last else 0.0
        last = cpu
    with open(f"/proc/{pid}/status") as f:
        rss = next(line for line in f if line.startswith("VmRSS"))
    return int(rss.split()[1]) / 1024


def baseline_database(new_url_file: Path, old_tree: Path, into: Path) -> Path:
    """A copy of the seeded database taken back to the baseline code's newest migration."""
    from alembic.script import ScriptDirectory

    from alembic import command
    from bot.storage.db import alembic_config

    shutil.copy(new_url_file, into)
    head = ScriptDirectory(str(old_tree / "bot" / "storage" / "migrations")).get_current_head()
    if head is not None:
        command.downgrade(alembic_config(f"sqlite+aiosqlite:///{into}"), head)
    return into


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
    p.add_argument(
        "--only",
        metavar="TEXT",
        help="run only the commands whose label holds TEXT (e.g. 'arXiv id'); no console",
    )
    args = p.parse_args()
    use_data(args)
    files = [str(f) for f in day_files()]
    if not files:
        print("no saved Daily Papers files found; generated papers only (see --data)")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "cli.sqlite3"
        url = f"sqlite+aiosqlite:///{db}"
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
        for name in (
            "DISCORD_TOKEN",
            "SLACK_BOT_TOKEN",
            "SLACK_APP_TOKEN",
            "SLACK_SIGNING_SECRET",
            "METRICS_PORT",
            "PYTHONDONTWRITEBYTECODE",  # see the docstring: an installed paperbot has bytecode
        ):
            env.pop(name, None)
        (Path(tmp) / "baseline").mkdir()
        old = baseline_tree(args.baseline_ref, Path(tmp) / "baseline")
        old_env = None
        databases = [db]
        if old:
            old_db = baseline_database(db, old, Path(tmp) / "baseline.sqlite3")
            databases.append(old_db)
            old_url = f"sqlite+aiosqlite:///{old_db}"
            old_env = {**env, "PYTHONPATH": str(old), "DATABASE_URL": old_url}
        last_day = Path(files[-1]).stem[:10] if files else "2025-06-01"

        def forget_title_index() -> None:
            # As after an ingest that stored no title index (an older paperbot's, say); in
            # the baseline's copy too, when its code stores one (since the `cli` branch).
            for path in databases:
                with sqlite3.connect(path) as conn:
                    found = "SELECT 1 FROM sqlite_master WHERE name='title_index'"
                    if conn.execute(found).fetchone():
                        conn.execute("DELETE FROM title_index")

        words = title.split()
        rows: list[tuple[str, list[str], str | None, Callable[[], None] | None]] = [
            ("lookup <arXiv id>", ["lookup", "2412.17747" if files else "2601.90001"], None, None),
            (f"lookup {title!r}, index stored", ["lookup", *words], None, None),
            (f"lookup {title!r}, first after ingest", ["lookup", *words], None, forget_title_index),
            ("papers --date <day>", ["papers", "--date", last_day], None, None),
            ("search <query> --all", ["search", "diffusion", "--all"], None, None),
            ("console: `help`, piped", ["run"], "help\n", None),
        ]
        if args.only:
            rows = [r for r in rows if args.only in r[0]]
        py = sys.executable
        print(f"load average before: {_load()}")
        bare = run([py, "-c", "pass"], env, tmp, args.runs)
        print(f"python -c pass: {_fmt(bare)}")
        print(
            f"{args.runs} runs each (after one unmeasured), paperbot and baseline in turn;"
            " median wall / median CPU (min-max) / peak RSS"
        )
        # Both ratios: on a machine others share, wall time mostly measures the others.
        ref = args.baseline_ref
        print(f"| command | paperbot | baseline: code at {ref} | speed-up CPU (wall) |")
        print("|---|---|---|---|")
        for label, argv, stdin, before in rows:
            cmd = [py, "-m", "adapters.cli", *argv]
            # A baseline that stores no title index: its "first" and "stored" are the same.
            sides = [(cmd, env), (cmd, old_env)] if old_env else [(cmd, env)]
            new, *rest = run_paired(sides, tmp, args.runs, stdin, before)
            base = rest[0] if rest else None
            shown = _fmt(base) if base else "(no git or no such commit)"
            ratio = "-"
            if base and not base.failed and not new.failed:
                ratio = f"{base.cpu / new.cpu:.2f}x ({base.wall / new.wall:.2f}x)"
            print(f"| {label} | {_fmt(new)} | {shown} | {ratio} |")
        if args.only:
            print(f"load average after: {_load()}")
            return
        print(
            f"`paperbot run`, the console on a pseudo-terminal, metrics off ({args.runs} starts:"
            " median time to the prompt, largest idle RSS):"
        )
        print("| | paperbot | baseline |")
        print("|---|---|---|")
        got = _consoles(py, env, tmp, title, args.runs)
        was = _consoles(py, old_env, tmp, title, args.runs) if old_env else None
        for name, pick in (
            ("ready to type (prompt shown)", lambda c: f"{1e3 * c.ready:.0f} ms"),
            ("idle RSS after start", lambda c: f"{c.idle_mb:.0f} MiB"),
            ("idle RSS after a title look-up", lambda c: f"{c.after_lookup_mb:.0f} MiB"),
        ):
            print(f"| {name} | {pick(got) if got else '-'} | {pick(was) if was else '-'} |")
        print(f"load average after: {_load()}")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _fmt(t: Timing) -> str:
    if t.failed:
        return f"failed ({t.failed[:120]})"
    spread = f" ({1e3 * t.cpu_min:.0f}-{1e3 * t.cpu_max:.0f})" if t.cpu_max else ""
    return f"{1e3 * t.wall:.0f} ms / {1e3 * t.cpu:.0f} ms{spread} / {t.rss_mb:.0f} MiB"


if __name__ == "__main__":
    main()
