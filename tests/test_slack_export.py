"""export saved through real slack-bolt and slack_sdk against the fake Slack Web API: the file
goes up with files_upload_v2 (files.getUploadURLExternal, the upload URL,
files.completeUploadExternal) into the caller's DM with the app, and the answer says so."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.slack import SlackAdapter
from adapters.slack.files import NO_SCOPE
from bot.app import App
from bot.commands import build_registry
from bot.core import Core
from bot.sources.huggingface import parse_daily_items
from tests.fakes.slack_server import FakeSlack
from tests.helpers import daily_item
from tests.slack_feature_helpers import block_texts, send_event
from tests.test_slack_commands import papers
from tests.test_slack_http import section_texts, start_http
from tests.test_slack_messages_tab import typed


@pytest.fixture
async def bot(sample_app: App, slack: FakeSlack) -> AsyncIterator[SlackAdapter]:
    found, _ = parse_daily_items(
        [daily_item("2412.17747", "Deliberation <!here> & co", day="2024-12-23")], None
    )
    await sample_app.papers.upsert(found, now=sample_app.clock())
    adapter = await start_http(Core(sample_app, build_registry()), slack)
    yield adapter
    await adapter.stop()


async def tab_replies(slack: FakeSlack, n: int) -> list[dict[str, Any]]:
    """The bot's first `n` messages in the app's DM (the Messages tab), once all are in."""
    await slack.wait_calls("chat.postMessage", n)
    return [m for m in slack.messages if m["channel"] == "D100"]


async def test_export_is_uploaded_to_the_callers_dm(bot: SlackAdapter, slack: FakeSlack) -> None:
    [empty] = await papers(bot, slack, "export saved ris")
    assert empty["response_type"] == "ephemeral"
    assert "no saved papers to export" in " ".join(section_texts(empty))
    assert slack.calls_to("files.getUploadURLExternal") == [] and slack.files == []
    await papers(bot, slack, "save 2412.17747")
    [answer] = await papers(bot, slack, "export saved bibtex")
    assert answer["response_type"] == "ephemeral"
    text = " ".join(section_texts(answer))
    assert "Your 1 saved paper as BibTeX. Sent paperbot-saved.bib to your direct messages" in text
    [opened] = slack.calls_to("conversations.open")
    assert opened.args["users"] == "U100"
    [uploaded] = slack.files
    assert uploaded["channel"] == "D100" and uploaded["name"] == "paperbot-saved.bib"
    bib = uploaded["content"].decode()
    assert bib.startswith("@misc{arxiv:2412.17747,\n")
    assert r"title = {Deliberation <!here> \& co}" in bib  # a file, not a message: no ping
    assert uploaded["initial_comment"] == "Your 1 saved paper as BibTeX."


async def test_without_files_write_the_answer_says_how_to_fix_it(
    bot: SlackAdapter, slack: FakeSlack
) -> None:
    slack.scopes.remove("files:write")  # installed before the scope was added
    await papers(bot, slack, "save 2412.17747")
    [answer] = await papers(bot, slack, "export saved json")
    assert answer["response_type"] == "ephemeral"
    assert NO_SCOPE in " ".join(section_texts(answer)).replace("\n", " ")
    assert slack.files == []


async def test_an_unknown_format_names_the_fix(bot: SlackAdapter, slack: FakeSlack) -> None:
    [answer] = await papers(bot, slack, "export saved endnote")
    assert "format must be one of: bibtex, ris, json." in " ".join(section_texts(answer))


async def test_export_typed_in_the_messages_tab_uploads_the_bibtex_of_the_saved_papers(
    bot: SlackAdapter, slack: FakeSlack
) -> None:
    """Text typed to the app's DM runs through bolt's message.im listener, not /papers."""
    await send_event(bot, slack, typed("export saved bibtex"))
    [empty] = await tab_replies(slack, 1)
    assert "no saved papers to export" in block_texts(empty["blocks"])
    assert slack.calls_to("files.getUploadURLExternal") == [] and slack.files == []

    await send_event(bot, slack, typed("save 2412.17747"))
    [_, saved] = await tab_replies(slack, 2)
    assert "Saved 2412.17747" in block_texts(saved["blocks"])
    await send_event(bot, slack, typed("export saved bibtex"))
    *_, answer = await tab_replies(slack, 3)
    text = block_texts(answer["blocks"])
    assert "Your 1 saved paper as BibTeX. Sent paperbot-saved.bib to your direct messages" in text
    # files_upload_v2's three steps, once each: the URL, the bytes, the completion.
    [asked] = slack.calls_to("files.getUploadURLExternal")
    assert asked.args["filename"] == "paperbot-saved.bib"
    [completed] = slack.calls_to("files.completeUploadExternal")
    [uploaded] = slack.files
    assert completed.args["channel_id"] == "D100" == uploaded["channel"]
    assert uploaded["name"] == "paperbot-saved.bib"
    assert int(asked.args["length"]) == uploaded["size"] == len(uploaded["content"])
    bib = uploaded["content"].decode()
    assert bib.startswith("@misc{arxiv:2412.17747,\n") and bib.count("@misc{") == 1
    assert r"title = {Deliberation <!here> \& co}" in bib
    assert "eprint = {2412.17747}" in bib and "archivePrefix = {arXiv}" in bib
    assert "url = {https://arxiv.org/abs/2412.17747}" in bib
    assert uploaded["initial_comment"] == "Your 1 saved paper as BibTeX."
