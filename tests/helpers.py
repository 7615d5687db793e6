"""Test helpers: a fake clock and a test bot that drives the real core like a chat user."""

from __future__ import annotations

from datetime import datetime, timedelta

from adapters.console.render import render
from bot.app import App
from bot.commands import build_registry
from bot.core import Core
from bot.messages import Place, Reply, User


class FakeClock:
    """A settable clock (timezone-aware UTC)."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)

    def set(self, now: datetime) -> None:
        self.now = now


ADMIN = User(platform="test", id="U1", name="ada", can_manage_channel=True)
MEMBER = User(platform="test", id="U2", name="bob", can_manage_channel=False)
CHANNEL = Place(platform="test", id="C1", name="papers", workspace_id="W1")
DM = Place(platform="test", id="D1", is_dm=True, workspace_id="W1")


class TestBot:
    """Say things to the bot and read its replies, as in a chat."""

    __test__ = False  # not a test class

    def __init__(self, app: App):
        self.app = app
        self.core = Core(app, build_registry())

    async def say(self, line: str, user: User = ADMIN, place: Place = CHANNEL) -> list[Reply]:
        return await self.core.handle_text(line, user, place)

    async def text(self, line: str, user: User = ADMIN, place: Place = CHANNEL) -> str:
        """The replies as the console shows them."""
        return "\n".join(render(r) for r in await self.say(line, user, place))


def daily_item(
    arxiv_id: str,
    title: str,
    *,
    day: str,
    abstract: str = "An abstract.",
    authors: tuple[str, ...] = ("Ada Lovelace", "Alan Turing"),
    upvotes: int = 1,
    comments: int = 0,
    keywords: tuple[str, ...] = (),
    github: str | None = None,
) -> dict[str, object]:
    """One `GET /api/daily_papers` item in the API's real shape (new format, 2025-03 on)."""
    paper: dict[str, object] = {
        "id": arxiv_id,
        "authors": [
            {"_id": f"{arxiv_id}-a{i}", "name": name, "hidden": False}
            for i, name in enumerate(authors)
        ],
        "publishedAt": f"{day}T00:00:00.000Z",
        "submittedOnDailyAt": f"{day}T06:41:09.118Z",
        "title": title,
        "summary": abstract,
        "upvotes": upvotes,
        "discussionId": "6921c0a4f1e2d3c4b5a69805",
    }
    if keywords:
        paper["ai_keywords"] = list(keywords)
    if github:
        paper["githubRepo"] = github
    return {
        "paper": paper,
        "publishedAt": f"{day}T00:00:00.000Z",
        "title": title,
        "summary": abstract,
        "thumbnail": f"https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/{arxiv_id}.png",
        "numComments": comments,
        "isAuthorParticipating": False,
    }
