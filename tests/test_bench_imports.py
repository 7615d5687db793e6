"""Every benchmark still imports: the benches are not run by the suite, so a renamed core
module would otherwise break one unnoticed (bench/sweep.py and bench/lookup.py once did)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
MODULES = sorted(p.stem for p in BENCH.glob("*.py") if p.stem != "__init__")


def test_there_are_benches() -> None:
    assert {"delivery", "lookup", "sweep", "claims", "matching"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_the_bench_imports(name: str) -> None:
    module = importlib.import_module(f"bench.{name}")
    assert module.__doc__, f"bench/{name}.py says in its docstring what it measures"


def test_no_bench_names_a_folder_of_this_machine() -> None:
    for path in BENCH.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for marker in ("/work/", "/home/", "/root/", "shared/data"):
            assert marker not in text, f"{path.name} names {marker!r}"


@pytest.mark.parametrize("name", ["lookup", "search", "delivery", "sweep"])
def test_a_bench_without_data_says_so_in_one_line(name: str, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "PAPERBOT_BENCH_DATA"}
    done = subprocess.run(
        [sys.executable, str(BENCH / f"{name}.py"), "--data", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode != 0
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("no saved Daily Papers responses in") and "--data DIR" in line
