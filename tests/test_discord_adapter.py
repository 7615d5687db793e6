"""The Discord adapter end to end: real discord.py and the real core against a fake Discord."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.discord import DiscordAdapter
from bot.app import App
from bot.commands import build_registry
from bot.commands.registry import Arg, Command, Handler, Registry
from bot.commands.schedule import complete_timezone
from bot.core import Core
from bot.errors import CommandError
from bot.messages import Fields, Notice, Reply
from bot.sources.huggingface import parse_daily_items
from tests.discord_helpers import embed_titles, env_for, running_adapter
from tests.fakes.discord_server import (
    ALL_PERMISSIONS,
    EPHEMERAL,
    EVERYONE_PERMISSIONS,
    FakeDiscord,
)
from tests.helpers import daily_item

MANAGE_CHANNELS = 1 << 4


def manager_only(command: Command) -> bool:
    """Offered to Manage Channels only: a channel command without a personal scope."""
    return command.manages_channel and not command.has_personal_scope


def perm(payload: dict[str, Any]) -> str | None:
    """default_member_permissions (discord.py sends a string for commands, an int for groups)."""
    value = payload["default_member_permissions"]
    return None if value is None else str(value)


@pytest.fixture
async def bot(fake: FakeDiscord, sample_app: App) -> AsyncIterator[DiscordAdapter]:
    async with running_adapter(fake, Core(sample_app, build_registry())) as adapter:
        yield adapter


# ----- a stand-in registry for the shapes the real one may not have yet --------------------


async def _echo(ctx: Any, args: dict[str, Any]) -> list[Reply]:
    rows = tuple((k, str(v)) for k, v in sorted(args.items()))
    place = "dm" if ctx.place.is_dm else "channel"
    return [Fields(f"{ctx.command.name} in {place} by {ctx.user.name}", rows or (("args", "-"),))]


def _slow_search(fake: FakeDiscord | None) -> Handler:
    async def search(ctx: Any, args: dict[str, Any]) -> list[Reply]:
        if fake is not None:
            # Slow on purpose: answer only once the adapter has deferred ("thinking").
            await fake.wait_until(
                lambda: any(cb and cb[0].get("type") == 5 for cb in fake.callbacks.values())
            )
        if args["query"] == "bad":
            raise CommandError("The search service is down.")
        return [Notice(f"Found nothing for {args['query']} after a long look.")]

    return search


async def _several(ctx: Any, args: dict[str, Any]) -> list[Reply]:
    return [
        Notice("Saved."),
        Fields("Details", (("a", "1"),)),
        Notice("Only you see this.", ephemeral=True),
    ]


async def _subs(ctx: Any, prefix: str) -> list[tuple[str, str]]:
    subs = [("#1 diffusion", "1"), ("#2 protein folding", "2"), ("#3 diffusion models", "3")]
    return [(label, value) for label, value in subs if prefix.lower() in label]


def standin_registry(fake: FakeDiscord | None = None) -> Registry:
    reg = Registry(
        [
            Command(
                "subscribe",
                "Subscribe a channel or your DMs to a topic.",
                "subscribe <query>",
                _echo,
                args=(
                    Arg("query", "Words, an author or a category", rest=True),
                    Arg(
                        "where", "here or dm", required=False, kind="choice", choices=("here", "dm")
                    ),
                ),
                manages_channel=True,
            ),
            Command(
                "unsubscribe",
                "Remove a subscription.",
                "unsubscribe <id>",
                _echo,
                args=(Arg("id", "The subscription", autocomplete="subscription"),),
                manages_channel=True,
            ),
            Command(
                "digest time",
                "Set when the daily digest is posted here. " + "x" * 120,
                "digest time <HH:MM> [zone]",
                _echo,
                args=(
                    Arg("time", "HH:MM"),
                    Arg("zone", "IANA zone", required=False, autocomplete="timezone"),
                ),
                manages_channel=True,
            ),
            Command(
                "digest max",
                "Cap the digest.",
                "digest max <n>",
                _echo,
                args=(Arg("count", "How many papers", kind="int", min_value=1, max_value=50),),
                manages_channel=True,
            ),
            Command("status", "Show this place's settings.", "status", _echo, ephemeral=True),
            Command("several", "Answer three times.", "several", _several),
            Command(
                "search",
                "Search stored papers.",
                "search <words>",
                _slow_search(fake),
                args=(Arg("query", "Words", rest=True),),
            ),
        ]
    )
    reg.add_completer("subscription", _subs)
    # The real zone completer: the adapter offers what the core completes, nothing of its own.
    reg.add_completer("timezone", complete_timezone)
    return reg


@pytest.fixture
async def standin(fake: FakeDiscord) -> AsyncIterator[DiscordAdapter]:
    # The stand-in handlers need no services, so no database either.
    core = Core(None, standin_registry(fake))  # type: ignore[arg-type]
    async with running_adapter(fake, core, defer_after=0.15) as adapter:
        yield adapter


# ----- login and sync ------------------------------------------------------------------------


async def test_login_syncs_every_registry_command(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    registry = build_registry()
    synced = {c["name"]: c for c in fake.synced["global"] if c.get("type", 1) == 1}
    assert set(synced) == set(registry.groups())
    menus = [c["name"] for c in fake.synced["global"] if c.get("type") == 3]
    assert menus == [c.message_command for c in registry.all() if c.message_command]
    for group, commands in registry.groups().items():
        top = synced[group]
        if len(commands) > 1:  # a slash command group: every manager command, or no default
            expected = str(MANAGE_CHANNELS) if all(map(manager_only, commands)) else None
            assert perm(top) == expected
            assert {o["name"] for o in top["options"]} == {c.words[-1] for c in commands}
        for command in commands:
            if len(commands) > 1:
                [payload] = [o for o in top["options"] if o["name"] == command.words[-1]]
                assert payload["type"] == 1  # subcommand
            else:
                payload = top
                expected = str(MANAGE_CHANNELS) if manager_only(command) else None
                assert perm(payload) == expected
            assert payload["description"] == _fit(command.help)
            args = sorted(command.args, key=lambda a: not a.required)
            options = payload.get("options", [])
            assert [o["name"] for o in options] == [a.name for a in args]
            for arg, option in zip(args, options, strict=True):
                assert option["description"] == _fit(arg.description)
                assert option.get("required", False) == arg.required
                assert option["type"] == {"int": 4, "bool": 5}.get(arg.kind, 3)
                if arg.min_value is not None:
                    assert option["min_value"] == arg.min_value
                if arg.kind == "choice" and len(arg.choices) <= 25 and not arg.autocomplete:
                    assert [c["value"] for c in option["choices"]] == list(arg.choices)
                if arg.autocomplete:
                    assert option["autocomplete"] is True
    assert fake.identifies[0]["intents"] & ((1 << 1) | (1 << 8) | (1 << 15)) == 0  # unprivileged


def _fit(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 100 else text[:99].rstrip() + "…"


async def test_sync_shapes_groups_choices_permissions_and_autocomplete(
    fake: FakeDiscord, standin: DiscordAdapter
) -> None:
    synced = {c["name"]: c for c in fake.synced["global"]}
    assert sorted(synced) == ["digest", "search", "several", "status", "subscribe", "unsubscribe"]
    digest = synced["digest"]
    assert perm(digest) == str(MANAGE_CHANNELS)
    subs = {o["name"]: o for o in digest["options"]}
    assert set(subs) == {"time", "max"} and all(o["type"] == 1 for o in subs.values())
    assert len(subs["time"]["description"]) == 100 and subs["time"]["description"].endswith("…")
    zone = subs["time"]["options"][1]
    assert zone == {
        "type": 3,
        "name": "zone",
        "description": "IANA zone",
        "required": False,
        "autocomplete": True,
    }
    count = subs["max"]["options"][0]
    assert (count["type"], count["min_value"], count["max_value"]) == (4, 1, 50)
    where = synced["subscribe"]["options"][1]
    assert where["choices"] == [{"name": "here", "value": "here"}, {"name": "dm", "value": "dm"}]
    assert perm(synced["subscribe"]) == str(MANAGE_CHANNELS)
    assert synced["unsubscribe"]["options"][0]["autocomplete"] is True
    assert perm(synced["status"]) is None


async def test_guild_id_syncs_to_that_guild(fake: FakeDiscord) -> None:
    env = env_for(fake, DISCORD_GUILD_ID=fake.guild_id)
    core = Core(None, standin_registry())  # type: ignore[arg-type]
    async with running_adapter(fake, core, env):
        assert "global" not in fake.synced
        assert {c["name"] for c in fake.synced[fake.guild_id]} >= {"digest", "status"}
        # Guild commands are found through data.guild_id.
        token = await fake.interact(fake.interaction("status", guild_command=True))
        [msg] = await fake.wait_reply(token)
        assert msg["embeds"][0]["title"] == "status in channel by alice"


# ----- interactions ----------------------------------------------------------------------------


async def test_options_and_subcommands_reach_the_core(
    fake: FakeDiscord, standin: DiscordAdapter
) -> None:
    token = await fake.interact(
        fake.interaction(
            "digest",
            {"time": "09:30", "zone": "Europe/Berlin"},
            sub=["time"],
            permissions=MANAGE_CHANNELS | EVERYONE_PERMISSIONS,
        )
    )
    [msg] = await fake.wait_reply(token)
    embed = msg["embeds"][0]
    assert embed["title"] == "digest time in channel by alice"
    assert [(f["name"], f["value"]) for f in embed["fields"]] == [
        ("time", "09:30"),
        ("zone", "Europe/Berlin"),
    ]
    assert not msg["flags"] & EPHEMERAL
    assert msg["allowed_mentions"] == {"parse": []}

    token = await fake.interact(
        fake.interaction("digest", {"count": 12}, sub=["max"], permissions=ALL_PERMISSIONS)
    )
    [msg] = await fake.wait_reply(token)
    assert msg["embeds"][0]["fields"] == [{"name": "count", "value": "12", "inline": False}]


async def test_non_admin_changing_channel_settings_is_refused(
    fake: FakeDiscord, standin: DiscordAdapter
) -> None:
    token = await fake.interact(
        fake.interaction("subscribe", {"query": "diffusion"}, permissions=EVERYONE_PERMISSIONS)
    )
    [msg] = await fake.wait_reply(token)
    assert msg["flags"] & EPHEMERAL
    assert msg["embeds"] == []
    assert msg["content"].startswith("❌ Only people who may manage this channel")


async def test_in_a_dm_everyone_manages_their_own_settings(
    fake: FakeDiscord, standin: DiscordAdapter
) -> None:
    token = await fake.interact(
        fake.interaction("subscribe", {"query": "diffusion", "where": "dm"}, dm=True, permissions=0)
    )
    [msg] = await fake.wait_reply(token)
    assert msg["embeds"][0]["title"] == "subscribe in dm by alice"


async def test_ephemeral_command_answers_privately(
    fake: FakeDiscord, standin: DiscordAdapter
) -> None:
    token = await fake.interact(fake.interaction("status"))
    [msg] = await fake.wait_reply(token)
    assert msg["flags"] & EPHEMERAL


async def test_bad_option_gets_usage_privately(fake: FakeDiscord, standin: DiscordAdapter) -> None:
    # Discord enforces the range in its UI; the core still validates what arrives.
    token = await fake.interact(
        fake.interaction("digest", {"count": 99}, sub=["max"], permissions=ALL_PERMISSIONS)
    )
    [msg] = await fake.wait_reply(token)
    assert msg["flags"] & EPHEMERAL
    assert msg["content"] == "❌ count must be at most 50.\nUsage: `/digest max <n>`"


async def test_several_replies_become_response_and_follow_ups(
    fake: FakeDiscord, standin: DiscordAdapter
) -> None:
    token = await fake.interact(fake.interaction("several"))
    msgs = await fake.wait_reply(token, count=3)
    assert [(m["content"], m["flags"] & EPHEMERAL) for m in msgs] == [
        ("Saved.", 0),
        ("", 0),
        ("Only you see this.", EPHEMERAL),
    ]
    assert msgs[1]["embeds"][0]["title"] == "Details"
    assert len(fake.requests_to("POST", rf"/webhooks/{fake.app_id}/{token}")) == 2


async def test_subscription_autocomplete_asks_the_core(
    fake: FakeDiscord, standin: DiscordAdapter
) -> None:
    token = await fake.interact(
        fake.interaction(
            "unsubscribe", {"id": "diff"}, kind=4, focused="id", permissions=ALL_PERMISSIONS
        )
    )
    [msg] = await fake.wait_until(lambda: fake.interaction_messages.get(token))
    assert msg["choices"] == [
        {"name": "#1 diffusion", "value": "1"},
        {"name": "#3 diffusion models", "value": "3"},
    ]


async def test_timezone_autocomplete_filters_iana_zones(
    fake: FakeDiscord, standin: DiscordAdapter
) -> None:
    token = await fake.interact(
        fake.interaction(
            "digest",
            {"time": "09:00", "zone": "berl"},
            sub=["time"],
            kind=4,
            focused="zone",
            permissions=ALL_PERMISSIONS,
        )
    )
    [msg] = await fake.wait_until(lambda: fake.interaction_messages.get(token))
    assert msg["choices"][0] == {"name": "Europe/Berlin", "value": "Europe/Berlin"}
    assert all("berl" in c["value"].lower() for c in msg["choices"])


# ----- the real commands -----------------------------------------------------------------------


async def test_paper_defers_then_answers_with_a_card(
    fake: FakeDiscord, bot: DiscordAdapter, sample_app: App
) -> None:
    item = daily_item(
        "2412.17747",
        "Deliberation @everyone in *Latent* Space",
        day="2024-12-24",
        authors=("Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra"),
        upvotes=42,
        github="https://github.com/example/deliberation",
    )
    papers, _ = parse_daily_items([item], None)
    await sample_app.papers.upsert(papers)

    token = await fake.interact(fake.interaction("paper", {"query": "arXiv:2412.17747"}))
    [msg] = await fake.wait_reply(token)
    assert (
        fake.callbacks[fake.interaction_id(token)][0]["type"] == 5
    )  # deferred first: /paper is slow
    [embed] = msg["embeds"]
    assert embed["title"] == "Deliberation @\u200beveryone in \\*Latent\\* Space"
    assert embed["url"] == "https://huggingface.co/papers/2412.17747"
    assert embed["author"]["name"] == "Ada Lovelace, Alan Turing, Grace Hopper et al."
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Upvotes"] == "▲ 42"
    assert fields["Links"] == (
        "[arXiv](https://arxiv.org/abs/2412.17747) · [PDF](https://arxiv.org/pdf/2412.17747)"
        " · [GitHub](https://github.com/example/deliberation)"
    )
    assert embed["thumbnail"]["url"].endswith("/2412.17747.png")
    assert not msg["flags"] & EPHEMERAL
    assert msg["allowed_mentions"] == {"parse": []}


async def test_error_after_a_public_deferral_is_private(
    fake: FakeDiscord, standin: DiscordAdapter
) -> None:
    token = await fake.interact(fake.interaction("search", {"query": "bad"}))
    msgs = await fake.wait_reply(token)
    assert fake.callbacks[fake.interaction_id(token)][0] == {"type": 5}  # public thinking
    # The public "thinking" message was deleted and the error sent privately.
    assert [(m["content"], m["flags"] & EPHEMERAL) for m in msgs] == [
        ("❌ The search service is down.", EPHEMERAL)
    ]
    assert fake.requests_to("DELETE", rf"/webhooks/{fake.app_id}/{token}/messages/@original")


async def test_slow_answer_to_a_fast_command_is_deferred_in_time(
    fake: FakeDiscord, standin: DiscordAdapter
) -> None:
    token = await fake.interact(fake.interaction("search", {"query": "sleepy"}))
    [msg] = await fake.wait_reply(token)
    assert fake.callbacks[fake.interaction_id(token)][0]["type"] == 5
    assert msg["content"] == "Found nothing for sleepy after a long look."


async def test_papers_pages_with_prev_and_next(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    token = await fake.interact(fake.interaction("papers", {"day": "today", "limit": 12}))
    [msg] = await fake.wait_reply(token)
    assert msg["content"].startswith("**Daily Papers") and "page 1/3" in msg["content"]
    assert len(msg["embeds"]) == 5 and embed_titles(msg)[0].startswith("1. ")
    buttons = msg["components"][0]["components"]
    assert [b["label"] for b in buttons] == ["◀ Prev", "Next ▶"]
    assert buttons[0]["disabled"] and not buttons[1]["disabled"]

    press = fake.component_interaction(buttons[1]["custom_id"], msg)
    await fake.interact(press)
    [edit] = await fake.wait_until(lambda: fake.interaction_messages.get(press["token"]))
    assert edit["edit_of_component"] and "page 2/3" in edit["content"]
    assert embed_titles(edit)[0].startswith("6. ")
    assert not edit["components"][0]["components"][0]["disabled"]


async def test_help_is_private_and_lists_commands(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    token = await fake.interact(fake.interaction("help"))
    msgs = await fake.wait_reply(token)
    assert all(m["flags"] & EPHEMERAL for m in msgs)
    text = str(msgs)
    for name in build_registry().groups():
        assert name in text


REGISTRY = build_registry()


def _runnable(command: Command) -> bool:
    return bool(command.examples) or not any(a.required for a in command.args)


@pytest.mark.parametrize("name", [c.name for c in REGISTRY.all() if _runnable(c)])
async def test_every_registered_command_answers(
    fake: FakeDiscord, bot: DiscordAdapter, sample_app: App, name: str
) -> None:
    """Each command (with its first example's arguments) gets a sensible answer."""
    command = REGISTRY.get(name)
    assert command is not None
    args: dict[str, Any] = {}
    if command.examples:
        found = REGISTRY.resolve(command.examples[0])
        assert found is not None and found[0] is command
        args = command.parse_text(found[1])
    words = command.words
    grouped = len(REGISTRY.groups()[words[0]]) > 1  # a group of one is a top-level command
    payload = fake.interaction(
        words[0], args, sub=list(words[1:]) if grouped else None, permissions=ALL_PERMISSIONS
    )
    token = await fake.interact(payload)
    msgs = await fake.wait_reply(token, within=10)
    assert msgs and all(m.get("content") or m.get("embeds") for m in msgs)
    assert not any("went wrong" in (m.get("content") or "") for m in msgs), msgs
    for m in msgs:
        assert m["allowed_mentions"] == {"parse": []}
        if command.ephemeral or (m.get("content") or "").startswith("❌"):
            assert m["flags"] & EPHEMERAL
