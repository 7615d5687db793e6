"""Drive an adapter's side of the delivery port the way the sender does, without a database."""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from bot.messages import Reply
from bot.port import Destination, Part, Posted


class Poster(Protocol):
    def compose(self, reply: Reply) -> list[Part]: ...

    async def post(self, destination: Destination, part: Part, *, key: str) -> Posted: ...


async def send(
    adapter: Poster, destination: Destination, reply: Reply, *, key: str
) -> list[Posted]:
    """Compose a reply and post its parts in order, each under its own key."""
    out = []
    for i, part in enumerate(adapter.compose(reply)):
        out.append(await adapter.post(destination, part, key=f"{key}:{i}"))
        if out[-1].address:
            destination = replace(destination, address=out[-1].address)
    return out


def ids(posted: list[Posted]) -> tuple[str, ...]:
    return tuple(p.message_id for p in posted)
