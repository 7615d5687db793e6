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
