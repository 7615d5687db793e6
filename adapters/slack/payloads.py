"""Reading fields of Slack payloads without trusting their shape.

Slack documents `user` as an object in interactive payloads and as an id in events, and a
signed request may still carry any JSON (Socket Mode payloads are not checked by
inbound.py at all): a field of the wrong type reads as missing instead of raising.
"""

from __future__ import annotations

from typing import Any


def dig(data: Any, *keys: str | int) -> Any:
    """`data[k1][k2]…`, or None where a step is missing or of the wrong type."""
    for key in keys:
        if isinstance(key, int):
            if not isinstance(data, list) or not -len(data) <= key < len(data):
                return None
            data = data[key]
        elif isinstance(data, dict):
            data = data.get(key)
        else:
            return None
    return data


def text_at(data: Any, *keys: str | int) -> str:
    """The string at that path, or "" (ids and names are strings in every Slack payload)."""
    value = dig(data, *keys)
    return value if isinstance(value, str) else ""


def id_of(data: Any, key: str) -> str:
    """The id in `data[key]`: an object with an "id" (interactive payloads) or an id itself."""
    value = dig(data, key)
    return value if isinstance(value, str) else text_at(value, "id")
