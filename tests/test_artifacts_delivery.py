"""A paper whose linked models/datasets/Spaces or GitHub stars change after it was delivered is
not delivered again: not as an instant alert after the next poll, nor in a later digest."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from bot.papers import Artifacts, Paper
from bot.sources.http import RequestWindow
from tests.delivery_helpers import FakeSource, Harness, RecordingAdapter, make_app, paper, utc
from tests.helpers import DM, MEMBER, FakeClock

DAY = date(2025, 2, 3)


class CitingSource(FakeSource):
    """The fake daily list, plus what cites each paper (the artifact round's source)."""

    def __init__(self) -> None:
        super().__init__()
        self.window = RequestWindow()
        self.cited: dict[str, Artifacts] = {}
        self.looked_up: list[str] = []

    async def artifacts(self, arxiv_id: str) -> Artifacts:
        self.looked_up.append(arxiv_id)
        return self.cited.get(arxiv_id, Artifacts())


async def test_new_artifacts_and_stars_do_not_deliver_a_paper_again(db_url: str) -> None:
    source = CitingSource()
    app = make_app(db_url, FakeClock(utc(2025, 2, 3, 7, 0)), source)
    h = Harness(app, source, RecordingAdapter())
    await h.bot.say("subscribe diffusion", user=MEMBER, place=DM)
    await h.bot.say("alerts instant", user=MEMBER, place=DM)
    # A second subscription that the new facts make true: still the same paper, same place.
    await h.bot.say("subscribe has:model stars>=100", user=MEMBER, place=DM)

    first = replace(paper(1, "Diffusion A", upvotes=3), github_repo="a/b", github_stars=10)
    source.feature(DAY, first)
    await h.tick(utc(2025, 2, 3, 8, 0))
    assert [s.paper_ids for s in h.adapter.to("U2")] == [["2501.00001"]]

    # Hugging Face now lists models and Spaces citing it, and the repo gained stars.
    source.cited["2501.00001"] = Artifacts(models=4, spaces=1)
    assert await h.scheduler.artifacts_once() is not None
    assert source.looked_up == ["2501.00001"]
    source.feature(DAY, replace(first, github_stars=5000, upvotes=40))
    for hour in (9, 10, 11):
        await h.tick(utc(2025, 2, 3, hour, 0))
        await h.scheduler.artifacts_once()

    stored = await app.papers.get("2501.00001")
    assert stored is not None and stored.github_stars == 5000
    assert stored.artifacts == Artifacts(models=4, spaces=1)
    assert h.adapter.paper_counts()[("U2", "2501.00001")] == 1
    assert len(h.adapter.sent) == 1

    # The next paper still comes: the ledger held back only what was delivered.
    source.feature(DAY, Paper(**{**paper(2, "Diffusion B").__dict__}))
    await h.tick(utc(2025, 2, 3, 12, 0))
    assert [s.paper_ids for s in h.adapter.sent] == [["2501.00001"], ["2501.00002"]]
    await app.close()
