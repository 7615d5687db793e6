"""Stored lists (for paging later): one row per list, refreshed when used, gone when stale."""

from __future__ import annotations

from bot.app import App
from bot.services.lists import LIST_LIFETIME, list_key, load_list, save_list
from tests.helpers import FakeClock


async def test_the_same_list_keeps_one_key_and_reads_back(app: App) -> None:
    key = await save_list(app, "papers", {"day": "today", "limit": "12"})
    assert key == await save_list(app, "papers", {"limit": "12", "day": "today"})
    assert key != list_key("papers", {"day": "yesterday", "limit": "12"})
    saved = await load_list(app, key)
    assert saved is not None and saved.command == "papers"
    assert saved.options == {"day": "today", "limit": "12"}
    assert await load_list(app, "0" * 12) is None


async def test_stale_lists_go_and_used_ones_stay(app: App, clock: FakeClock) -> None:
    old = await save_list(app, "search", {"query": "old"})
    used = await save_list(app, "search", {"query": "used"})
    clock.advance(seconds=LIST_LIFETIME.total_seconds() - 60)
    await save_list(app, "search", {"query": "used"})  # paged again: marked used
    clock.advance(seconds=120)
    await save_list(app, "search", {"query": "new"})
    assert await load_list(app, old) is None
    assert await load_list(app, used) is not None
    # Other facts in the same table are never touched.
    await app.state.set("listless", {"x": 1}, now=clock() - LIST_LIFETIME * 5)
    await save_list(app, "search", {"query": "newer"})
    assert await app.state.get("listless") == {"x": 1}
