"""The real registry's commands through /papers on Slack, end to end, with realistic text.

Real slack-bolt in HTTP mode behind signed requests from the fake Slack, the real core on a
fresh SQLite copy with the bundled sample papers; digests go out through the core's outbox
sender to the fake's chat.postMessage.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.slack import SlackAdapter
from adapters.slack.commands import RENDER_SORRY
from bot.app import App
from bot.commands import build_registry
from bot.commands.registry import Command, Context
from bot.core import Core
from bot.delivery.sender import Sender
from bot.messages import Notice, Reply
from tests.fakes.slack_server import FakeSlack, form_body, sign
from tests.test_slack_http import post, section_texts, start_http

_keys = itertools.count()


async def _plain(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    return [Notice("only for you")]  # not marked ephemeral: the command is


def registry() -> Any:
    reg = build_registry()
    reg.add(
        Command(
            name="private",
            help="Answer privately.",
            usage="private",
            handler=_plain,
            ephemeral=True,
        )
    )
    return reg


@pytest.fixture
async def bot(sample_app: App, slack: FakeSlack) -> AsyncIterator[SlackAdapter]:
    adapter = await start_http(Core(sample_app, registry()), slack)
    yield adapter
    await adapter.stop()


async def papers(
    adapter: SlackAdapter,
    slack: FakeSlack,
    text: str,
    *,
    n: int = 1,
    key: str | None = None,
    user: str = "U100",
    dm: bool = False,
) -> list[dict[str, Any]]:
    """Send a signed `/papers <text>`; return the respond() payloads."""
    key = key or f"c{next(_keys)}"
    where = {"channel_id": "D100", "channel_name": "directmessage"} if dm else {}
    body = form_body(slack.slash_command_form(text, key=key, user_id=user, **where))
    status, ack = await post(adapter, body, sign(body))
    assert status == 200 and ack == ""
    answers = await slack.wait_responses(key, n)
    for a in answers:
        assert "went wrong" not in str(a), a
        if key not in slack.refused:  # the fake accepted every answer: no apology
            assert RENDER_SORRY not in str(a), a
    return answers


def joined(answer: dict[str, Any]) -> str:
    return "\n".join(section_texts(answer))


async def test_subscribe_with_dm_flag_in_a_channel_is_personal_and_private(
    bot: SlackAdapter, slack: FakeSlack
) -> None:
    [mine] = await papers(bot, slack, "subscribe agents --dm")
    assert mine["response_type"] == "ephemeral"
    assert joined(mine).startswith(":white_check_mark: Subscribed you personally to “agents”")
    [listed] = await papers(bot, slack, "subscriptions")
    assert listed["response_type"] == "ephemeral"
    assert "Your personal subscriptions (1)" in joined(listed)
    [gone] = await papers(bot, slack, "unsubscribe 1 --dm")
    assert gone["response_type"] == "ephemeral"
    assert joined(gone) == ":white_check_mark: Removed your subscription #1 (“agents”)."


async def test_channel_admins_restrict_the_channel_but_not_your_own_settings(
    sample_app: App, slack: FakeSlack
) -> None:
    adapter = await start_http(Core(sample_app, registry()), slack, SLACK_CHANNEL_ADMINS="U200")
    try:
        for text in ("subscribe diffusion", "digest time 09:00", "unsubscribe 1", "digest now"):
            [refused] = await papers(adapter, slack, text)
            assert refused["response_type"] == "ephemeral", text
            assert "Only people who may manage this channel" in joined(refused), text
        for text in (
            "subscribe diffusion --dm",
            "alerts daily 08:00 Europe/Berlin",
            "mute 3d",
            "status",
            "search diffusion",
        ):
            [allowed] = await papers(adapter, slack, text)
            assert allowed["response_type"] == "ephemeral", text
            assert "Only people who may manage" not in joined(allowed), text
        [admin] = await papers(adapter, slack, "subscribe diffusion", user="U200")
        assert admin["response_type"] == "in_channel"
        assert joined(admin).startswith(":white_check_mark: Subscribed #general")
    finally:
        await adapter.stop()


async def test_settings_why_search_status_and_mute(
    bot: SlackAdapter, slack: FakeSlack, sample_app: App
) -> None:
    paper = (await sample_app.papers.featured_on(sample_app.clock().date()))[0]
    word = next(w for w in paper.title.split() if w.isalpha() and len(w) >= 5)
    [sub] = await papers(bot, slack, f"subscribe {word}")
    assert sub["response_type"] == "in_channel"
    [when] = await papers(bot, slack, "digest time 07:30 America/New_York")
    assert when["response_type"] == "in_channel"
    assert "07:30 America/New_York, every day" in joined(when)
    [status] = await papers(bot, slack, "status")
    assert status["response_type"] == "ephemeral"
    assert "*Digest:* 07:30 America/New_York, every day" in joined(status)
    [why] = await papers(bot, slack, f"why {paper.id} #1")
    assert why["response_type"] == "ephemeral"
    assert "matches 1 of 1 subscription" in joined(why)
    [search] = await papers(bot, slack, f"search {word} --days 30")
    assert search["response_type"] == "ephemeral" and "of the last 30 days" in joined(search)
    [muted] = await papers(bot, slack, "mute 12h")
    assert muted["response_type"] == "ephemeral" and "Muted until" in joined(muted)
    [preview, *_] = await papers(bot, slack, "digest preview")
    assert preview["response_type"] == "ephemeral"


async def test_an_ephemeral_command_answers_privately(bot: SlackAdapter, slack: FakeSlack) -> None:
    """The command's own `ephemeral` counts, as on Discord, not only the reply's flag."""
    [answer] = await papers(bot, slack, "private")
    assert answer["response_type"] == "ephemeral"
    assert joined(answer) == "only for you"


async def test_a_refused_answer_is_followed_by_a_short_apology(
    bot: SlackAdapter, slack: FakeSlack
) -> None:
    """If Slack refuses a response (e.g. invalid_blocks), the user is told, not left waiting."""
    slack.refuse_response("refused")
    [apology] = await papers(bot, slack, "help", key="refused")
    assert len(slack.refused["refused"]) == 1
    assert apology == {
        "text": RENDER_SORRY,
        "response_type": "ephemeral",
        "replace_original": False,
    }


async def test_not_in_channel_disables_status_says_invite_and_resume_reposts(
    bot: SlackAdapter, slack: FakeSlack, sample_app: App
) -> None:
    """What the README promises when the bot is not a member of a channel."""
    await papers(bot, slack, "subscribe model")
    [posting] = await papers(bot, slack, "digest now")
    assert "Posting a digest of" in joined(posting)
    slack.fail("chat.postMessage", "not_in_channel")
    report = await Sender(sample_app, {"slack": bot}).drain()
    assert report.disabled == 1 and slack.messages == []

    [status] = await papers(bot, slack, "status")
    text = joined(status)
    assert "*Disabled:*" in text and "`/invite @paperbot`" in text
    assert "/papers digest resume" in text

    [resumed] = await papers(bot, slack, "digest resume")
    assert "Posting is enabled again" in joined(resumed)
    report = await Sender(sample_app, {"slack": bot}).drain()
    assert report.sent == 1
    [digest] = slack.messages
    assert digest["channel"] == "C100" and len(digest["blocks"]) > 1


async def test_a_group_alone_or_a_wrong_subcommand_shows_that_groups_help(
    bot: SlackAdapter, slack: FakeSlack
) -> None:
    """`/papers digest` is not an unknown command: the help lists `/papers digest time …`."""
    [group] = await papers(bot, slack, "digest")
    assert group["response_type"] == "ephemeral"
    assert joined(group).startswith("*Help: digest*")
    error, help_ = await papers(bot, slack, "alerts hourly", n=2)
    assert joined(error) == (
        ":x: 'hourly' is not one of the alerts commands. "
        "Use one of: daily, weekly, instant, quiet, suggest."
    )
    assert joined(help_).startswith("*Help: alerts*")


async def test_a_bare_paper_reference_or_a_typed_slash_means_paper(
    bot: SlackAdapter, slack: FakeSlack
) -> None:
    [by_id] = await papers(bot, slack, "2412.17747")
    [typed] = await papers(bot, slack, "/paper 2412.17747")
    [by_url] = await papers(bot, slack, "https://arxiv.org/abs/2412.17747v2")
    assert by_id["blocks"] == typed["blocks"] == by_url["blocks"]
    assert "Paper 2412.17747 is not in the local database" in joined(by_id)


async def test_comparisons_and_ampersands_reach_the_core_as_typed(
    bot: SlackAdapter, slack: FakeSlack
) -> None:
    """Slack sends `upvotes<1000 & x` as `upvotes&lt;1000 &amp; x`; the query is the former."""
    [found] = await papers(bot, slack, "search model upvotes<1000 & model")
    assert joined(found).startswith("*“model upvotes&lt;1000 &amp; model” matches ")
    assert "of 76 papers" in joined(found) and " matches 0 " not in joined(found)
