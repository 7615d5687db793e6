"""The pacer on a fake clock: spacing under a documented rate, holds after a 429, no crawl."""

from __future__ import annotations

import asyncio
import math
import random

from bot.delivery.pacing import CATCH_UP, HEADROOM, Pacer


class Clock:
    """Monotonic time that moves only when a pacer sleeps (or a test says so)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


async def starts(pacer: Pacer, clock: Clock, n: int, *, lag: float = 0.0) -> list[float]:
    """When `n` requests started, each arriving `lag` seconds after the previous start."""
    out = []
    for _ in range(n):
        clock.now += lag
        await pacer.wait()
        out.append(clock.now)
    return out


def most_in_a_window(times: list[float], length: float = 1.0) -> int:
    """The most starts in any fixed window [k, k + length) and any sliding one."""
    fixed = max(sum(1 for t in times if math.floor(t) == k) for k in {math.floor(t) for t in times})
    sliding = max(sum(1 for u in times if t <= u < t + length) for t in times)
    return max(fixed, sliding)


async def test_a_documented_rate_is_kept_evenly_just_under() -> None:
    clock = Clock()
    pacer = Pacer(50.0, clock, clock.sleep)
    times = await starts(pacer, clock, 500)
    gaps = [b - a for a, b in zip(times[CATCH_UP + 1 :], times[CATCH_UP + 2 :], strict=False)]
    assert min(gaps) >= 1 / (50 * HEADROOM) - 1e-9
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert 0.9 * 50 <= rate <= 50
    assert most_in_a_window(times) <= 50


async def test_late_requests_catch_up_only_a_little() -> None:
    """After a stall, a few turns are made up at once, never a burst over a window."""
    clock = Clock()
    pacer = Pacer(50.0, clock, clock.sleep)
    await starts(pacer, clock, 10)
    clock.now += 5.0  # nobody asked for five seconds
    burst = await starts(pacer, clock, 10)
    assert all(abs(t - burst[0]) < 1e-9 for t in burst[: CATCH_UP + 1])  # back to back
    assert burst[CATCH_UP + 1] - burst[0] >= 1 / 50
    rng = random.Random(3)
    times: list[float] = []
    for _ in range(300):  # requests arriving with random lateness never overflow a window
        clock.now += rng.choice([0.0, 0.0, 0.01, 0.05, 0.2])
        await pacer.wait()
        times.append(clock.now)
    assert most_in_a_window(times) <= 50


async def test_a_429_holds_everyone_then_the_full_rate_is_back() -> None:
    clock = Clock()
    pacer = Pacer(50.0, clock, clock.sleep)
    await starts(pacer, clock, 20)
    held_at = clock.now
    pacer.limited(2.0)
    assert pacer.held_for() == 2.0
    after = await starts(pacer, clock, 100)
    assert after[0] >= held_at + 2.0
    # No crawl: straight after the hold the spacing is the documented rate's again.
    rate = (len(after) - 1) / (after[-1] - after[0])
    assert rate >= 0.9 * 50
    # A whole-second hold does not slow anything once it is over.
    pacer.limited(1.0)
    again = await starts(pacer, clock, 100)
    assert (len(again) - 1) / (again[-1] - again[0]) >= 0.9 * 50


async def test_waiters_take_turns_in_order_and_a_hold_stops_them_all() -> None:
    clock = Clock()
    pacer = Pacer(10.0, clock, clock.sleep)
    order: list[tuple[int, float]] = []

    async def one(i: int) -> None:
        await pacer.wait()
        order.append((i, clock.now))
        if i == 2:
            pacer.limited(3.0)

    await asyncio.gather(*(one(i) for i in range(6)))
    assert [i for i, _ in order] == list(range(6))
    hold_end = order[2][1] + 3.0
    assert all(t >= hold_end for i, t in order if i > 2)


async def test_without_a_documented_rate_only_holds_pace() -> None:
    clock = Clock()
    pacer = Pacer(None, clock, clock.sleep)
    assert await starts(pacer, clock, 5) == [100.0] * 5
    pacer.limited(0.5)
    assert await starts(pacer, clock, 3) == [100.5] * 3
