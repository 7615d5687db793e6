"""The Slack adapter in HTTP mode: real slack-bolt on aiohttp, signed requests from a fake Slack."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.slack import SlackAdapter, build_slack_adapter
from adapters.slack.commands import SORRY
from bot.app import App, build_app
from bot.commands import build_registry
from bot.commands.registry import Arg, Command, Context, Registry
from bot.core import Core
from bot.messages import Notice, Place, Reply, User
from bot.papers import Paper
from bot.settings import load_settings
from tests.fakes.slack_server import BOT_TOKEN, SIGNING_SECRET, FakeSlack, form_body, sign
from tests.helpers import FakeClock

TODAY = datetime(2024, 12, 24, 10, 0, tzinfo=UTC)


class CountingCore(Core):
    """The real core, counting how often an adapter called it."""

    calls = 0

    async def handle_text(self, line: str, user: User, place: Place, **kw: Any) -> list[Reply]:
        self.calls += 1
        return await super().handle_text(line, user, place, **kw)


class SlowGate:
    """Holds the stand-in slow command until its test lets it answer."""

    opened: asyncio.Event | None = None


async def _slow(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    assert SlowGate.opened is not None
    await SlowGate.opened.wait()
    return [Notice("slow answer")]


async def _channel_setting(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    return [Notice(f"set {args['value']} by {ctx.user.id} in {ctx.place.id}")]


async def _broken(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    return [object()]  # type: ignore[list-item]  # a reply no adapter can render


async def _chatty(ctx: Context, args: dict[str, Any]) -> list[Reply]:
    return [Notice(f"part {i}") for i in range(1, 8)]


def registry() -> Registry:
    """The real registry plus two stand-ins: a slow command and a channel setting."""
    reg = build_registry()
    reg.add(
        Command(
            name="slowpoke",
            help="Answer when the test says so.",
            usage="slowpoke",
            handler=_slow,
            slow=True,
        )
    )
    reg.add(
        Command(
            name="channelset",
            help="Change a channel setting.",
            usage="channelset <value>",
            handler=_channel_setting,
            args=(Arg("value", "A value"),),
            manages_channel=True,
        )
    )
    reg.add(Command(name="broken", help="Return a bad reply.", usage="broken", handler=_broken))
    reg.add(Command(name="chatty", help="Answer in 7 parts.", usage="chatty", handler=_chatty))
    return reg


def make_app(db: Path) -> App:
    """The core's services on a migrated SQLite file, offline, on 2024-12-24."""
    settings = load_settings({"DATABASE_URL": f"sqlite+aiosqlite:///{db}"})
    return build_app(settings, source_name="sample", clock=FakeClock(TODAY))


@pytest.fixture
async def papers_app(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[App]:
    path = tmp_path / "paperbot.sqlite3"
    shutil.copy(sqlite_template, path)
    application = make_app(path)
    yield application
    await application.close()


@pytest.fixture
def core(papers_app: App) -> CountingCore:
    return CountingCore(papers_app, registry())


async def start_http(core: Core, slack: FakeSlack, **env: str) -> SlackAdapter:
    adapter = build_slack_adapter(
        core,
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "SLACK_HTTP_HOST": "127.0.0.1",
            "SLACK_HTTP_PORT": "0",
            **env,
        },
    )
    assert adapter is not None
    await adapter.connect()
    return adapter


@pytest.fixture
async def bot(core: CountingCore, slack: FakeSlack) -> AsyncIterator[SlackAdapter]:
    adapter = await start_http(core, slack)
    yield adapter
    await adapter.stop()


async def post(adapter: SlackAdapter, body: str, headers: dict[str, str]) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{adapter.port}/slack/events"
        async with session.post(url, data=body.encode(), headers=headers) as resp:
            return resp.status, await resp.text()


async def slash(
    adapter: SlackAdapter, slack: FakeSlack, text: str, n: int = 1, **form: str
) -> list[dict[str, Any]]:
    """Send a signed /papers command; check the ack; return the respond() payloads."""
    key = f"k{time.monotonic_ns()}"
    body = form_body(slack.slash_command_form(text, key=key, **form))
    status, text_body = await post(adapter, body, sign(body))
    # An empty ack; the answer comes via response_url. That the ack never waits for the
    # answer is test_ack_comes_before_a_slow_answer's (by a gate, not by the wall clock).
    assert status == 200 and text_body == ""
    return await slack.wait_responses(key, n)


def all_text(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False)


def section_texts(payload: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]


async def test_today_lists_papers_in_channel(bot: SlackAdapter, slack: FakeSlack) -> None:
    [answer] = await slash(bot, slack, "today")
    assert answer["response_type"] == "in_channel"
    assert answer["replace_original"] is False
    assert answer["unfurl_links"] is False and answer["unfurl_media"] is False
    texts = section_texts(answer)
    assert "Daily Papers" in texts[0] and "2024-12-24" in texts[0]
    assert texts[1].startswith("*1. ") and ":arrow_up_small:" in texts[1]
    assert "Daily Papers" in answer["text"]  # the notification fallback
    assert len(answer["blocks"]) <= 50


async def test_shortcuts_mean_the_papers_command(bot: SlackAdapter, slack: FakeSlack) -> None:
    [via_shortcut] = await slash(bot, slack, "2024-12-24")
    [explicit] = await slash(bot, slack, "papers 2024-12-24")
    assert via_shortcut["blocks"] == explicit["blocks"]
    assert "2024-12-24" in section_texts(via_shortcut)[0]


async def test_help_is_generated_from_the_registry(
    bot: SlackAdapter, slack: FakeSlack, core: Core
) -> None:
    for text in ("", "help"):
        [answer] = await slash(bot, slack, text)
        assert answer["response_type"] == "ephemeral"
        joined = "\n".join(section_texts(answer))
        for command in core.registry.all():
            usage = command.usage.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            assert f"/papers {usage}" in joined


async def test_unknown_subcommand_answers_with_the_help(
    bot: SlackAdapter, slack: FakeSlack
) -> None:
    error, help_ = await slash(bot, slack, "frobnicate now", n=2)
    assert error["response_type"] == "ephemeral"
    assert "Unknown subcommand 'frobnicate'" in section_texts(error)[0]
    assert "/papers help" in all_text(help_)


async def test_usage_error_is_ephemeral_with_usage(bot: SlackAdapter, slack: FakeSlack) -> None:
    [answer] = await slash(bot, slack, "papers 2024-13-45")
    assert answer["response_type"] == "ephemeral"
    assert section_texts(answer)[0].startswith(":x: ")
    context = answer["blocks"][-1]
    assert context["type"] == "context"
    assert (
        "Usage: `/papers papers [today | yesterday | YYYY-MM-DD] [limit]`"
        in context["elements"][0]["text"]
    )


async def test_paper_card_with_link_buttons(
    bot: SlackAdapter, slack: FakeSlack, papers_app: App
) -> None:
    await papers_app.papers.upsert(
        [
            Paper(
                id="2412.17747",
                title="Deliberation in Latent Space",
                authors=("A. Liu", "B. Chen"),
                abstract="We augment a frozen LLM with a coprocessor.",
                upvotes=42,
                github_repo="example/latent",
                featured_on=(TODAY.date(),),
            )
        ]
    )
    [card] = await slash(bot, slack, "paper 2412.17747")
    assert card["response_type"] == "in_channel"
    head = card["blocks"][0]["text"]["text"]
    assert head.startswith(
        "*<https://huggingface.co/papers/2412.17747|Deliberation in Latent Space>*"
    )
    assert "A. Liu, B. Chen" in head and "42 upvotes" in head and "coprocessor" in head
    # The link buttons; the next row holds the paper's 👍 👎 🔖 Similar.
    links, controls = [b for b in card["blocks"] if b["type"] == "actions"]
    assert [e["text"]["text"] for e in controls["elements"]] == ["👍", "👎", "🔖 Save", "Similar"]
    urls = {e["text"]["text"]: e["url"] for e in links["elements"]}
    assert urls == {
        "Hugging Face": "https://huggingface.co/papers/2412.17747",
        "arXiv": "https://arxiv.org/abs/2412.17747",
        "PDF": "https://arxiv.org/pdf/2412.17747",
        "GitHub": "https://github.com/example/latent",
    }


async def test_mentions_in_titles_are_escaped(
    bot: SlackAdapter, slack: FakeSlack, papers_app: App
) -> None:
    await papers_app.papers.upsert(
        [
            Paper(
                id="2412.00001",
                title="Ping <!channel> & <@U123> <https://evil|click>",
                authors=("<!here>",),
                upvotes=1,
                featured_on=(TODAY.date(),),
            )
        ]
    )
    [card] = await slash(bot, slack, "paper 2412.00001")
    raw = all_text(card)
    for unsafe in ("<!channel>", "<@U123>", "<!here>", "<https://evil"):
        assert unsafe not in raw
    head = card["blocks"][0]["text"]["text"]
    assert "Ping &lt;!channel&gt; &amp; &lt;@U123&gt;" in head
    assert "&lt;!channel&gt;" in card["text"]


async def test_every_registry_command_is_reachable(bot: SlackAdapter, slack: FakeSlack) -> None:
    """Every registry command answers as `/papers <example>` (or its bare name), none unknown."""
    commands = build_registry().all()  # the real ones, not this module's stand-ins
    lines = [e for c in commands for e in (c.examples or (c.name,))]
    assert len(lines) >= len(commands)
    for line in lines:
        answers = await slash(bot, slack, line)
        assert "Unknown subcommand" not in all_text(answers[0]), line
        assert "Sorry, something went wrong" not in all_text(answers), line


async def test_ack_comes_before_a_slow_answer(bot: SlackAdapter, slack: FakeSlack) -> None:
    SlowGate.opened = asyncio.Event()
    body = form_body(slack.slash_command_form("slowpoke", key="slow"))
    # The answer cannot come before the gate opens, so an ack that waited for it never comes.
    status, _ = await asyncio.wait_for(post(bot, body, sign(body)), 3)
    assert status == 200
    assert slack.responses["slow"] == []  # the answer is still being computed
    SlowGate.opened.set()
    [answer] = await slack.wait_responses("slow")
    assert "slow answer" in section_texts(answer)[0]


async def test_stop_lets_an_answer_being_computed_reach_slack(
    bot: SlackAdapter, slack: FakeSlack
) -> None:
    # The stand-in answers only once the adapter is stopping (SIGTERM mid-answer).
    SlowGate.opened = bot._stopped
    body = form_body(slack.slash_command_form("slowpoke", key="late"))
    status, _ = await post(bot, body, sign(body))
    assert status == 200 and slack.responses["late"] == []
    await asyncio.wait_for(bot.stop(), 5)
    [answer] = slack.responses["late"]
    assert "slow answer" in section_texts(answer)[0]


@pytest.mark.parametrize("tamper", ["signature", "old_timestamp", "other_secret"])
async def test_unsigned_or_stale_requests_are_rejected(
    bot: SlackAdapter, slack: FakeSlack, core: CountingCore, tamper: str
) -> None:
    body = form_body(slack.slash_command_form("today", key="forged"))
    if tamper == "signature":
        headers = sign(body)
        headers["X-Slack-Signature"] = "v0=" + "0" * 64
    elif tamper == "old_timestamp":
        headers = sign(body, timestamp=int(time.time()) - 6 * 60)
    else:
        headers = sign(body, secret="not-the-secret")
    status, text = await post(bot, body, headers)
    assert status == 401 and json.loads(text) == {"error": "invalid request"}
    await bot.stop()  # lets any command being answered finish
    assert core.calls == 0
    assert slack.responses["forged"] == []
    assert slack.calls == [c for c in slack.calls if c.method == "auth.test"]


async def test_anyone_may_manage_a_channel_by_default(bot: SlackAdapter, slack: FakeSlack) -> None:
    [answer] = await slash(bot, slack, "channelset on", user_id="U100")
    # The core sees Slack ids with their workspace (T0FAKE:…): two teams' C100 never collide.
    assert "set on by T0FAKE:U100 in T0FAKE:C100" in section_texts(answer)[0]
    assert slack.calls_to("users.info") == []


async def test_channel_admins_restrict_channel_settings(
    core: CountingCore, slack: FakeSlack
) -> None:
    slack.add_user("U100")
    slack.add_user("U300", is_admin=True)
    adapter = await start_http(core, slack, SLACK_CHANNEL_ADMINS="U200, admins")
    try:
        [denied] = await slash(adapter, slack, "channelset on", user_id="U100")
        assert denied["response_type"] == "ephemeral"
        assert "Only people who may manage this channel" in section_texts(denied)[0]
        [listed] = await slash(adapter, slack, "channelset a", user_id="U200")
        assert "set a by T0FAKE:U200" in section_texts(listed)[0]
        [admin] = await slash(adapter, slack, "channelset b", user_id="U300")
        assert "set b by T0FAKE:U300" in section_texts(admin)[0]
        [dm] = await slash(
            adapter,
            slack,
            "channelset c",
            user_id="U100",
            channel_id="D100",
            channel_name="directmessage",
        )
        assert "set c by T0FAKE:U100 in T0FAKE:D100" in section_texts(dm)[0]
        # Reading needs no permission, and costs no users.info call.
        calls = len(slack.calls_to("users.info"))
        await slash(adapter, slack, "help", user_id="U100")
        assert len(slack.calls_to("users.info")) == calls
    finally:
        await adapter.stop()


async def test_link_button_clicks_are_acknowledged(bot: SlackAdapter, slack: FakeSlack) -> None:
    payload = {
        "type": "block_actions",
        "team": {"id": slack.team_id},
        "user": {"id": "U100"},
        "api_app_id": "A0FAKE",
        "token": "t",
        "trigger_id": "t.1",
        "channel": {"id": "C100"},
        "container": {"type": "message"},
        "actions": [
            {"action_id": "paperbot_link_1", "type": "button", "block_id": "b", "action_ts": "1"}
        ],
    }
    body = form_body({"payload": json.dumps(payload)})
    status, _ = await post(bot, body, sign(body))
    assert status == 200


async def test_health_endpoint(bot: SlackAdapter) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{bot.port}/healthz") as resp,
    ):
        assert resp.status == 200 and await resp.text() == "ok"


async def test_subscribe_in_a_channel_and_in_a_dm(bot: SlackAdapter, slack: FakeSlack) -> None:
    [done] = await slash(bot, slack, 'subscribe "diffusion models" -audio')
    assert done["response_type"] == "in_channel"
    assert section_texts(done)[0].startswith(":white_check_mark: ")
    dm = {"channel_id": "D100", "channel_name": "directmessage"}
    [mine] = await slash(bot, slack, "subscribe agents", **dm)
    assert section_texts(mine)[0].startswith(":white_check_mark: ")
    channel_list = "\n".join(section_texts((await slash(bot, slack, "subscriptions"))[0]))
    dm_list = "\n".join(section_texts((await slash(bot, slack, "subscriptions", **dm))[0]))
    assert '"diffusion models" -audio' in channel_list and "agents" not in channel_list
    assert "agents" in dm_list and "diffusion" not in dm_list


async def test_digest_time_in_a_channel(bot: SlackAdapter, slack: FakeSlack) -> None:
    [done] = await slash(bot, slack, "digest time 09:00 America/New_York")
    assert done["response_type"] == "in_channel"
    assert "09:00 America/New_York" in section_texts(done)[0]
    [bad] = await slash(bot, slack, "digest time 25:99 Mars/Olympus")
    assert bad["response_type"] == "ephemeral" and section_texts(bad)[0].startswith(":x: ")


async def test_an_adapter_failure_answers_with_a_short_apology(
    bot: SlackAdapter, slack: FakeSlack
) -> None:
    [answer] = await slash(bot, slack, "broken")
    assert answer["response_type"] == "ephemeral"
    assert section_texts(answer) == [":x: " + SORRY]


async def test_at_most_five_responses_per_command(bot: SlackAdapter, slack: FakeSlack) -> None:
    answers = await slash(bot, slack, "chatty", n=5)
    await bot.stop()  # lets the command finish: anything more would have arrived by now
    assert len(answers) == 5
    assert [section_texts(a)[0] for a in answers[:4]] == [f"part {i}" for i in range(1, 5)]
    assert "too long" in section_texts(answers[4])[0]
