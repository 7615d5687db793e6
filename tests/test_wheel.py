"""The wheel works: built from this checkout, installed into a fresh venv, run elsewhere.

Offline and quick: the wheel is built without build isolation (setuptools and wheel come
with the test extras), installed with `--no-deps`, and the new venv borrows this
environment's installed dependencies through a `.pth` file instead of downloading them.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "bot", "adapters")


def _run(*cmd: str | Path, cwd: Path, env: dict[str, str] | None = None, stdin: str = "") -> str:
    proc = subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"{cmd} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_the_wheel_installs_migrates_and_runs_from_any_directory(tmp_path: Path) -> None:
    # Build from a copy: a stale build/ in the checkout must not leak into the wheel.
    src = tmp_path / "src"
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            src.mkdir(exist_ok=True)
            shutil.copy(ROOT / name, src / name)
    dist = tmp_path / "dist"
    _run(
        *(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"),
        *("--no-index", "--wheel-dir", dist, src),
        cwd=tmp_path,
    )
    [wheel] = dist.glob("paperbot-*.whl")

    target = tmp_path / "venv"
    venv.create(target, with_pip=False)
    python = target / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(_run(python, "-c", purelib, cwd=tmp_path).strip())
    # Dependencies from this environment; paperbot itself only from the wheel (a .pth line
    # adds a directory, it does not run that directory's .pth files, e.g. an editable install).
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_paperbot_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    _run(
        *(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index"),
        wheel,
        cwd=tmp_path,
    )

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    db = tmp_path / "state" / "bot.sqlite3"
    db.parent.mkdir()
    env = {
        "PATH": f"{target / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{db}",
    }
    paperbot = target / "bin" / "paperbot"
    assert _run(paperbot, "--version", cwd=elsewhere, env=env).strip() == "paperbot 0.1.0"
    where = _run(python, "-c", "import bot; print(bot.__file__)", cwd=elsewhere, env=env)
    assert Path(where.strip()).is_relative_to(site)  # not this checkout

    assert "database is up to date" in _run(paperbot, "db", "upgrade", cwd=elsewhere, env=env)
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"alembic_version", "papers", "destinations", "subscriptions", "outbox"} <= tables

    # The offline demo: the bundled sample is package data too.
    out = _run(paperbot, "run", cwd=elsewhere, env=env, stdin="/papers today 2\n")
    assert "(76 papers)" in out
