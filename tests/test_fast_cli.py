"""The operator CLI starts light: what a command does not use is not loaded.

Wall-clock speed is measured by `bench/cli.py`; these tests check the structure that makes
it fast, which a new import at the top of a module would silently undo.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import text

from bot.storage.db import alembic_config, make_engine, upgrade
from bot.storage.revisions import head_revision, migrations_dir
from tests.helpers import daily_item

ROOT = Path(__file__).resolve().parent.parent
# Loaded only by the commands that need them: chat SDKs by `run`, Alembic by a migration,
# aiohttp by the first request to Hugging Face or arXiv, scikit-learn by the first ranking.
HEAVY = (
    *("alembic", "aiohttp", "discord", "slack_bolt", "slack_sdk", "apscheduler"),
    *("sklearn", "scipy"),
)


def loaded_after(code: str, cwd: Path) -> list[str]:
    """The HEAVY modules a fresh interpreter holds after running `code`."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout
    modules = json.loads(out.splitlines()[-1])
    return sorted({m.split(".")[0] for m in modules} & set(HEAVY))


def test_the_head_read_off_the_scripts_is_alembic_s() -> None:
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert head_revision() == scripts.get_current_head()
    assert (migrations_dir() / "versions").is_dir()


def test_importing_the_cli_loads_no_chat_sdk_migration_tool_or_http_client() -> None:
    assert loaded_after("import adapters.cli", ROOT) == []


def test_the_cli_loads_the_title_and_search_indexes_only_for_the_commands_using_them() -> None:
    # Building either is a look-up's or a search's business: an id look-up, `papers` and a
    # bot nobody has searched yet neither load their modules nor hold their memory.
    script = (
        "import json, sys\n"
        "import adapters.cli\n"
        "from bot.app import build_app\n"
        "from bot.settings import load_settings\n"
        "app = build_app(load_settings({'DATABASE_URL': 'sqlite+aiosqlite:///x.sqlite3'}))\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    modules = set(json.loads(out.splitlines()[-1]))
    assert not {"bot.lookup", "bot.lookup.index", "bot.search", "bot.search.cache"} & modules


async def test_a_database_at_the_head_is_not_migrated_again(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    await upgrade(url)  # a new file: Alembic creates the schema
    engine = make_engine(url)
    async with engine.connect() as conn:
        version = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    await engine.dispose()
    assert version == head_revision()
    code = f"import asyncio\nfrom bot.storage.db import upgrade\nasyncio.run(upgrade({url!r}))"
    assert loaded_after(code, tmp_path) == []  # at the head: Alembic never loaded


async def test_a_database_behind_the_head_is_migrated(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    await upgrade(url, "0001")
    await upgrade(url)
    engine = make_engine(url)
    async with engine.connect() as conn:
        version = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    await engine.dispose()
    assert version == head_revision()


def test_a_stored_paper_is_looked_up_without_loading_the_http_client(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    env = {"DATABASE_URL": url, "PAPERS_SOURCE": "huggingface"}
    code = (
        "import asyncio, os\n"
        f"os.environ.update({env!r})\n"
        "from bot.app import build_app\n"
        "from bot.papers import Paper\n"
        "from bot.settings import load_settings\n"
        "from bot.storage.db import upgrade\n"
        "from bot.services.lookup import lookup_papers\n"
        "async def main():\n"
        f"    await upgrade({url!r})\n"
        "    app = build_app(load_settings(), source_name='huggingface')\n"
        "    await app.papers.upsert([Paper(id='2412.17747', title='Deliberation')])\n"
        "    found = await lookup_papers(app, '2412.17747')\n"
        "    assert [p.id for p in found.papers] == ['2412.17747'], found\n"
        "    await app.close()\n"
        "asyncio.run(main())"
    )
    # Alembic did run here (a new database); the point is that no request was made.
    assert "aiohttp" not in loaded_after(code, tmp_path)


def _cli(args: list[str], cwd: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_", "PAPERS_"))
    }
    env.update(
        PYTHONPATH=str(ROOT),
        DATABASE_URL=url,
        LOG_LEVEL="INFO",
        # Nothing reaches the internet: every look-up here is answered from the database.
        HF_API_URL="http://127.0.0.1:9",
        ARXIV_API_URL="http://127.0.0.1:9",
    )
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_ingest_stores_the_title_index_that_the_next_look_ups_read_back(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    first, second = tmp_path / "2025-01-06.json", tmp_path / "2025-01-07.json"
    first.write_text(
        json.dumps(
            [
                daily_item(
                    "2501.02001", "Sparse Rehearsal for Small Language Models", day="2025-01-06"
                )
            ]
        )
    )
    second.write_text(
        json.dumps(
            [
                daily_item(
                    "2501.03001", "Quokka Field Notes as Retrieval Benchmarks", day="2025-01-07"
                )
            ]
        )
    )
    assert _cli(["ingest", "--from-file", str(first)], tmp_path, url).returncode == 0
    found = _cli(["lookup", "sparse", "rehearsal", "small"], tmp_path, url)
    assert found.returncode == 0 and found.stdout.startswith("2501.02001\t"), found.stderr
    assert "title index read back over 1 papers" in found.stderr
    # A new day: the ingest builds and stores the index again, with the new title in it.
    assert _cli(["ingest", "--from-file", str(second)], tmp_path, url).returncode == 0
    found = _cli(["lookup", "quokka", "field", "notes"], tmp_path, url)
    assert found.returncode == 0 and found.stdout.startswith("2501.03001\t"), found.stderr
    assert "title index read back over 2 papers" in found.stderr
    assert "title index built" not in found.stderr
