"""Linked models, datasets and Spaces and GitHub stars on cards and in lists, through the real
Discord and Slack adapters (their fakes check each message as the platform would); repo
names are untrusted text and arrive inert."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.discord import DiscordAdapter
from adapters.slack import SlackAdapter
from bot.app import App
from bot.commands import build_registry
from bot.core import Core
from bot.papers import ArtifactRef, Artifacts, Paper
from bot.services.ingest import store
from tests.discord_helpers import running_adapter
from tests.fakes.discord_server import ALL_PERMISSIONS, FakeDiscord
from tests.fakes.slack_server import FakeSlack
from tests.test_discord_safety import check_inert as discord_inert
from tests.test_slack_commands import papers
from tests.test_slack_http import start_http
from tests.test_slack_safety import check_inert as slack_inert

PAPER = Paper(
    id="2412.88888",
    title="Wavelet transformers",
    abstract="We cite and are cited.",
    authors=("Ada Lovelace",),
    upvotes=9,
    github_repo="https://github.com/acme-lab/wavelet",
    github_stars=1234,
)
CITED = Artifacts(
    models=3,
    datasets=1,
    spaces=2,
    top=(
        ArtifactRef("models", "acme-lab/wavelet-7b"),
        # Valid Hugging Face names, but markdown to a chat platform: must stay literal.
        ArtifactRef("datasets", "__init__/*bold*_x"),
        ArtifactRef("spaces", "acme-lab/wavelet-demo"),
    ),
)
PAGE = "https://huggingface.co/papers/2412.88888"


@pytest.fixture
async def app(sample_app: App) -> App:
    today = sample_app.clock().date()
    await store(sample_app, [Paper(**{**PAPER.__dict__, "featured_on": (today,)})])
    assert await sample_app.papers.save_artifacts(PAPER.id, CITED, sample_app.clock())
    return sample_app


async def discord_run(fake: FakeDiscord, name: str, options: dict[str, Any]) -> list[Any]:
    payload = fake.interaction(name, options, permissions=ALL_PERMISSIONS)
    msgs = await fake.wait_reply(await fake.interact(payload), within=10)
    for m in msgs:
        discord_inert(m)
    return msgs


@pytest.fixture
async def discord_bot(fake: FakeDiscord, app: App) -> AsyncIterator[DiscordAdapter]:
    async with running_adapter(fake, Core(app, build_registry())) as adapter:
        yield adapter


async def test_discord_card_and_list_show_counts_links_and_stars(
    fake: FakeDiscord, discord_bot: DiscordAdapter
) -> None:
    [card] = await discord_run(fake, "paper", {"query": PAPER.id})
    [embed] = card["embeds"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert "[GitHub ★1234](https://github.com/acme-lab/wavelet)" in fields["Links"]
    cited = fields["Cited on Hugging Face by"]
    counts, repos = cited.split("\n")
    assert counts == f"[3 models, 1 dataset, 2 Spaces]({PAGE})"
    assert "[acme-lab/wavelet-7b](https://huggingface.co/acme-lab/wavelet-7b)" in repos
    assert "\\_\\_init\\_\\_/\\*bold\\*\\_x" in repos  # literal, not bold or italics
    assert "(https://huggingface.co/spaces/acme-lab/wavelet-demo)" in repos

    [page] = await discord_run(fake, "papers", {"day": "today", "limit": 12})
    [item] = [e for e in page["embeds"] if "Wavelet" in e["title"]]
    # In a list: the counts only, linked, beside the stars.
    assert f"[3 models, 1 dataset, 2 Spaces]({PAGE})" in item["description"]
    assert "★1234" in item["description"]
    assert "wavelet-7b" not in item["description"]


@pytest.fixture
async def slack_bot(app: App, slack: FakeSlack) -> AsyncIterator[SlackAdapter]:
    adapter = await start_http(Core(app, build_registry()), slack)
    yield adapter
    await adapter.stop()


async def test_slack_card_and_list_show_counts_links_and_stars(
    slack_bot: SlackAdapter, slack: FakeSlack
) -> None:
    [card] = await papers(slack_bot, slack, f"paper {PAPER.id}")
    slack_inert(card)
    head = card["blocks"][0]["text"]["text"]
    assert ":star: 1,234" in head
    assert f"<{PAGE}|3 models, 1 dataset, 2 Spaces>" in head
    assert "<https://huggingface.co/acme-lab/wavelet-7b|acme-lab/wavelet-7b>" in head
    assert "<https://huggingface.co/spaces/acme-lab/wavelet-demo|" in head
    assert "|__init__/*bold*" not in head and "∗bold∗" in head  # the label is neutralised

    answers = await papers(slack_bot, slack, "papers today")
    for a in answers:
        slack_inert(a)
    blocks = [(b.get("text") or {}).get("text", "") for a in answers for b in a["blocks"]]
    [line] = [b for b in blocks if "Wavelet transformers" in b]
    # In a list: the counts only, linked, beside the stars.
    assert f"<{PAGE}|3 models, 1 dataset, 2 Spaces>" in line
    assert ":star: 1,234" in line
    assert "wavelet-7b" not in line
