"""What an HTTP request must be before bolt sees it: small, signed by Slack, Slack-shaped.

bolt parses a body (JSON, `payload=`, a form) in AsyncBoltRequest's constructor, before its
own signature check, and its middleware reads fields such as `event` or `view` with `.get()`
without checking their types; a JSON array or a `view` that is a string raised there (a 500
and a traceback). The adapter checks with these functions, in this order, and refuses with
401 (not signed), 413 (too large) or 400 (signed yet not a shape Slack sends).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_sdk.signature import SignatureVerifier

# Slack's requests are a few kilobytes (an interactive payload carries its message, at most
# ~50 KB for ours); anything past this is not from Slack and is refused unread.
MAX_BODY = 256 * 1024

# Every request Slack sends has one of these: slash commands, Events API and interactive
# payloads (`type`), and the periodic SSL check.
_KINDS = ("command", "type", "ssl_check")
_OBJECTS = (
    "event", "view", "message", "previous_message", "container", "state", "item",
    "assistant_thread", "function_data", "submission",
)  # fmt: skip
_NAMED = ("team", "user", "channel", "enterprise")  # an id, or an object with an "id"
_LISTS = ("authorizations", "actions")  # lists of objects
_STRINGS = (
    "type", "command", "text", "callback_id", "trigger_id", "response_url", "team_id",
    "user_id", "channel_id", "channel_name", "enterprise_id", "api_app_id", "token",
    "action_id", "block_id", "challenge",
)  # fmt: skip


def signed(verifier: SignatureVerifier, body: bytes, headers: Mapping[str, str]) -> bool:
    """Whether Slack signed `body` within the last five minutes (v0 HMAC-SHA256)."""
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    # The verifier calls int() on the timestamp and compares the signature as ASCII text.
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return False
    if not signature.isascii():
        return False
    try:
        return verifier.is_valid(body, timestamp, signature)
    except UnicodeDecodeError:  # it decodes the body as UTF-8, which Slack always sends
        return False


def _fields_ok(data: Mapping[str, Any]) -> bool:
    """The fields bolt reads have the types it assumes (strings and lists may be null)."""
    for key in _STRINGS:
        if data.get(key) is not None and not isinstance(data[key], str):
            return False
    for key in _OBJECTS:
        # bolt reads body.get("view", {}).get(...): a null view fails as much as a string.
        if key in data and not isinstance(data[key], dict):
            return False
    for key in _NAMED:
        value = data.get(key)
        if value is not None and not isinstance(value, str | dict):
            return False
        if isinstance(value, dict):
            if value.get("id") is not None and not isinstance(value["id"], str):
                return False
            if not _fields_ok(value):
                return False
    for key in _LISTS:
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            return False
        if not all(_fields_ok(v) for v in value):
            return False
    return all(_fields_ok(data[key]) for key in _OBJECTS if isinstance(data.get(key), dict))


def well_formed(body: Any) -> bool:
    """Whether a parsed, signed body has the shape of something Slack sends."""
    if not isinstance(body, dict) or not any(k in body for k in _KINDS):
        return False
    if "command" in body:  # a slash command: a form of strings, answered via response_url
        if not all(isinstance(v, str) for v in body.values()):
            return False
        if not body.get("response_url", "").startswith(("https://", "http://")):
            return False
        return bool(body.get("user_id")) and bool(body.get("channel_id"))
    return _fields_ok(body)
