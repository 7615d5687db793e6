"""kill -9 of real `paperbot run` processes mid-delivery, and what the fake Discord received.

Shared by the fault test (a few kills) and `bench/faults.py` (the long version). Digests are
composed first, through the real core, long enough to be split into several messages; then
the bot is started and killed with SIGKILL at seeded random points, the papers change between
its lives, and it is started again until its outbox is empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import signal
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from bot.app import App
from bot.messages import Place
from bot.storage.models import DestinationRow, OutboxRow, PaperRow
from tests.fakes.discord_server import FakeDiscord
from tests.helpers import ADMIN, TestBot

ROOT = Path(__file__).resolve().parents[2]
# Many of the bundled sample papers match these; each entry names all three queries, so
# entries come near Discord's 6,000 characters a message and a digest is split.
BROAD = "model OR models OR learning OR language OR data OR training OR network"
QUERIES = (BROAD, BROAD + " OR method", BROAD + " OR approach")


@dataclass(frozen=True)
class Tally:
    """What arrived, against what the digests listed."""

    digests: int
    papers: int  # (destination, paper) pairs the digests listed
    messages: int
    lost: int
    doubled: int


def ranks(titles: list[str]) -> list[int]:
    """The rank numbers ("3. Title") of the papers posted, in the order they were posted."""
    return [int(m.group(1)) for t in titles if (m := re.match(r"\*?(\d+)\. ", t))]


async def long_author_lists(app: App) -> None:
    authors = [
        {"name": f"Maximiliana Konstantinopoulou-Vanderbilt {n}", "hidden": False} for n in range(8)
    ]
    async with app.sessions.begin() as s:
        await s.execute(update(PaperRow).values(authors=authors))


async def summaries_appear(app: App, bump: int = 7) -> None:
    """What Hugging Face does hours after a paper is featured: a one-line AI summary shows
    instead of the abstract, and upvotes move. Every entry shrinks, so a digest rendered
    again would split at other places.
    """
    async with app.sessions.begin() as s:
        await s.execute(
            update(PaperRow).values(
                ai_summary=f"A short summary ({bump}).", upvotes=PaperRow.upvotes + bump
            )
        )


async def compose_split_digests(
    app: App, fake: FakeDiscord, channels: int, *, threads: bool = False
) -> dict[str, int]:
    """One long digest queued for each of `channels` new Discord channels; their sizes.

    With `threads`, the channels have `digest threads on`: a header each, and a message per
    paper in the thread opened from it.
    """
    bot = TestBot(app)
    user = replace(ADMIN, platform="discord")
    base = fake.channels[fake.channel_id]
    ids = [str(1_250_000_000_000_000_000 + n) for n in range(channels)]
    for n, cid in enumerate(ids):
        fake.channels[cid] = {**base, "id": cid, "name": f"papers-{n}"}
        place = Place("discord", cid, name=f"papers-{n}", workspace_id=fake.guild_id)
        await bot.say("digest max 40", user, place)
        if threads:
            await bot.say("digest threads on", user, place)
        for query in QUERIES:
            await bot.say(f"subscribe {query}", user, place)
    await long_author_lists(app)
    for cid in ids:
        await bot.say("digest now", user, Place("discord", cid, workspace_id=fake.guild_id))
    async with app.sessions() as s:
        rows = (
            await s.execute(
                select(DestinationRow.external_id, OutboxRow.payload).join(
                    OutboxRow, OutboxRow.destination_id == DestinationRow.id
                )
            )
        ).all()
    return {cid: len(payload["items"]) for cid, payload in rows}


async def pending(app: App) -> int:
    async with app.sessions() as s:
        stmt = select(func.count()).select_from(OutboxRow).where(OutboxRow.status != "sent")
        return int(await s.scalar(stmt) or 0)


def received(fake: FakeDiscord, cid: str) -> list[dict[str, Any]]:
    """The messages posted in a channel and in the threads opened under it."""
    under = [t for t, obj in fake.threads.items() if obj["parent_id"] == cid]
    return [m for c in (cid, *under) for m in fake.messages.get(c, [])]


def posted(fake: FakeDiscord, listed: Mapping[str, int]) -> int:
    return sum(len(received(fake, cid)) for cid in listed)


async def start_bot(env: Mapping[str, str], cwd: Path, life: int) -> asyncio.subprocess.Process:
    log = (cwd / f"bot-{life}.log").open("wb")  # read when a life goes wrong
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "adapters.cli",
            "run",
            env=dict(env),
            cwd=cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    finally:
        log.close()


async def _until_posted(
    app: App, fake: FakeDiscord, listed: Mapping[str, int], target: int, proc: Any
) -> bool:
    """Wait until `target` messages arrived (True), or the outbox is empty (False)."""
    async with asyncio.timeout(120):
        while posted(fake, listed) < target:
            if proc.returncode is not None:
                raise RuntimeError(f"the bot exited by itself with {proc.returncode}")
            if not await pending(app):
                return False
            with contextlib.suppress(TimeoutError):
                await fake.wait_until(lambda: posted(fake, listed) >= target, 0.5)
    return True


async def kill_and_restart(
    app: App,
    fake: FakeDiscord,
    listed: Mapping[str, int],
    env: Mapping[str, str],
    cwd: Path,
    *,
    kills: int,
    seed: int,
    finish_within: float = 300,
) -> int:
    """Start the bot, SIGKILL it after a few more messages, change the papers, again;
    then let a last life finish the outbox. Returns how many times it was killed."""
    rng = random.Random(seed)
    for life in range(kills + 1):
        proc = await start_bot(env, cwd, life)
        try:
            if life < kills:
                target = posted(fake, listed) + rng.randint(1, 6)
                if not await _until_posted(app, fake, listed, target, proc):
                    return life  # everything went out before this kill: nothing left to break
                proc.send_signal(signal.SIGKILL)
            else:
                async with asyncio.timeout(finish_within):
                    # The bot's progress is only in its database: read it there.
                    while await pending(app):  # noqa: ASYNC110
                        await asyncio.sleep(0.1)
        finally:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        await summaries_appear(app, bump=life + 1)  # the papers change between lives
    return kills


def tally(fake: FakeDiscord, listed: Mapping[str, int]) -> Tally:
    lost = doubled = messages = 0
    for cid, n in listed.items():
        msgs = received(fake, cid)
        messages += len(msgs)
        got = Counter(ranks([e.get("title", "") for m in msgs for e in m["embeds"]]))
        lost += sum(1 for r in range(1, n + 1) if not got[r])
        doubled += sum(c - 1 for c in got.values() if c > 1)
    return Tally(len(listed), sum(listed.values()), messages, lost, doubled)
