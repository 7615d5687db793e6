"""Lists a user can page through later: the command and arguments that made them, stored.

A paging button carries only a short key (chat platforms cap a button's id: Discord at 100
characters); the list is made again from what is stored here, by whichever process gets the
click, after a restart too. Keys are derived from the command and its arguments, so asking
for the same list again reuses its row instead of adding one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import App

# How long a list's buttons keep working after its last use. Lists are re-made from their
# command when paged, and "today" or a search's ranking drift; an hour keeps them current.
LIST_LIFETIME = timedelta(hours=1)
KEY_LENGTH = 12
_PREFIX = "list:"


@dataclass(frozen=True)
class SavedList:
    command: str  # registry name, e.g. "papers"
    options: dict[str, str]  # the arguments as the platform gave them


def list_key(command: str, options: Mapping[str, str]) -> str:
    """The stored list's key: the same command and arguments give the same key."""
    blob = json.dumps([command, sorted(options.items())], ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:KEY_LENGTH]


async def save_list(app: App, command: str, options: Mapping[str, str]) -> str:
    """Store how to make this list again (or mark it used again); return its key.

    Lists unused for LIST_LIFETIME go at the same time: their buttons have expired.
    """
    key = list_key(command, options)
    value = {"command": command, "options": {k: str(v) for k, v in options.items()}}
    now = app.clock()
    await app.state.set(_PREFIX + key, value, now=now)
    await app.state.delete_stale(_PREFIX, now - LIST_LIFETIME)
    return key


async def load_list(app: App, key: str) -> SavedList | None:
    """The stored list with `key`, or None when there is none (or it is malformed)."""
    value = await app.state.get(_PREFIX + key)
    if not value or not isinstance(value.get("command"), str):
        return None
    options = value.get("options")
    if not isinstance(options, dict):
        return None
    return SavedList(value["command"], {str(k): str(v) for k, v in options.items()})
