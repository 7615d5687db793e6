"""Where the benchmarks read saved `GET /api/daily_papers` responses (one JSON file a day).

Every bench that reads them takes `--data DIR` (default: `$PAPERBOT_BENCH_DATA`). Such a
folder is what `paperbot ingest --since 2024-05-01 --save-dir DIR` writes when online; see
bench/README.md. Nothing here names a folder of a particular machine.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

ENV = "PAPERBOT_BENCH_DATA"
HOW = "pass --data DIR (or set $PAPERBOT_BENCH_DATA); bench/README.md says how to get the files"

_chosen: Path | None = None  # --data of this run (a bench is one process, one run)


def add_data_option(parser: argparse.ArgumentParser) -> None:
    """Add `--data DIR` (default `$PAPERBOT_BENCH_DATA`) to a bench's options."""
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ[ENV]) if os.environ.get(ENV) else None,
        metavar="DIR",
        help=f"saved GET /api/daily_papers responses, one YYYY-MM-DD.json a day (${ENV})",
    )


def use_data(args: argparse.Namespace) -> None:
    """Read the days from the folder the parsed `--data` names."""
    global _chosen
    _chosen = args.data


def data_dir() -> Path | None:
    """The folder of saved days this run reads, if one was given."""
    if _chosen is not None:
        return _chosen
    return Path(os.environ[ENV]) if os.environ.get(ENV) else None


def day_files() -> list[Path]:
    """The saved days, oldest first; [] when no folder was given or it holds none."""
    folder = data_dir()
    if folder is None or not folder.is_dir():
        return []
    return sorted(folder.glob("*.json"))


def need_days() -> list[Path]:
    """The saved days, or exit with one line saying what is missing."""
    files = day_files()
    if not files:
        folder = data_dir()
        where = f"in {folder}" if folder is not None else "given"
        raise SystemExit(f"no saved Daily Papers responses {where}: {HOW}")
    return files
