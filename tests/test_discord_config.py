"""DISCORD_* settings and the REST/Gateway endpoint override."""

from __future__ import annotations

import discord
import pytest
import yarl

from adapters.discord.commands import describe, option_name
from adapters.discord.config import (
    DEFAULT_API_BASE,
    DEFAULT_GATEWAY_URL,
    DiscordConfig,
    load_discord_config,
)
from adapters.discord.endpoints import EndpointOverride
from bot.delivery.timing import complete_zones
from bot.settings import ConfigError

TOKEN = "MTAw.fake.token"


def test_no_token_means_no_discord() -> None:
    assert load_discord_config({}) is None
    assert load_discord_config({"DISCORD_TOKEN": "  "}) is None


def test_defaults_are_discords_own() -> None:
    config = load_discord_config({"DISCORD_TOKEN": TOKEN})
    assert config == DiscordConfig(token=TOKEN)
    assert config.api_base == DEFAULT_API_BASE and config.gateway_url == DEFAULT_GATEWAY_URL
    assert not config.sharded and config.syncs_commands
    assert TOKEN not in repr(config)


def test_everything_set() -> None:
    config = load_discord_config(
        {
            "DISCORD_TOKEN": TOKEN,
            "DISCORD_GUILD_ID": "1100000000000000001",
            "DISCORD_API_BASE": "http://127.0.0.1:8080/api/v10/",
            "DISCORD_GATEWAY_URL": "ws://127.0.0.1:8080/gateway",
            "DISCORD_SHARD_COUNT": "8",
            "DISCORD_SHARD_IDS": "4-6,7",
        }
    )
    assert config is not None
    assert config.guild_id == 1100000000000000001
    assert config.api_base == "http://127.0.0.1:8080/api/v10"
    assert config.shard_count == 8 and config.shard_ids == (4, 5, 6, 7)
    assert not config.syncs_commands  # only the process with shard 0 syncs


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DISCORD_TOKEN": "Bot abc"}, "DISCORD_TOKEN must be the bot token"),
        ({"DISCORD_GUILD_ID": "my-guild"}, "DISCORD_GUILD_ID must be a Discord id"),
        ({"DISCORD_API_BASE": "discord.com/api"}, "DISCORD_API_BASE must be a URL"),
        ({"DISCORD_GATEWAY_URL": "https://gateway"}, "DISCORD_GATEWAY_URL must be a URL"),
        ({"DISCORD_SHARD_COUNT": "0"}, "DISCORD_SHARD_COUNT must be a whole number"),
        ({"DISCORD_SHARD_COUNT": "two"}, "DISCORD_SHARD_COUNT must be a whole number"),
        ({"DISCORD_SHARD_IDS": "0-1"}, "DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT"),
        (
            {"DISCORD_SHARD_COUNT": "4", "DISCORD_SHARD_IDS": "3-1"},
            "DISCORD_SHARD_IDS must be shard ids",
        ),
        ({"DISCORD_SHARD_COUNT": "4", "DISCORD_SHARD_IDS": "2-4"}, "below DISCORD_SHARD_COUNT=4"),
        (
            {"DISCORD_SHARD_COUNT": "4", "DISCORD_SHARD_IDS": "1,1"},
            "DISCORD_SHARD_IDS must be shard ids",
        ),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_discord_config({"DISCORD_TOKEN": TOKEN, **env})
    assert str(err.value).startswith(message) or message in str(err.value)
    assert "\n" not in str(err.value)


def test_endpoint_override_applies_restores_and_refuses_a_second_one() -> None:
    route, ws = discord.http.Route, discord.gateway.DiscordWebSocket
    before = (route.BASE, ws.DEFAULT_GATEWAY)
    one = EndpointOverride("http://127.0.0.1:1/api/v10", "ws://127.0.0.1:1/gateway")
    two = EndpointOverride("http://127.0.0.1:2/api/v10", "ws://127.0.0.1:2/gateway")
    one.apply()
    try:
        assert route.BASE == "http://127.0.0.1:1/api/v10"
        assert yarl.URL("ws://127.0.0.1:1/gateway") == ws.DEFAULT_GATEWAY
        with pytest.raises(RuntimeError, match="one Discord adapter per process"):
            two.apply()
    finally:
        one.restore()
    assert before == (route.BASE, ws.DEFAULT_GATEWAY)
    EndpointOverride(DEFAULT_API_BASE, DEFAULT_GATEWAY_URL).apply()  # defaults: nothing to do
    assert before == (route.BASE, ws.DEFAULT_GATEWAY)


def test_descriptions_and_names_fit_discord() -> None:
    assert describe("x" * 150) == "x" * 99 + "…"
    assert describe("") == "…"
    assert option_name("Min Upvotes") == "min-upvotes"


def test_timezone_completion() -> None:
    zones = {"Europe/Berlin", "America/New_York", "Etc/GMT+1", "UTC", "Europe/Busingen"}
    assert complete_zones("new", 25, zones) == ["America/New_York"]
    assert complete_zones("eu", 25, zones) == ["Europe/Berlin", "Europe/Busingen"]
    assert len(complete_zones("")) == 25
