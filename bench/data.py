"""Where the benchmarks read saved `GET /api/daily_papers` responses (one JSON file a day).

`$PAPERBOT_BENCH_DATA` names the folder; without it, `shared/data/hf-daily-papers` beside
the repository's folder, where the team keeps the 415 real days.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "PAPERBOT_BENCH_DATA"


def data_dir() -> Path:
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "hf-daily-papers"
    return Path(os.environ.get(ENV) or default)


def data_glob() -> str:
    """The glob pattern of the saved days."""
    return str(data_dir() / "*.json")
