"""The new Slack payloads stay within Slack's limits for any stored paper (see
test_render_limits): unfurls, the Home tab with long deliveries and queries, the modal."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest

from adapters.slack.home import MAX_SHOWN, home_view
from adapters.slack.unfurls import unfurl_of
from bot.papers import Paper
from bot.services.home import HomeSubscription, HomeSummary
from tests.fakes.slack_server import _check_message, _check_view
from tests.test_render_limits import PAPERS


@pytest.mark.parametrize("paper", PAPERS, ids=range(len(PAPERS)))
def test_an_unfurl_of_any_paper_is_valid(paper: Paper) -> None:
    unfurl = unfurl_of(paper)
    assert _check_message(unfurl) is None


@pytest.mark.parametrize("paper", PAPERS, ids=range(len(PAPERS)))
def test_a_home_tab_of_long_everything_is_valid(paper: Paper) -> None:
    at = datetime(2024, 12, 24, tzinfo=UTC)
    summary = HomeSummary(
        subscriptions=tuple(HomeSubscription(10**17 + i, "q" * 300, 10**6) for i in range(50)),
        instant=True,
        schedule="23:59 America/Argentina/ComodRivadavia, on weekdays",
        muted_until="Tue 2024-12-31 23:59 -03",
        disabled_reason="x" * 5000,
        delivered=tuple((dataclasses.replace(paper, id=f"{paper.id}{i}"), at) for i in range(5)),
    )
    view = home_view(summary, "/papers ", notice="n" * 10_000)
    assert _check_view(view, "home") is None
    sections = [b for b in view["blocks"] if b["type"] == "section"]
    assert len(sections) >= MAX_SHOWN
    # Every link in the tab is whole: a `<` always closes before the section ends.
    for block in sections:
        text = block["text"]["text"]
        assert text.count("<") == text.count(">"), text[:200]
    assert len(json.dumps(view)) < 250_000
