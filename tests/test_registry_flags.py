"""Flags and references declared once on the argument: typed text, Discord options, hints.

`--dm` (a switch), `--days N` (a value) and `#<id>` (a reference) are declared on the
command's `Arg`; the typed parser, the platform options, the usage line and the hints all
come from that one declaration, and every completion goes through `Core.complete`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.discord import DiscordAdapter
from bot.app import App
from bot.commands import build_registry
from bot.commands.args import Arg, Style
from bot.commands.registry import Command, Context, Registry
from bot.core import Core
from bot.errors import UsageError
from bot.messages import Fields, Incoming, Notice, Reply
from tests.discord_helpers import running_adapter
from tests.fakes.discord_server import ALL_PERMISSIONS, FakeDiscord
from tests.helpers import ADMIN, CHANNEL, TestBot

REGISTRY = build_registry()


def command(name: str) -> Command:
    found = REGISTRY.get(name)
    assert found is not None
    return found


# ----- typed text ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("subscribe", "agents --dm", {"query": "agents", "dm": True}),
        ("subscribe", "--dm agents", {"query": "agents", "dm": True}),
        ("subscribe", '"chain of thought" --DM', {"query": '"chain of thought"', "dm": True}),
        ("subscribe", "agents", {"query": "agents"}),
        # Only at the ends: in the middle it is a query word (the query parser says so).
        ("subscribe", "agents --dm video", {"query": "agents --dm video"}),
        ("subscribe", "a --dm --dm", {"query": "a --dm", "dm": True}),
        ("unsubscribe", "7 --dm", {"id": "7", "dm": True}),
        ("unsubscribe", "--dm 7", {"id": "7", "dm": True}),
        ("search", "diffusion --days 30", {"query": "diffusion", "days": 30}),
        ("search", "diffusion --days=30", {"query": "diffusion", "days": 30}),
        ("search", "diffusion --days 30 video", {"query": "diffusion --days 30 video"}),
        ("why", "2412.17747 #12", {"paper": "2412.17747", "subscription": "12"}),
        ("why", "latent space #3", {"paper": "latent space", "subscription": "3"}),
        ("why", "2412.17747 12", {"paper": "2412.17747", "subscription": "12"}),
        ("why", "sample-001 4", {"paper": "sample-001", "subscription": "4"}),
        ("why", "GPT 4", {"paper": "GPT 4"}),  # after title words a number is a title word
    ],
)
def test_typed_flags_and_references(name: str, text: str, expected: dict[str, Any]) -> None:
    assert command(name).parse_text(text) == expected


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("unsubscribe", "1 2", "Too many arguments: '2'."),
        ("search", "diffusion --days", "--days needs a number of days, as in --days 30."),
        ("search", "diffusion --days=", "--days needs a number of days, as in --days 30."),
        ("search", "diffusion --days week", "days must be a whole number, not 'week'."),
    ],
)
def test_typed_flag_errors(name: str, text: str, message: str) -> None:
    with pytest.raises(UsageError) as exc:
        command(name).parse_text(text)
    assert str(exc.value) == message


def test_a_switch_must_be_declared_with_its_flag_and_shown_in_the_usage() -> None:
    with pytest.raises(ValueError, match="needs a flag"):
        Arg("dm", "By DM", required=False, kind="bool")
    with pytest.raises(ValueError, match="must start with --"):
        Arg("days", "Days", kind="int", flag="days")

    async def handler(ctx: Context, args: dict[str, Any]) -> list[Reply]:
        return []

    flag = Arg("dm", "By DM", required=False, kind="bool", flag="--dm")
    with pytest.raises(ValueError, match="does not show --dm"):
        Command("x", "X.", "x <query>", handler, args=(Arg("query", "Q", rest=True), flag))


# ----- platform options --------------------------------------------------------------------------


def test_options_carry_switches_as_booleans_and_read_typed_flags_in_the_text_option() -> None:
    subscribe, why, search = command("subscribe"), command("why"), command("search")
    assert subscribe.parse_options({"query": "agents", "dm": "True"}) == {
        "query": "agents",
        "dm": True,
    }
    assert subscribe.parse_options({"query": "agents", "dm": "false"}) == {
        "query": "agents",
        "dm": False,
    }
    assert subscribe.parse_options({"query": "--dm agents"}) == {"query": "agents", "dm": True}
    assert why.parse_options({"paper": "2412.17747 #2"}) == {
        "paper": "2412.17747",
        "subscription": "2",
    }
    assert search.parse_options({"query": "x --days 30"}) == {"query": "x", "days": 30}
    # Explicit options win over the typed form, which then stays query text.
    assert search.parse_options({"query": "x --days 30", "days": "5"}) == {
        "query": "x --days 30",
        "days": 5,
    }
    with pytest.raises(UsageError, match="dm must be true or false"):
        subscribe.parse_options({"query": "agents", "dm": "maybe"})


async def test_discord_options_come_from_the_same_declaration(
    fake: FakeDiscord, sample_app: App
) -> None:
    async with running_adapter(fake, Core(sample_app, REGISTRY)):
        synced = {c["name"]: c for c in fake.synced["global"]}
    shapes = {
        name: [(o["name"], o["type"], o.get("required", False)) for o in synced[name]["options"]]
        for name in ("subscribe", "unsubscribe", "search", "why")
    }
    assert shapes == {
        "subscribe": [("query", 3, True), ("dm", 5, False), ("when_crossed", 5, False)],
        "unsubscribe": [("id", 3, True), ("dm", 5, False)],
        "search": [("query", 3, True), ("days", 4, False)],
        "why": [("paper", 3, True), ("subscription", 3, False)],
    }
    days = synced["search"]["options"][1]
    assert (days["min_value"], days["max_value"]) == (1, 365)
    assert synced["why"]["options"][1]["autocomplete"] is True


# ----- hints per input style ---------------------------------------------------------------------


def test_usage_lines_per_style() -> None:
    assert command("search").usage_in(Style.TYPED) == "search <query> [--days 1-365]"
    assert command("search").usage_in(Style.OPTIONS) == "search <query> [days:1-365]"
    assert command("unsubscribe").usage_in(Style.OPTIONS) == "unsubscribe <id> [dm:True]"
    assert command("why").usage_in(Style.OPTIONS) == "why <paper> [subscription:id]"
    assert command("unsubscribe").invocation(Style.TYPED, id=7, dm=True) == "unsubscribe 7 --dm"
    assert command("unsubscribe").invocation(Style.OPTIONS, id=7, dm=True) == (
        "unsubscribe id:7 dm:True"
    )
    assert command("why").invocation(Style.TYPED, paper="<paper>", subscription=3) == (
        "why <paper> #3"
    )
    dm = command("subscribe").arg("dm")
    assert (dm.advice(Style.TYPED), dm.advice(Style.OPTIONS)) == ("add --dm", "set the dm option")


def one(replies: list[Reply]) -> Notice:
    [reply] = replies
    assert isinstance(reply, Notice)
    return reply


def options(name: str, **values: str) -> Incoming:
    return Incoming(command=name, user=ADMIN, place=CHANNEL, options=values)


async def test_usage_errors_are_phrased_per_style(bot: TestBot) -> None:
    typed = one(await bot.say("/search diffusion --days"))
    assert typed.text == "--days needs a number of days, as in --days 30."
    assert typed.usage == "/search <query> [--days 1-365]"
    given = one(await bot.core.handle(options("search", query="diffusion --days")))
    assert given.text == "--days needs a number of days: set the days option, as in days:30."
    assert given.usage == "/search <query> [days:1-365]"

    typed = one(await bot.say("/search diffusion --days 30 video"))
    assert typed.text == '"--days" is an option, not part of the query: put it after the query.'
    given = one(await bot.core.handle(options("search", query="diffusion --days 30 video")))
    assert given.text == '"--days" is an option, not part of the query: set the days option.'


async def test_hints_name_the_option_on_platforms_with_options(bot: TestBot) -> None:
    one(await bot.say("/subscribe audio --dm"))
    typed = one(await bot.say("/unsubscribe 1"))
    assert typed.text.endswith("#1 is a personal one of yours: /unsubscribe 1 --dm.")
    given = one(await bot.core.handle(options("unsubscribe", id="1")))
    assert given.text.endswith("#1 is a personal one of yours: /unsubscribe id:1 dm:True.")

    duplicate = one(await bot.core.handle(options("subscribe", query="audio", dm="True")))
    assert duplicate.text.endswith("Test it with /why paper:<paper> subscription:1.")
    empty = one(await bot.core.handle(options("search", query="audio", days="3")))
    assert empty.text.endswith("Try a longer period: /search query:audio days:365.")


async def test_help_shows_usage_lines_per_style(bot: TestBot) -> None:
    [typed] = await bot.say("/help subscribe")
    given = await bot.core.handle(options("help", command="subscribe"))
    assert isinstance(typed, Fields) and isinstance(given[0], Fields)
    assert typed.rows[0][0] == "/subscribe <query> [--dm] [--when-crossed]"
    assert given[0].rows[0][0] == "/subscribe <query> [dm:True] [when_crossed:True]"


# ----- completion through the core ---------------------------------------------------------------


async def _echo(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    return []


async def _stub_zones(ctx: Context, typed: str) -> list[tuple[str, str]]:
    return [(f"Mars/{typed.title()}", f"Mars/{typed.title()}")]


def _completing_registry() -> Registry:
    many = tuple(f"topic{i:02d}" for i in range(30))  # over Discord's 25 fixed choices
    registry = Registry(
        [
            Command(
                "pick",
                "Pick a topic and a zone.",
                "pick <topic> [zone]",
                _echo,
                args=(
                    Arg("topic", "One of 30", kind="choice", choices=many),
                    Arg("zone", "A zone", required=False, autocomplete="timezone"),
                ),
            )
        ]
    )
    registry.add_completer("timezone", _stub_zones)
    return registry


async def test_core_completes_long_choice_lists_and_registered_completers() -> None:
    core = Core(None, _completing_registry())  # type: ignore[arg-type]
    incoming = options("pick")
    assert await core.complete(incoming, "topic", "TOPIC2") == [
        (f"topic2{i}", f"topic2{i}") for i in range(10)
    ]
    assert await core.complete(incoming, "zone", "olympus") == [("Mars/Olympus", "Mars/Olympus")]
    assert await core.complete(incoming, "nothing", "x") == []


@pytest.fixture
async def completing(fake: FakeDiscord) -> AsyncIterator[DiscordAdapter]:
    core = Core(None, _completing_registry())  # type: ignore[arg-type]
    async with running_adapter(fake, core) as adapter:
        yield adapter


async def _offered(fake: FakeDiscord, values: dict[str, Any], focused: str) -> Any:
    payload = fake.interaction("pick", values, kind=4, focused=focused, permissions=ALL_PERMISSIONS)
    await fake.interact(payload)
    [body] = await fake.wait_until(lambda: fake.callbacks.get(payload["id"]), 10)
    return body["data"]["choices"]


async def test_discord_offers_what_the_core_completes(
    fake: FakeDiscord, completing: DiscordAdapter
) -> None:
    # The zone list is the core's completer (here a stub): the adapter has none of its own.
    assert await _offered(fake, {"topic": "topic01", "zone": "olympus"}, "zone") == [
        {"name": "Mars/Olympus", "value": "Mars/Olympus"}
    ]
    choices = await _offered(fake, {"topic": "ic29"}, "topic")
    assert choices == [{"name": "topic29", "value": "topic29"}]
