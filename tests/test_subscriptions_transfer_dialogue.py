"""Dialogues: subscriptions export and import — round trips, duplicates, invalid lines, limits,
permissions, a newer format, and a fault mid-import that must leave nothing half-imported."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.messages import Incoming, Notice, Reply, Tone
from bot.services import subscription_file
from bot.settings import load_settings
from bot.storage import subscriptions_repo
from tests.helpers import ADMIN, CHANNEL, DM, MEMBER, TestBot


def notices(replies: list[Reply]) -> list[Notice]:
    assert all(isinstance(r, Notice) for r in replies), replies
    return [r for r in replies if isinstance(r, Notice)]


def one(replies: list[Reply]) -> Notice:
    [reply] = notices(replies)
    return reply


async def queries_of(bot: TestBot, *, personal: bool = False) -> list[str]:
    place = DM if personal else CHANNEL
    dest = await bot.app.destinations.find(ADMIN, place, personal=personal)
    if dest is None:
        return []
    return [r.query for r in await bot.app.subscriptions.list_for(dest.id)]


def exported_file(replies: list[Reply]) -> str:
    """The file an export's replies carry: every part after the heading notice."""
    head, *parts = notices(replies)
    assert "format v1" in head.text and parts
    return "\n".join(p.text for p in parts)


async def test_export_writes_a_versioned_file_with_queries_and_settings(bot: TestBot) -> None:
    await bot.say("/subscribe diffusion -audio")
    await bot.say('/subscribe "world model" upvotes>=20')
    await bot.say("/digest time 07:30 Europe/Berlin")
    replies = await bot.say("/subscriptions export")
    head = notices(replies)[0]
    assert head.ephemeral
    assert "Restore them anywhere with /subscriptions import <the lines>" in head.text
    assert exported_file(replies) == (
        "# paperbot subscriptions v1\n"
        "# of: #papers\n"
        "# digest: 07:30 Europe/Berlin, every day, at most 10 papers, min upvotes 0\n"
        "diffusion -audio\n"
        '"world model" upvotes>=20'
    )


async def test_an_export_pasted_back_elsewhere_restores_every_query(bot: TestBot) -> None:
    await bot.say("/subscribe diffusion -audio")
    await bot.say("/subscribe title:(agent OR tool) keyword:benchmark")
    text = exported_file(await bot.say("/subscriptions export"))
    reply = one(await bot.say(f"/subscriptions import {text}", place=DM))
    assert reply.tone == Tone.SUCCESS
    assert reply.text.startswith("Imported into the subscriptions of you personally. Added 2:")
    assert await queries_of(bot, personal=True) == [
        "diffusion -audio",
        "title:(agent OR tool) keyword:benchmark",
    ]
    # Importing the same file again is harmless: everything is a duplicate, nothing is added.
    again = one(await bot.say(f"/subscriptions import {text}", place=DM))
    assert "Added 0." in again.text and "2 already subscribed (#3, #4)." in again.text
    assert len(await queries_of(bot, personal=True)) == 2


async def test_personal_export_says_the_alert_settings(bot: TestBot) -> None:
    await bot.say("/subscribe agents", place=DM)
    await bot.say("/alerts instant", place=DM)
    text = exported_file(await bot.say("/subscriptions export --dm"))
    assert text.splitlines()[1:4] == [
        "# of: you personally (alerts by DM)",
        "# alerts: instant",
        "agents",
    ]


async def test_import_reports_added_duplicate_and_each_invalid_line(bot: TestBot) -> None:
    await bot.say("/subscribe diffusion")
    reply = one(
        await bot.say('/subscriptions import Diffusion; "world model"; (agents; the OR of; audio')
    )
    assert reply.tone == Tone.WARNING
    assert reply.text == (
        'Imported into the subscriptions of #papers. Added 2: #2 “"world model"”, #3 “audio”.\n'
        "1 already subscribed (#1).\n"
        "2 invalid, not imported:\n"
        "line 3 '(agents': Unclosed \"(\" at position 1\n"
        "line 4 'the OR of': The query would match almost every paper: 'the OR of' is only "
        "common words (the, of, a, …); add a word it must contain"
    )
    assert await queries_of(bot) == ["diffusion", '"world model"', "audio"]


async def test_import_reads_lines_comments_fences_and_semicolons_inside_quotes(
    bot: TestBot,
) -> None:
    text = (
        '```\n# paperbot subscriptions v1\n# of: #elsewhere; ignored\n"a; b" graphs\n\nvideo\n```'
    )
    reply = one(await bot.say(f"/subscriptions import {text}"))
    assert reply.tone == Tone.SUCCESS, reply.text
    assert await queries_of(bot) == ['"a; b" graphs', "video"]


async def test_a_duplicate_inside_one_import_is_added_once(bot: TestBot) -> None:
    reply = one(await bot.say("/subscriptions import agents; Agents; video"))
    assert "Added 2:" in reply.text and "1 already subscribed (#1)." in reply.text
    assert await queries_of(bot) == ["agents", "video"]


async def test_a_newer_format_is_refused_whole(bot: TestBot) -> None:
    reply = one(await bot.say("/subscriptions import # paperbot subscriptions v2\nagents"))
    assert reply.tone == Tone.ERROR
    assert reply.text.startswith("This file is format v2, from a newer paperbot")
    assert await queries_of(bot) == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/subscriptions import", "Paste the queries to import after the command"),
        ("/subscriptions import # only a comment", "There is no query in that text"),
        ("/subscriptions diffusion", "action must be one of: list, export, import."),
        ("/subscriptions list agents", "Only import takes queries"),
        (
            "/subscriptions import " + "a" * 6001,
            "queries is too long (6,001 characters; at most 6,000).",
        ),
    ],
)
async def test_bad_imports_say_what_is_wrong(bot: TestBot, line: str, expected: str) -> None:
    reply = one(await bot.say(line))
    assert reply.tone == Tone.ERROR and expected in reply.text, reply.text
    assert await queries_of(bot) == []


async def test_a_member_cannot_import_into_the_channel_but_can_import_for_themselves(
    bot: TestBot,
) -> None:
    reply = one(await bot.say("/subscriptions import agents", user=MEMBER))
    assert reply.tone == Tone.ERROR
    assert reply.text == (
        "Only people who may manage this channel can import subscriptions into it. Import them "
        "as yours with /subscriptions import --dm <queries>."
    )
    assert await queries_of(bot) == []
    ok = one(await bot.say("/subscriptions import agents --dm", user=MEMBER))
    assert ok.tone == Tone.SUCCESS and ok.ephemeral
    dest = await bot.app.destinations.find(MEMBER, CHANNEL, personal=True)
    assert dest is not None
    assert [r.query for r in await bot.app.subscriptions.list_for(dest.id)] == ["agents"]


async def test_an_import_past_the_limit_adds_nothing(db_url: str, clock: Any) -> None:
    from bot.app import build_app

    settings = load_settings({"DATABASE_URL": db_url, "MAX_SUBSCRIPTIONS_PER_CHANNEL": "3"})
    app = build_app(settings, source_name="sample", clock=clock)
    try:
        bot = TestBot(app)
        await bot.say("/subscribe agents")
        reply = one(await bot.say("/subscriptions import video; audio; agents; graphs"))
        assert reply.tone == Tone.ERROR
        assert reply.text == (
            "Nothing was imported: #papers holds 1 of 3 subscriptions and the new queries "
            "would pass that. Remove some or import fewer, then try again."
        )
        assert await queries_of(bot) == ["agents"]
        # Two new ones (and a duplicate) fit exactly.
        ok = one(await bot.say("/subscriptions import video; audio; agents"))
        assert ok.tone == Tone.SUCCESS
        assert await queries_of(bot) == ["agents", "video", "audio"]
    finally:
        await app.close()


async def test_a_fault_in_the_middle_of_an_import_leaves_nothing_half_imported(
    bot: TestBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    await bot.say("/subscribe agents")
    real: Callable[[str], object] = subscriptions_repo._parsed
    calls: list[str] = []

    def failing_on_the_third(query: str) -> object:
        calls.append(query)
        if len(calls) == 3:
            raise RuntimeError("the database went away")
        return real(query)

    monkeypatch.setattr(subscriptions_repo, "_parsed", failing_on_the_third)
    reply = one(await bot.say("/subscriptions import video; audio; graphs; robots"))
    assert reply.tone == Tone.ERROR and "the database" not in reply.text  # no internals
    assert calls == ["video", "audio", "graphs"]  # two rows were written before the fault
    assert await queries_of(bot) == ["agents"]  # ... and rolled back with the rest
    monkeypatch.setattr(subscriptions_repo, "_parsed", real)
    ok = one(await bot.say("/subscriptions import video; audio; graphs; robots"))
    assert ok.text.startswith("Imported into the subscriptions of #papers. Added 4:")


async def test_an_export_too_long_for_one_message_comes_in_parts_that_import_back(
    bot: TestBot,
) -> None:
    words = [f'"topic number {i:03d} of a long list" upvotes>={i}' for i in range(44)]
    for chunk in (words[:22], words[22:]):  # 44: within the personal limit of 50
        reply = one(await bot.say("/subscriptions import " + "; ".join(chunk)))
        assert reply.text.startswith("Imported into the subscriptions of #papers. Added 22:")
    head, *parts = notices(await bot.say("/subscriptions export"))
    assert len(parts) >= 2 and f"comes in {len(parts)} parts" in head.text
    assert all(len(p.text) <= 1500 for p in parts)
    for part in parts:
        reply = one(await bot.say(f"/subscriptions import {part.text}", place=DM))
        assert reply.tone == Tone.SUCCESS, reply.text
    assert await queries_of(bot, personal=True) == await queries_of(bot)


async def test_nothing_to_export_says_so(bot: TestBot) -> None:
    reply = one(await bot.say("/subscriptions export"))
    assert reply.text == "This channel has no subscriptions to export."


async def test_import_as_platform_options_takes_semicolons_for_line_breaks(bot: TestBot) -> None:
    # Discord's text option cannot hold a line break: ";" separates, and the usage reads so.
    incoming = Incoming(
        command="subscriptions",
        user=ADMIN,
        place=CHANNEL,
        options={"action": "import", "queries": "agents; video OR audio"},
    )
    reply = one(await bot.core.handle(incoming))
    assert reply.tone == Tone.SUCCESS, reply.text
    assert await queries_of(bot) == ["agents", "video OR audio"]
    export = Incoming(
        command="subscriptions", user=ADMIN, place=CHANNEL, options={"action": "export"}
    )
    head = notices(await bot.core.handle(export))[0]
    assert "/subscriptions action:import queries:<the lines>" in head.text


def test_parts_never_split_a_line() -> None:
    text = "\n".join(f"line {i}" for i in range(100))
    pieces = subscription_file.parts(text, 50)
    assert all(len(p) <= 50 for p in pieces)
    assert "\n".join(pieces) == text
