"""No import cycle among bot/ and adapters/, and every module imports on its own."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "adapters")


def modules(root: Path) -> dict[str, Path]:
    """Every module of PACKAGES under `root`, by dotted name (a package by its own name)."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_time_names(body: list[ast.stmt]) -> Iterator[str]:
    """The names a module imports while it is being imported.

    Imports inside functions run later, and `if TYPE_CHECKING:` ones never: neither can
    make an import fail halfway, so neither makes a cycle.
    """
    for node in body:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            # `from bot.commands import help` imports the module bot.commands.help.
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _import_time_names(node.body)
            yield from _import_time_names(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, *(h.body for h in node.handlers), node.orelse):
                yield from _import_time_names(block)
        elif isinstance(node, ast.With | ast.ClassDef):
            yield from _import_time_names(node.body)


def import_graph(root: Path) -> dict[str, set[str]]:
    """Which of our modules each module imports at import time."""
    known = modules(root)
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        edges: set[str] = set()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for target in _import_time_names(tree.body):
            while target and target not in known:
                target = target.rpartition(".")[0]  # `from bot.x import name`: bot.x
            # A package's own __init__ is already importing when its submodules import it.
            if target and target != name and not name.startswith(target + "."):
                edges.add(target)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle() -> None:
    graph = import_graph(ROOT)
    assert len(graph) > 50
    assert cycles(graph) == []


def test_the_check_finds_a_cycle(tmp_path: Path) -> None:
    (tmp_path / "bot" / "sub").mkdir(parents=True)
    (tmp_path / "adapters").mkdir()
    files = {
        "bot/__init__.py": "",
        "bot/a.py": "from bot.sub import b\n",
        "bot/sub/__init__.py": "",
        "bot/sub/b.py": "from typing import TYPE_CHECKING\nimport bot.c\n",
        "bot/c.py": "if True:\n    from bot.a import thing\n",
        # Deferred imports are no cycle: inside a function, or for the type checker only.
        "bot/d.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import bot.e\n",
        "bot/e.py": "import bot.d\ndef f():\n    import bot.a\n",
        "adapters/__init__.py": "",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert cycles(import_graph(tmp_path)) == [["bot.a", "bot.c", "bot.sub.b"]]


_FRESH_IMPORTS = """
import importlib, sys
failed = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m.split(".")[0] in ("bot", "adapters")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{name}: {type(exc).__name__}: {exc}")
print("\\n".join(failed))
"""


def test_every_module_imports_first() -> None:
    # A cycle that the static check could miss still shows here: each module is imported
    # first, with none of ours loaded, so a partly initialised module would fail.
    # Alembic runs the migrations' env.py and versions itself: they are not for importing.
    names = sorted(
        n for n in modules(ROOT) if not n.endswith("__main__") and ".migrations." not in n
    )
    assert len(names) > 50
    done = subprocess.run(
        [sys.executable, "-c", _FRESH_IMPORTS, *names],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert done.stdout.strip() == ""
