"""Multi-workspace Slack: 1,000 workspaces x 3 channels, digests through a fake Slack that
limits each workspace on its own; throughput per workspace and in total, with and without a
429 storm in some of them.

What runs is what `paperbot run` runs: the real sweep composes the 3,000 digests into the
outbox, the real Sender drains them through the real SlackAdapter in multi-workspace mode
(each post reads its workspace's encrypted token from the database), and real slack_sdk posts
them to `tests.fakes.slack_server.FakeSlack` over HTTP, extended here with per-workspace
token buckets for chat.postMessage (429 with Retry-After over them) and a latency.

    python bench/workspaces.py [--workspaces 1000] [--channels 3] [--storm 0.1]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import select, update

from adapters.slack import SlackAdapter, build_slack_adapter
from adapters.slack.sender import WORKSPACE_RATE
from bench.limits import TokenBucket
from bench.seeding import channels_with_queries, polled
from bot.app import build_app
from bot.commands import build_registry
from bot.core import Core
from bot.delivery.sender import Sender
from bot.delivery.sweep import Sweeper
from bot.port import Capabilities
from bot.settings import load_settings
from bot.sources.sample import SampleSource
from bot.storage.db import upgrade
from bot.storage.models import DestinationRow, OutboxRow
from tests.fakes.slack_server import SIGNING_SECRET, FakeSlack, _error
from tests.oauth_helpers import TOKEN_KEY

NOW = datetime(2025, 2, 3, 9, 0, tzinfo=UTC)
QUERIES = ["diffusion", "agent", "reasoning", "video", "LLM", "benchmark", "3D", "RL"]


class WorkspaceLimitedSlack(FakeSlack):
    """chat.postMessage limited per workspace (a token bucket each), with a latency;
    `stormy` workspaces answer every post 429 with a long Retry-After."""

    def __init__(self, rate: float, burst: float, latency: float, storm_after: int) -> None:
        super().__init__()
        self.rate, self.burst, self.latency = rate, burst, latency
        self.buckets: dict[str, TokenBucket] = {}
        self.stormy: set[str] = set()
        self.storm_after = storm_after
        self.accepted: dict[str, list[float]] = defaultdict(list)
        self.status: Counter[str] = Counter()

    async def _m_chat_postMessage(self, args: dict[str, Any]) -> web.Response:
        team = self._team or "?"  # read before any await: the next request sets it anew
        await asyncio.sleep(self.latency)
        if team in self.stormy:
            self.status["429 storm"] += 1
            return _error("ratelimited", status=429, headers={"Retry-After": str(self.storm_after)})
        bucket = self.buckets.setdefault(team, TokenBucket(self.rate, self.burst))
        if wait := bucket.take():
            self.status["429 workspace"] += 1
            return _error("ratelimited", status=429, headers={"Retry-After": str(math.ceil(wait))})
        self._team = team  # the base class reads it again after our await
        response = await super()._m_chat_postMessage(args)
        self.status[str(response.status)] += 1
        self.accepted[team].append(time.monotonic())
        return response


async def prepare(url: str, slack: FakeSlack, workspaces: int, channels: int) -> SlackAdapter:
    await upgrade(url)
    settings = load_settings({"DATABASE_URL": url, "DELIVERY_LEASE_SECONDS": "120"})
    # Real time from 09:00 on: items put back for their turn come due again.
    started = datetime.now(UTC)
    app = build_app(
        settings,
        source=SampleSource(today=NOW.date),
        clock=lambda: NOW + (datetime.now(UTC) - started),
    )
    n = workspaces * channels
    pairs = [(QUERIES[k % 8], QUERIES[(k + 3) % 8]) for k in range(n)]
    await channels_with_queries(app, pairs, NOW)
    async with app.sessions.begin() as s:
        ids = (await s.scalars(select(DestinationRow.id).order_by(DestinationRow.id))).all()
        values = []
        for k, row_id in enumerate(ids):
            team = f"T{k // channels:05d}"
            values.append(
                {
                    "id": row_id,
                    "platform": "slack",
                    "workspace_id": team,
                    "external_id": f"{team}:C{k % channels}",  # the same channel ids everywhere
                }
            )
        await s.execute(update(DestinationRow), values)
    papers = await SampleSource(today=NOW.date).daily_papers(NOW.date())
    await polled(app, list(papers), NOW.replace(hour=8, minute=30))
    env = {
        "DATABASE_URL": url,
        "SLACK_CLIENT_ID": slack.client_id,
        "SLACK_CLIENT_SECRET": slack.client_secret,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_TOKEN_KEYS": TOKEN_KEY,
        "SLACK_API_URL": slack.api_url,
    }
    adapter = build_slack_adapter(Core(app, build_registry()), env)
    assert adapter is not None and adapter.installations is not None
    for w in range(workspaces):
        team = f"T{w:05d}"
        slack.add_team(team)
        token = f"xoxb-{team}"
        slack.tokens[token] = team
        await adapter.installations.async_save(
            Installation(team_id=team, bot_token=token, bot_id="B", bot_user_id="U0", user_id="U1")
        )
    swept = await Sweeper(app).sweep()
    assert swept.queued == n, swept
    return adapter


async def run_once(
    args: argparse.Namespace, storm: float, workspaces: int, *, shared: bool = False
) -> dict[str, Any]:
    slack = WorkspaceLimitedSlack(args.rate, args.burst, args.latency, args.storm_after)
    await slack.start()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite+aiosqlite:///{os.path.join(tmp, 'bench.sqlite3')}"
        adapter = await prepare(url, slack, workspaces, args.channels)
        if shared:
            # The baseline: one pacer and one 429 hold for all of Slack, as in
            # single-workspace mode (what this change replaced for many workspaces).
            adapter.capabilities = Capabilities(finds_posts=True, rate=WORKSPACE_RATE)
        app = adapter.commands.core.app
        stormy = (
            {f"T{w:05d}" for w in range(0, workspaces, max(1, round(1 / storm)))}
            if storm
            else set()
        )
        slack.stormy = stormy
        calm = workspaces - len(stormy)
        async with app.sessions() as s:
            parts = (await s.scalars(select(OutboxRow.id))).all()
        sender = Sender(app, {"slack": adapter})
        stop = asyncio.Event()
        t0 = time.monotonic()
        task = asyncio.create_task(sender.run(stop, poll=0.2))
        want = (workspaces - len(stormy)) * args.channels
        while True:
            done = sum(len(v) for t, v in slack.accepted.items() if t not in stormy)
            if done >= want or time.monotonic() - t0 > args.timeout:
                break
            await asyncio.sleep(0.05)
        total = time.monotonic() - t0
        stop.set()
        await asyncio.wait_for(task, 60)
        per_ws = []  # a calm workspace's messages over its first-to-last span
        finished = []
        for team, times in slack.accepted.items():
            if team in stormy:
                continue
            finished.append(max(times) - t0)
            span = max(times) - min(times)
            per_ws.append((len(times) - 1) / span if span > 0 else float("inf"))
        accepted = sum(len(v) for v in slack.accepted.values())
        await app.close()
        await slack.stop()
    finished.sort()
    return {
        "storm": len(stormy),
        "calm": calm,
        "items": len(parts),
        "messages": accepted,
        "seconds": total,
        "total_rate": accepted / total,
        "ws_rate_p50": statistics.median(per_ws) if per_ws else 0.0,
        "ws_rate_min": min(per_ws) if per_ws else 0.0,
        "done_p50": finished[len(finished) // 2] if finished else 0.0,
        "done_p99": finished[int(len(finished) * 0.99) - 1] if finished else 0.0,
        "done_max": finished[-1] if finished else 0.0,
        "status": dict(slack.status),
    }


def main() -> None:
    logging.basicConfig(level=logging.ERROR)  # each 429 is a warning line otherwise
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspaces", type=int, default=1000)
    parser.add_argument("--baseline-workspaces", type=int, default=100)
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--rate", type=float, default=3.0, help="posts/s per workspace")
    parser.add_argument("--burst", type=float, default=3.0)
    parser.add_argument("--latency", type=float, default=0.03)
    parser.add_argument("--storm", type=float, default=0.1, help="share of stormy workspaces")
    parser.add_argument("--storm-after", type=int, default=20, help="their Retry-After")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--database", help="a PostgreSQL URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    print(
        f"{args.workspaces} workspaces x {args.channels} channels; fake Slack: chat.postMessage "
        f"{args.rate}/s per workspace (bucket {args.burst}), {args.latency * 1000:.0f} ms latency"
    )
    print(
        "| run | workspaces | stormy | items | messages accepted | seconds | total msg/s | "
        "per-workspace msg/s p50 / min (first to last post) | "
        "calm workspace done p50 / p99 / max (s) | answers |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    runs = [
        ("per-workspace pacing, no storm", 0.0, args.workspaces, False),
        (f"per-workspace pacing, {args.storm:.0%} storming", args.storm, args.workspaces, False),
        ("baseline: one pacer for Slack, no storm", 0.0, args.baseline_workspaces, True),
        (
            f"baseline: one pacer, {args.storm:.0%} storming",
            args.storm,
            args.baseline_workspaces,
            True,
        ),
    ]
    for name, storm, workspaces, shared in runs:
        r = asyncio.run(run_once(args, storm, workspaces, shared=shared))
        print(
            f"| {name} | {workspaces} | {r['storm']} | {r['items']} | {r['messages']} | "
            f"{r['seconds']:.1f} | "
            f"{r['total_rate']:.0f} | {r['ws_rate_p50']:.2f} / {r['ws_rate_min']:.2f} | "
            f"{r['done_p50']:.1f} / {r['done_p99']:.1f} / {r['done_max']:.1f} | {r['status']} |"
        )


if __name__ == "__main__":
    main()
