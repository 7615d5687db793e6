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


ADAPTERS = BOT.parent / "adapters"
# What an adapter may use of the core: the port and its records, the core and its registry,
# settings, errors, text helpers and the services; not command internals, storage or delivery.
PUBLIC = (
    "bot.app",
    "bot.commands",  # build_registry, for the composition root
    "bot.commands.registry",  # every adapter's commands are generated from it
    "bot.core",
    "bot.errors",
    "bot.messages",
    "bot.ops",  # the operations endpoint and checks, which `paperbot run` and doctor start
    "bot.papers",
    "bot.plural",
    "bot.port",
    "bot.query",
    "bot.scheduler",
    "bot.services",
    "bot.settings",
    "bot.supervision",  # the composition root runs each adapter under a supervisor
    "bot.sources",
    "bot.text",
)
# The composition root builds the engine and the repositories: that is its job.
ROOT_MAY_IMPORT = {"adapters/cli/wiring.py": ("bot.storage",)}


def bot_modules_imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {n for n in names if n == "bot" or n.startswith("bot.")}


def _allowed(name: str, extra: tuple[str, ...]) -> bool:
    if name in PUBLIC:
        return True
    # A package in PUBLIC with submodules of its own is public as a whole (bot.services.*),
    # except bot.commands: only its registry is.
    return any(name.startswith(p + ".") for p in (*PUBLIC, *extra) if p != "bot.commands")


def test_adapters_import_only_public_core_modules() -> None:
    files = sorted(ADAPTERS.rglob("*.py"))
    assert len(files) > 10
    offenders: dict[str, set[str]] = {}
    for f in files:
        rel = str(f.relative_to(BOT.parent))
        extra = ROOT_MAY_IMPORT.get(rel, ())
        bad = {n for n in bot_modules_imported(f) if not _allowed(n, extra)}
        if bad:
            offenders[rel] = bad
    assert offenders == {}


def test_the_public_check_refuses_internals(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text(
        "from bot.services.search import recent_papers\n"
        "from bot.commands.search import search_command\n"
        "def f():\n    from bot.storage.models import DestinationRow\n",
        encoding="utf-8",
    )
    imported = bot_modules_imported(sample)
    assert {n for n in imported if not _allowed(n, ())} == {
        "bot.commands.search",
        "bot.storage.models",
    }
    assert all(_allowed(n, ("bot.storage",)) for n in imported - {"bot.commands.search"})
