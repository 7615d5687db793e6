"""Multi-workspace mode's settings: what each missing or wrong value is told, never echoed."""

from __future__ import annotations

import pytest

from adapters.cli.wiring import configured_platforms
from adapters.slack.config import load_slack_config
from bot.settings import ConfigError
from tests.oauth_helpers import OTHER_KEY, TOKEN_KEY

MULTI = {
    "SLACK_CLIENT_ID": "1111.2222",
    "SLACK_CLIENT_SECRET": "sekrit-client",
    "SLACK_SIGNING_SECRET": "sekrit-signing",
    "SLACK_TOKEN_KEYS": TOKEN_KEY,
}


def test_multi_workspace_mode_needs_no_bot_token() -> None:
    config = load_slack_config(MULTI)
    assert config is not None and config.multi_workspace and config.mode == "http"
    assert config.bot_token is None and config.token_keys == (TOKEN_KEY,)
    assert "sekrit" not in repr(config) and TOKEN_KEY not in repr(config)
    assert configured_platforms({"SLACK_CLIENT_ID": "1"}) == ["slack"]


def test_several_keys_rotate() -> None:
    config = load_slack_config({**MULTI, "SLACK_TOKEN_KEYS": f" {OTHER_KEY} , {TOKEN_KEY} "})
    assert config is not None and config.token_keys == (OTHER_KEY, TOKEN_KEY)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"SLACK_CLIENT_SECRET": ""}, "SLACK_CLIENT_SECRET must be set for multi-workspace mode"),
        ({"SLACK_SIGNING_SECRET": ""}, "SLACK_SIGNING_SECRET must be set"),
        ({"SLACK_TOKEN_KEYS": ""}, "SLACK_TOKEN_KEYS must be set"),
        ({"SLACK_TOKEN_KEYS": "not-a-key"}, "SLACK_TOKEN_KEYS must be comma-separated Fernet"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_BOT_TOKEN must be unset in multi-workspace mode"),
        ({"SLACK_APP_TOKEN": "xapp-1"}, "SLACK_APP_TOKEN must be unset in multi-workspace mode"),
        ({"SLACK_REDIRECT_URI": "not a url"}, "SLACK_REDIRECT_URI must be an https URL"),
    ],
)
def test_a_wrong_multi_workspace_setting_says_what_to_fix(
    change: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_slack_config({**MULTI, **change})
    assert message in str(err.value)
    assert "sekrit" not in str(err.value) and "not-a-key" not in str(err.value)


def test_single_workspace_mode_is_unchanged() -> None:
    config = load_slack_config({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"})
    assert config is not None and not config.multi_workspace and config.mode == "socket"
