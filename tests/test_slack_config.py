"""SLACK_* environment variables: modes, defaults, and one-line errors for bad values."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from adapters.slack.config import DEFAULT_API_URL, load_slack_config
from bot.settings import ConfigError
from tests.fakes.slack_server import MANIFEST_SCOPES

BOT = {"SLACK_BOT_TOKEN": "xoxb-1"}


def test_not_configured_without_a_bot_token() -> None:
    assert load_slack_config({}) is None
    assert load_slack_config({"DISCORD_TOKEN": "x"}) is None


def test_socket_mode_with_an_app_token() -> None:
    config = load_slack_config({**BOT, "SLACK_APP_TOKEN": "xapp-1", "SLACK_SIGNING_SECRET": "s"})
    assert config is not None and config.mode == "socket"
    assert config.api_url == DEFAULT_API_URL and config.command == "/papers"
    assert not config.restricted


def test_http_mode_with_a_signing_secret_and_defaults() -> None:
    config = load_slack_config({**BOT, "SLACK_SIGNING_SECRET": "s"})
    assert config is not None and config.mode == "http"
    assert config.http_port == 3000 and config.http_host == "0.0.0.0"


def test_tokens_are_not_in_the_repr() -> None:
    config = load_slack_config({**BOT, "SLACK_APP_TOKEN": "xapp-secret"})
    assert "xoxb" not in repr(config) and "xapp" not in repr(config)


def test_overrides() -> None:
    config = load_slack_config(
        {
            **BOT,
            "SLACK_SIGNING_SECRET": "s",
            "SLACK_HTTP_PORT": "8080",
            "SLACK_API_URL": "http://127.0.0.1:9/api",
            "SLACK_COMMAND": "/hfpapers",
            "SLACK_CHANNEL_ADMINS": "U123ABC, W999, admins",
        }
    )
    assert config is not None
    assert config.http_port == 8080 and config.api_url == "http://127.0.0.1:9/api/"
    assert config.command == "/hfpapers"
    assert config.channel_admins == {"U123ABC", "W999"} and config.workspace_admins_manage


@pytest.mark.parametrize(
    "env,variable",
    [
        ({"SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xapp-1", "SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN"),
        ({**BOT}, "SLACK_APP_TOKEN"),
        ({**BOT, "SLACK_APP_TOKEN": "xoxb-2"}, "SLACK_APP_TOKEN"),
        ({**BOT, "SLACK_SIGNING_SECRET": "s", "SLACK_HTTP_PORT": "http"}, "SLACK_HTTP_PORT"),
        ({**BOT, "SLACK_SIGNING_SECRET": "s", "SLACK_HTTP_PORT": "70000"}, "SLACK_HTTP_PORT"),
        ({**BOT, "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": "slack.com"}, "SLACK_API_URL"),
        (
            {**BOT, "SLACK_SIGNING_SECRET": "s", "SLACK_CHANNEL_ADMINS": "@alice"},
            "SLACK_CHANNEL_ADMINS",
        ),
        ({**BOT, "SLACK_SIGNING_SECRET": "s", "SLACK_COMMAND": "papers"}, "SLACK_COMMAND"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_slack_config(env)
    message = str(err.value)
    assert message.startswith(f"{variable} must be ")
    assert "\n" not in message


def test_manifest_declares_the_command_and_the_scopes_the_adapter_uses() -> None:
    manifest = (Path(__file__).parent.parent / "adapters/slack/manifest.yml").read_text()
    assert "- command: /papers\n" in manifest
    oauth = manifest.split("oauth_config:", 1)[1].split("\nsettings:", 1)[0]
    scopes = {
        line.split("#")[0].strip()[2:] for line in oauth.splitlines() if line.startswith("      - ")
    }
    # commands: /papers; chat:write: chat.postMessage; im:write: conversations.open;
    # users:read: users.info for SLACK_CHANNEL_ADMINS=admins; channels:read, groups:read:
    # conversations.info, the membership check before a channel is set up for digests;
    # channels:history, groups:history, im:history: conversations.history, to find a part
    # posted before a crash by the key in its metadata (im:history: message.im too);
    # links:read, links:write: link_shared and chat.unfurl; files:write: files_upload_v2
    # (export saved). The fake grants exactly these.
    assert scopes == set(MANIFEST_SCOPES)
    assert "socket_mode_enabled: true" in manifest
    assert "home_tab_enabled: true" in manifest and "messages_tab_enabled: true" in manifest
    events = manifest.split("bot_events:\n", 1)[1].split("  interactivity:", 1)[0]
    assert re.findall(r"^      - ([a-z_.]+)", events, re.M) == [
        "link_shared",
        "app_home_opened",
        "message.im",
    ]
    assert "callback_id: paperbot_find_paper" in manifest
    assert "    - arxiv.org\n    - huggingface.co\n" in manifest
