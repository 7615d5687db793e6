"""Hostile input never makes the core fail: every command answers with a short, clear line.

`bench/fuzz.py` runs the same generator for 20,000 lines; here a seeded few thousand keep the
suite fast. The named cases are those a 20,000-line run once found answered with the central
handler's apology, or with the hostile input echoed back at length.
"""

from __future__ import annotations

import pytest

from bot.core import SORRY
from bot.messages import Incoming, Notice, Tone
from bot.storage.subscriptions_repo import SubscriptionRepo
from tests.fuzzing import fuzz
from tests.helpers import ADMIN, DM, TestBot


async def answer(bot: TestBot, line: str) -> Notice:
    [reply] = await bot.say(line, place=DM)
    assert isinstance(reply, Notice), reply
    assert reply.text != SORRY, line
    return reply


_UNITS = "minutes (90m), hours (12h), days (3d) or weeks (1w)"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("mute 99999999999d", "Mute for at most 30 days (30d)."),
        ("mute " + "9" * 90 + "d", "Mute for at most 30 days (30d)."),
        ("mute " + "9" * 5000 + "d", "duration is too long (5,001 characters; at most 100)."),
        ("mute ²d", f"'²d' is not a duration; use {_UNITS}, or off."),
        ("mute ٣d", f"'٣d' is not a duration; use {_UNITS}, or off."),
        ("digest max ٣", "count must be a whole number, not '٣'."),
        ("digest max 1_0", "count must be a whole number, not '1_0'."),
        ("digest max " + "9" * 5000, "count must be at most 50."),
        ("papers today -" + "9" * 30, "limit must be at least 1."),
    ],
)
async def test_numbers_are_ascii_and_capped(bot: TestBot, line: str, expected: str) -> None:
    reply = await answer(bot, line)
    assert reply.tone == Tone.ERROR
    assert reply.text == expected


@pytest.mark.parametrize("bad", ["\x00", "\ud800", "\udfff", "\u202e", "\u2066", "\x1b"])
async def test_unsafe_characters_never_reach_a_handler(bot: TestBot, bad: str) -> None:
    reply = await answer(bot, f"subscribe diff{bad}usion")
    assert reply.tone == Tone.SUCCESS, reply.text
    assert "“diffusion”" in reply.text
    [sub] = await SubscriptionRepo(bot.app.sessions).all_active()
    assert sub.query == "diffusion"
    # Options typed into Discord's boxes are cleaned the same way.
    incoming = Incoming("subscribe", ADMIN, DM, options={"query": f"agent{bad}s"})
    [reply] = await bot.core.handle(incoming)
    assert isinstance(reply, Notice) and "“agents”" in reply.text, reply


@pytest.mark.parametrize(
    "line",
    [
        "digest max " + "x" * 5000,
        "alerts daily " + "(" * 5000,
        "digest time 09:00\t" + "x" * 5000,
        "help " + "9" * 400,
        "paper " + "x " * 3000,
        "subscribe " + "x" * 5000,
    ],
)
async def test_an_overlong_argument_gets_a_short_answer(bot: TestBot, line: str) -> None:
    reply = await answer(bot, line)
    assert reply.tone in (Tone.ERROR, Tone.WARNING)
    assert len(reply.text) < 200 and "\n" not in reply.text, reply.text


async def test_seeded_fuzz_of_every_command(bot: TestBot) -> None:
    """A few thousand hostile lines: no internal error, no exception, always an answer."""
    sqlite = bot.app.settings.database_url.startswith("sqlite")
    report = await fuzz(bot, 2000 if sqlite else 500, seed=20261201)
    assert report.failures == []
