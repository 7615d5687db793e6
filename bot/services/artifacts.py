"""The artifact round: look up the Hugging Face models, datasets and Spaces citing recent papers.

It runs as its own scheduled job beside the poll (never inside it: instant alerts do not
wait for it) and spends only what Hugging Face's rate limit leaves: it stops as soon as this
process has made `hf_request_budget` requests in the last 5 minutes, the poll's and
commands' included. What it stores changes cards, digests and has:model matching, never what
was delivered: the ledger keys on the paper, so new counts re-deliver nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol, runtime_checkable

from bot.app import App
from bot.papers import Artifacts
from bot.sources.http import RequestWindow, SourceError

log = logging.getLogger(__name__)

MAX_PER_ROUND = 120  # one round's look-ups at most, whatever the budget leaves


@runtime_checkable
class ArtifactSource(Protocol):
    """A source that can tell what cites a paper (the Hugging Face client)."""

    window: RequestWindow

    async def artifacts(self, arxiv_id: str) -> Artifacts:
        """The models, datasets and Spaces citing the paper."""
        ...


@dataclass
class ArtifactReport:
    checked: int = 0
    changed: int = 0
    due: int = 0  # looked up or not: how many were due when the round began
    stopped: str | None = None  # why the round ended early ("budget", or the source error)

    def __str__(self) -> str:
        text = f"{self.checked} of {self.due} due looked up, {self.changed} changed"
        return text + (f"; stopped: {self.stopped}" if self.stopped else "")


async def artifact_round(app: App, limit: int = MAX_PER_ROUND) -> ArtifactReport:
    """Look up the papers whose artifacts are due, newest unknown first, within the budget."""
    report = ArtifactReport()
    source = app.source
    days = app.settings.artifact_days
    if days <= 0 or not isinstance(source, ArtifactSource):
        return report
    now = app.clock()
    due = await app.papers.artifacts_due(
        now=now,
        since=now.date() - timedelta(days=days),
        refresh=timedelta(hours=app.settings.artifact_refresh_hours),
        limit=limit,
    )
    report.due = len(due)
    budget = app.settings.hf_request_budget
    for paper_id in due:
        # Checked before each look-up: a retry inside the last one counted too.
        if source.window.used() >= budget:
            report.stopped = "budget"
            break
        try:
            artifacts = await source.artifacts(paper_id)
        except SourceError as exc:
            # The rest waits for the next round: Hugging Face is down or asks us to wait.
            report.stopped = str(exc)
            log.warning("artifact look-ups paused at paper %s: %s", paper_id, exc)
            break
        report.checked += 1
        if await app.papers.save_artifacts(paper_id, artifacts, app.clock()):
            report.changed += 1
    if report.checked or report.stopped:
        log.info("artifact round: %s", report)
    return report
