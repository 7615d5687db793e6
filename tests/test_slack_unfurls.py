"""Link unfurls: link_shared → chat.unfurl with the paper card, through real bolt."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from adapters.slack import SlackAdapter
from adapters.slack.unfurls import MAX_LINKS, Unfurls, paper_links
from bot.app import App
from bot.commands import build_registry
from bot.core import Core
from bot.papers import Paper
from bot.sources.huggingface import HuggingFaceClient
from tests.fakes.hf_server import FakeHF
from tests.fakes.slack_server import FakeSlack, _check_message
from tests.helpers import daily_item
from tests.slack_feature_helpers import TITLES, block_texts, bot, finished, send_event
from tests.test_slack_socket import env

__all__ = ["bot"]  # the fixture


def shared(*urls: str, **extra: Any) -> dict[str, Any]:
    """A link_shared event for a message posted in C100."""
    return {
        "type": "link_shared",
        "channel": "C100",
        "user": "U100",
        "message_ts": "1735000000.000100",
        "unfurl_id": "C100.1735000000.000100.abc",
        "source": "conversations_history",
        "event_ts": "1735000000.000200",
        "links": [{"domain": u.split("/")[2], "url": u} for u in urls],
        **extra,
    }


async def test_arxiv_and_hugging_face_links_get_the_paper_card(
    bot: SlackAdapter, slack: FakeSlack
) -> None:
    urls = (
        "https://arxiv.org/abs/2501.00001v2",
        "https://huggingface.co/papers/2501.00002",
        "https://arxiv.org/pdf/2501.00003.pdf",
    )
    await send_event(bot, slack, shared(*urls))
    [call] = await slack.wait_calls("chat.unfurl")
    [unfurl] = slack.unfurls
    assert unfurl["channel"] == "C100" and unfurl["ts"] == "1735000000.000100"
    assert list(unfurl["unfurls"]) == list(urls)  # keyed by the URL exactly as shared
    for url, arxiv_id in zip(urls, ("2501.00001", "2501.00002", "2501.00003"), strict=True):
        card = unfurl["unfurls"][url]
        assert _check_message(card) is None
        assert TITLES[arxiv_id] in block_texts(card["blocks"])
    assert call.headers["Authorization"] == f"Bearer {slack.bot_token}"


async def test_a_link_in_the_composer_is_unfurled_by_its_unfurl_id(
    bot: SlackAdapter, slack: FakeSlack
) -> None:
    event = shared("https://arxiv.org/abs/2501.00001", source="composer")
    del event["channel"], event["message_ts"]
    await send_event(bot, slack, event)
    await slack.wait_calls("chat.unfurl")
    [unfurl] = slack.unfurls
    assert unfurl["unfurl_id"] == event["unfurl_id"] and unfurl["source"] == "composer"


async def test_unknown_papers_and_other_links_get_no_unfurl(
    bot: SlackAdapter, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    done = finished(monkeypatch, Unfurls)
    await send_event(
        bot,
        slack,
        shared(
            "https://arxiv.org/abs/2501.09999",  # not stored, and the bot is offline
            "https://huggingface.co/datasets/foo/bar",
            "https://huggingface.co/papers",
            "https://arxiv.org/list/cs.CL/recent",
        ),
    )
    await asyncio.wait_for(done.get(), 5)
    assert slack.calls_to("chat.unfurl") == []  # no error posted into someone's message


async def test_only_stored_papers_are_unfurled_when_a_message_mixes_them(
    bot: SlackAdapter, slack: FakeSlack
) -> None:
    await send_event(
        bot, slack, shared("https://arxiv.org/abs/2501.09999", "https://arxiv.org/abs/2501.00004")
    )
    await slack.wait_calls("chat.unfurl")
    assert list(slack.unfurls[0]["unfurls"]) == ["https://arxiv.org/abs/2501.00004"]


def test_paper_links_are_read_strictly_and_bounded() -> None:
    hostile: Any = [
        None,
        "https://arxiv.org/abs/2501.00001",
        {"url": 5},
        {"url": "javascript:alert(1)//arxiv.org/abs/2501.00001"},
        {"url": "https://arxiv.org.evil.example/abs/2501.00001"},
        {"url": "https://evil.example/?https://arxiv.org/abs/2501.00001"},
        {"url": "https://arxiv.org/abs/2501.00001 <!channel>"},
    ]
    assert paper_links(hostile) == {}
    assert paper_links("not a list") == {}
    many = [{"url": f"https://arxiv.org/abs/2501.{n:05d}"} for n in range(1, 20)]
    assert len(paper_links(many)) == MAX_LINKS


async def test_a_paper_not_stored_yet_is_fetched_from_hugging_face(
    bot: SlackAdapter, slack: FakeSlack, sample_app: App
) -> None:
    item = daily_item("2412.17747", "Deliberation in <!channel> Latent Space", day="2024-12-20")
    async with FakeHF() as hf:
        hf.papers["2412.17747"] = {**item["paper"], "numComments": 0}  # type: ignore[dict-item]
        sample_app.source = HuggingFaceClient(base_url=hf.url, max_retries=0)
        sample_app.arxiv, sample_app.online = None, True
        try:
            await send_event(bot, slack, shared("https://arxiv.org/abs/2412.17747"))
            await slack.wait_calls("chat.unfurl")
        finally:
            await sample_app.source.close()
    card = slack.unfurls[0]["unfurls"]["https://arxiv.org/abs/2412.17747"]
    text = block_texts(card["blocks"])
    assert "Deliberation in &lt;!channel&gt; Latent Space" in text  # escaped: no ping
    assert "<!channel>" not in str(card)
    assert await sample_app.papers.get("2412.17747") is not None  # stored like /paper does


class Stuck:
    """A paper source that never answers."""

    async def paper(self, arxiv_id: str) -> Paper | None:
        await asyncio.Event().wait()
        return None


async def test_a_slow_look_up_is_bounded_and_the_other_links_still_unfurl(
    bot: SlackAdapter, slack: FakeSlack, sample_app: App
) -> None:
    sample_app.source, sample_app.arxiv, sample_app.online = Stuck(), None, True  # type: ignore[assignment]
    bot.features.unfurls.timeout = 0.05
    await send_event(
        bot, slack, shared("https://arxiv.org/abs/2412.17747", "https://arxiv.org/abs/2501.00001")
    )
    await slack.wait_calls("chat.unfurl")
    assert list(slack.unfurls[0]["unfurls"]) == ["https://arxiv.org/abs/2501.00001"]


async def test_a_refused_unfurl_is_logged_not_raised(
    bot: SlackAdapter,
    slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    done = finished(monkeypatch, Unfurls)
    slack.scopes.remove("links:write")  # installed before the scope was added
    await send_event(bot, slack, shared("https://arxiv.org/abs/2501.00001"))
    await asyncio.wait_for(done.get(), 5)
    assert len(slack.calls_to("chat.unfurl")) == 1 and slack.unfurls == []
    assert any("chat.unfurl failed" in r.getMessage() for r in caplog.records)


async def test_unfurls_over_socket_mode(sample_app: App, slack: FakeSlack) -> None:
    from adapters.slack.app import build_slack_adapter
    from tests.slack_feature_helpers import store_titles

    await store_titles(sample_app)
    adapter = build_slack_adapter(Core(sample_app, build_registry()), env(slack))
    assert adapter is not None
    await adapter.connect()
    try:
        ack = await slack.push(
            "events_api", slack.event_callback(shared("https://huggingface.co/papers/2501.00003"))
        )
        assert "envelope_id" in ack
        await slack.wait_calls("chat.unfurl")
        assert TITLES["2501.00003"] in str(slack.unfurls[0]["unfurls"])
    finally:
        await adapter.stop()
