"""The core stays platform-neutral: nothing under bot/ imports a chat SDK or the adapters."""

from __future__ import annotations

import ast
from pathlib import Path

FORBIDDEN = {"discord", "slack_bolt", "slack_sdk", "adapters"}
BOT = Path(__file__).resolve().parents[1] / "bot"


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            roots.add(str(node.args[0].value).split(".")[0])
    return roots


def test_bot_never_imports_platform_code() -> None:
    files = sorted(BOT.rglob("*.py"))
    assert len(files) > 10
    offenders = {
        str(f.relative_to(BOT.parent)): sorted(imported_roots(f) & FORBIDDEN) for f in files
    }
    assert {f: names for f, names in offenders.items() if names} == {}


def test_the_check_itself_catches_an_import(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text("import discord.ext\nfrom slack_sdk import WebClient\n", encoding="utf-8")
    assert imported_roots(sample) & FORBIDDEN == {"discord", "slack_sdk"}
