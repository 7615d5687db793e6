"""Re-importing saved Daily Papers files is a strict no-op, whatever the order of the files.

A paper featured on two days appears in both days' files with different snapshots (more
upvotes and a revised summary on the second); the stored row is the freshest snapshot with
the highest counts, however often and in whatever order the files are imported.
"""

from __future__ import annotations

import json
from pathlib import Path

from bot.app import App
from bot.services.ingest import ingest_files
from tests.helpers import daily_item

ID = "2501.00001"


def write_days(tmp_path: Path) -> tuple[Path, Path]:
    first = [
        daily_item(ID, "Diffusion A", day="2025-02-03", abstract="First take.", upvotes=40),
        daily_item("2501.00002", "Other paper", day="2025-02-03", upvotes=3),
    ]
    # Featured again a day later: a newer snapshot, with fewer upvotes than the first day's
    # list showed (HF counts a re-featured paper's votes anew) and a revised abstract.
    second = [
        daily_item(ID, "Diffusion A (v2)", day="2025-02-04", abstract="Revised.", upvotes=25),
        daily_item("2501.00003", "Third paper", day="2025-02-04", upvotes=7),
    ]
    paths = (tmp_path / "2025-02-03.json", tmp_path / "2025-02-04.json")
    for path, items in zip(paths, (first, second), strict=True):
        path.write_text(json.dumps(items), encoding="utf-8")
    return paths


async def stored(app: App) -> tuple[str, str, int]:
    p = await app.papers.get(ID)
    assert p is not None
    return (p.title, p.abstract, p.upvotes)


async def test_a_rerun_of_the_same_files_reports_nothing_updated(app: App, tmp_path: Path):
    paths = write_days(tmp_path)
    first = await ingest_files(app, paths)
    assert (first.stats.new, first.stats.updated) == (3, 1)
    assert await stored(app) == ("Diffusion A (v2)", "Revised.", 40), "highest upvotes kept"
    for _ in range(2):
        again = await ingest_files(app, paths)
        assert (again.stats.new, again.stats.updated, again.stats.unchanged) == (0, 0, 4)
        assert again.stats.new_features == [] and again.stats.titles == []
        assert await stored(app) == ("Diffusion A (v2)", "Revised.", 40)


async def test_an_old_file_imported_alone_changes_nothing(app: App, tmp_path: Path):
    old, new = write_days(tmp_path)
    await ingest_files(app, [old, new])
    alone = await ingest_files(app, [old])
    assert (alone.stats.updated, alone.stats.unchanged) == (0, 2)
    assert await stored(app) == ("Diffusion A (v2)", "Revised.", 40)


async def test_the_order_of_the_files_does_not_matter(app: App, tmp_path: Path):
    old, new = write_days(tmp_path)
    await ingest_files(app, [new, old])  # newest first, as `ls -r` would list them
    assert await stored(app) == ("Diffusion A (v2)", "Revised.", 40)
    again = await ingest_files(app, [old, new])
    assert again.stats.updated == 0
    paper = await app.papers.get(ID)
    assert paper is not None and [d.isoformat() for d in paper.featured_on] == [
        "2025-02-03",
        "2025-02-04",
    ]
