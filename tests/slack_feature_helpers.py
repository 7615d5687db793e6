"""Helpers for the Slack feature tests (unfurls, Find paper, App Home, Messages tab, modal).

Each test runs the real adapter (bolt in HTTP mode unless it says Socket Mode) against the
fake Slack; events and interactive payloads are posted signed, as Slack posts them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.slack import SlackAdapter
from bot.app import App
from bot.commands import build_registry
from bot.core import Core
from bot.sources.huggingface import parse_daily_items
from tests.fakes.slack_server import FakeSlack, form_body, sign
from tests.helpers import daily_item
from tests.test_slack_http import post, start_http

TITLES = {
    "2501.00001": "Scaling Laws for Sparse Mixture of Experts",
    "2501.00002": "Latent Reasoning Without Words",
    "2501.00003": "Protein Folding at Scale",
    "2501.00004": "A Fourth Paper",
}


async def store_titles(app: App) -> None:
    items = [daily_item(pid, title, day="2024-12-23") for pid, title in TITLES.items()]
    papers, _ = parse_daily_items(items, None)
    await app.papers.upsert(papers)


@pytest.fixture
async def bot(sample_app: App, slack: FakeSlack) -> AsyncIterator[SlackAdapter]:
    await store_titles(sample_app)
    adapter = await start_http(Core(sample_app, build_registry()), slack)
    yield adapter
    await adapter.stop()


async def send_event(adapter: SlackAdapter, slack: FakeSlack, event: dict[str, Any]) -> None:
    """Post one Events API request; bolt must acknowledge it at once with 200."""
    body = json.dumps(slack.event_callback(event))
    status, _ = await post(adapter, body, sign(body, content_type="application/json"))
    assert status == 200


async def send_interactive(
    adapter: SlackAdapter, slack: FakeSlack, payload: dict[str, Any]
) -> tuple[int, str]:
    """Post one interactive payload (a form with `payload=`); return bolt's answer."""
    body = form_body({"payload": json.dumps(payload)})
    return await post(adapter, body, sign(body))


def finished(monkeypatch: pytest.MonkeyPatch, cls: type) -> asyncio.Queue[dict[str, Any]]:
    """A queue that gets the arguments of every finished call of a listener class.

    bolt calls the listener object it was given; wrapping the class's __call__ lets a test
    wait until the listener has run, also when it (rightly) did nothing visible.
    """
    done: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    original = cls.__call__

    async def wrapped(self: Any, **kwargs: Any) -> None:
        try:
            await original(self, **kwargs)
        finally:
            done.put_nowait(kwargs)

    monkeypatch.setattr(cls, "__call__", wrapped)
    return done


def block_texts(blocks: list[dict[str, Any]]) -> str:
    """All mrkdwn and plain text in blocks, one per line."""
    out: list[str] = []
    for block in blocks:
        for holder in (block.get("text"), *(block.get("elements") or [])):
            if isinstance(holder, dict) and isinstance(holder.get("text"), str):
                out.append(holder["text"])
            elif isinstance(holder, dict) and isinstance(holder.get("text"), dict):
                out.append(holder["text"]["text"])
        accessory = block.get("accessory")
        if accessory:
            out.append(accessory["text"]["text"])
    return "\n".join(out)
