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


def add_data_option(parser: argparse.ArgumentParser) -> None:
    """Add `--data DIR` (default `$PAPERBOT_BENCH_DATA`) to a bench's options."""
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ[ENV]) if os.environ.get(ENV) else None,
        metavar="DIR",
        help=f"saved GET /api/daily_papers responses, one YYYY-MM-DD.json a day (${ENV})",
    )


def day_files(data: Path | None) -> list[Path]:
    """The saved days in `data`, oldest first; [] when there is no such folder or file."""
    if data is None or not data.is_dir():
        return []
    return sorted(data.glob("*.json"))


def need_days(data: Path | None) -> list[Path]:
    """The saved days in `data`, or exit with one line saying what is missing."""
    files = day_files(data)
    if not files:
        where = f"in {data}" if data is not None else "given"
        raise SystemExit(f"no saved Daily Papers responses {where}: {HOW}")
    return files
