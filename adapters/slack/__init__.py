"""Slack: the /papers slash command, Block Kit replies, digests and DM alerts."""

from adapters.slack.app import SlackAdapter, build_slack_adapter
from adapters.slack.config import SlackConfig, load_slack_config

__all__ = ["SlackAdapter", "SlackConfig", "build_slack_adapter", "load_slack_config"]
