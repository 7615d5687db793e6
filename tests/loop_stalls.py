"""Catch the event loop being blocked: callbacks that keep the loop's thread busy too long.

While a callback (one step of a task, between two awaits) runs, nothing else on the loop can:
command replies, the sender, Discord's heartbeat all wait. asyncio's debug mode times every
callback on the wall clock and logs "Executing <handle> took X seconds"; on a shared 2-core
machine the wall clock also counts the time slices other processes took, so a 40 ms step
can read 250 ms under load. The verdict is therefore taken on the loop thread's CPU time per
callback (`time.thread_time`), which only the callback itself spends; debug mode's wall-clock
figures are kept beside it for the failure message.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

STALL = 0.1  # seconds: what the project counts as blocking the loop


@dataclass
class Stalls:
    """The callbacks that ran longer than the threshold: (seconds, what ran).

    `found` holds CPU time on the loop thread, `wall` debug mode's wall-clock readings.
    """

    found: list[tuple[float, str]] = field(default_factory=list)
    wall: list[tuple[float, str]] = field(default_factory=list)

    @property
    def longest(self) -> float:
        return max((took for took, _ in self.found), default=0.0)

    def __str__(self) -> str:
        cpu = "; ".join(f"{took * 1000:.0f} ms CPU in {what[:200]}" for took, what in self.found)
        wall = "; ".join(f"{took * 1000:.0f} ms wall in {what[:120]}" for took, what in self.wall)
        return f"{cpu} (wall clock: {wall or 'none over the threshold'})"


class _Handler(logging.Handler):
    def __init__(self, stalls: Stalls) -> None:
        super().__init__(logging.WARNING)
        self.stalls = stalls

    def emit(self, record: logging.LogRecord) -> None:
        # asyncio.base_events: logger.warning("Executing %s took %.3f seconds", handle, dt)
        if record.msg.startswith("Executing") and isinstance(record.args, tuple):
            handle, took = record.args
            self.stalls.wall.append((float(took), str(handle)))


@asynccontextmanager
async def watch_loop(threshold: float = STALL) -> AsyncIterator[Stalls]:
    """Record every callback of the running loop that takes longer than `threshold`.

    The cyclic garbage collector is paused meanwhile: a full collection stops every thread
    for ~1 us per live object (100+ ms with 20,000 ORM rows loaded), which is the heap's
    size, not CPU work some code left on the loop, and would make the result flaky.
    """
    loop = asyncio.get_running_loop()
    stalls = Stalls()
    handler = _Handler(stalls)
    log = logging.getLogger("asyncio")
    level, was_debug, was_slow = log.level, loop.get_debug(), loop.slow_callback_duration
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    log.addHandler(handler)
    log.setLevel(logging.WARNING)
    loop.slow_callback_duration = threshold
    loop.set_debug(True)
    run = asyncio.events.Handle._run

    def timed(handle: asyncio.events.Handle) -> None:
        started = time.thread_time()
        try:
            run(handle)
        finally:
            took = time.thread_time() - started
            if took > threshold:
                stalls.found.append((took, repr(handle)))

    asyncio.events.Handle._run = timed  # type: ignore[method-assign]
    try:
        yield stalls
    finally:
        asyncio.events.Handle._run = run  # type: ignore[method-assign]
        loop.set_debug(was_debug)
        # The callback running now started in debug mode and is timed when it ends: let it.
        await asyncio.sleep(0)
        loop.slow_callback_duration = was_slow
        log.removeHandler(handler)
        log.setLevel(level)
        if gc_was_enabled:
            gc.enable()
