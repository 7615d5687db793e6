"""Hostile command lines for every registered command, reproducible from a seed.

Shared by `tests/test_fuzz_commands.py` (a few thousand lines in the normal suite) and
`bench/fuzz.py` (the 20,000-line run). A line is a registered command (sometimes mangled)
followed by fragments chosen to break parsers: unicode of every class (lone surrogates,
NUL, bidi controls, combining marks, non-ASCII digits), huge and odd numbers, long strings,
unbalanced quotes and parentheses, flags, mentions and the query language's operators.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from bot.commands.registry import Registry
from bot.core import SORRY
from bot.messages import Notice, Place, Reply, Tone, User
from tests.helpers import ADMIN, CHANNEL, DM, MEMBER, TestBot

SPECIALS = [
    "\x00", "\ud800", "\udfff", "\ud83d", "\u202e", "\u202d", "\u2066", "\u2069", "\u200f",
    "\u061c", "\ufeff", "\u200b", "\u200d", "\x1b[31m", "\x7f", "\x85", "\u2028", "\r", "\t",
    "\u0301", "\ufffd", "\U0001f680", "论文", "بحث", "ﷺ", "𝕏",
]  # fmt: skip
DIGITS = ["²", "٣", "５", "①", "߃", "১", "〇", "Ⅻ", "¾", "𝟘"]
NUMBERS = [
    "0", "-1", "+5", "1_000", "1e309", "0x10", "NaN", "inf", "-0", "007", "3.5", "1,000",
    "9" * 10, "9" * 20, "9" * 400, "9" * 5000, "-" + "9" * 30,
]  # fmt: skip
WORDS = [
    # durations, times, zones, days
    "99999999999d", "²d", "٣d", "0d", "-1d", "1.5d", "3 days", "30d", "31d", "12h", "1w",
    "90m", "5min", "off", "d", "w3", "25:00", "9:60", "٠٩:٣٠", "24:00", "-1:00",
    "99999999:00", "09:30", "Europe/Berlin", "../../etc/passwd", "UTC+99", "Etc/GMT+14",
    "America/New_York", "2024-13-01", "0000-01-01", "9999-12-31", "99999-01-01",
    "2024-02-30", "١٢٣٤-٠١-٠١", "today", "yesterday", "tomorrow",
    # quotes and flags
    '"', "'", '"unclosed', "'''", '""', "“smart”", "«q»", "--dm", "--days", "--days 0",
    "--days 99999999999", "--", "-", "--x", "—dm", "-dm", "--DM",
    # the query language
    "(", ")", "((((((", "))", "OR", "NOT", "AND", "title:", "author:", "abstract:",
    "keyword:\"", "upvotes>=", "upvotes>=99999999999999999999", "upvotes>=²", "upvotes<-1",
    "*", "a OR OR b", "\\", "author:\"\"", "title:(x)", "diffusion", "LLM", "\"world model\"",
    # mentions, ids, links
    "<!channel>", "@everyone", "@here", "<@U123>", "<@&123456789012345678>", "<#C1>",
    "2412.17747", "2412.17747v2", "sample-01", "#1", "#99999999999999999999", "#-1", "#²",
    "1", "2", "https://arxiv.org/abs/2412.17747", "<https://x.example|y>",
    "https://huggingface.co/papers/" + "9" * 300, "arXiv:", "help", "digest",
]  # fmt: skip


def random_text(rng: random.Random, n: int) -> str:
    """`n` code points from anywhere in Unicode, surrogates and controls included."""
    out = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.3:
            out.append(chr(rng.randrange(0x20, 0x7F)))
        elif roll < 0.4:
            out.append(chr(rng.randrange(0, 0x20)))
        elif roll < 0.5:
            out.append(chr(rng.randrange(0xD800, 0xE000)))
        else:
            out.append(chr(rng.randrange(0x80, 0x110000)))
    return "".join(out)


def fragment(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.35:
        return rng.choice(WORDS)
    if roll < 0.45:
        return rng.choice(NUMBERS)
    if roll < 0.55:
        return rng.choice(DIGITS) + rng.choice(["", "d", "h", ":00", "0"])
    if roll < 0.7:
        return rng.choice(WORDS) + rng.choice(SPECIALS) + rng.choice(WORDS)
    if roll < 0.8:
        return random_text(rng, rng.randrange(1, 12))
    if roll < 0.85:
        return rng.choice("x(\"'-") * rng.choice([301, 1000, 5000])
    if roll < 0.9:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randrange(30, 60)))
    return rng.choice(SPECIALS)


def command_word(rng: random.Random, name: str) -> str:
    roll = rng.random()
    if roll < 0.85:
        return name
    if roll < 0.9:
        return name.upper()
    if roll < 0.95:
        return name + rng.choice(SPECIALS)
    return rng.choice(SPECIALS) + name


def hostile_lines(registry: Registry, n: int, seed: int) -> Iterator[str]:
    """`n` command lines, every registered command in turn, with hostile arguments."""
    rng = random.Random(seed)
    names = sorted(c.name for c in registry.all())
    for i in range(n):
        words = [command_word(rng, names[i % len(names)])]
        words += [fragment(rng) for _ in range(rng.choice([0, 1, 1, 2, 2, 3, 5]))]
        separators = [" ", " ", " ", "  ", "\t", "\n", "\u3000", "\xa0"]
        line = words[0]
        for w in words[1:]:
            line += rng.choice(separators) + w
        yield rng.choice(["", "/", "/", " /", "//"]) + line


@dataclass
class FuzzReport:
    commands: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (line, what went wrong)


MAX_ERROR = 400  # characters of an error answer
WHO: list[tuple[User, Place]] = [(ADMIN, CHANNEL), (MEMBER, CHANNEL), (ADMIN, DM), (MEMBER, DM)]


def problem(replies: list[Reply]) -> str | None:
    """What is wrong with a command's answer, or None."""
    if not replies:
        return "no answer"
    for reply in replies:
        if not isinstance(reply, Notice):
            continue
        if reply.text == SORRY:
            return "internal error"
        # A user's mistake gets one short line, never their input echoed back at length.
        if reply.tone is Tone.ERROR and ("\n" in reply.text or len(reply.text) > MAX_ERROR):
            return f"long error: {len(reply.text)} characters, {reply.text[:80]!r}"
    return None


async def fuzz(bot: TestBot, n: int, seed: int) -> FuzzReport:
    """Run `n` hostile lines through the real core; collect every line answered wrongly."""
    report = FuzzReport()
    for i, line in enumerate(hostile_lines(bot.core.registry, n, seed)):
        user, place = WHO[i % len(WHO)]
        report.commands += 1
        try:
            replies = await bot.say(line, user, place)
        except Exception as exc:  # the core promises never to raise
            report.failures.append((line, f"raised: {exc!r}"))
            continue
        if (what := problem(replies)) is not None:
            report.failures.append((line, what))
    return report
