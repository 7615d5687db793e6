"""Scrape the operations endpoint over real HTTP and read the Prometheus text format."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot.app import App
from bot.ops.server import OpsServer
from bot.port import Adapter

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@asynccontextmanager
async def serving(app: App, adapters: Mapping[str, Adapter] | None = None) -> AsyncIterator[str]:
    """Run the operations endpoint on a free port; yield its base URL."""
    ops = OpsServer(app, adapters or {})
    await ops.start("127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{ops.port}"
    finally:
        await ops.stop()


async def get(url: str) -> tuple[int, str, str]:
    """GET `url`: the status, the content type header and the body."""
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), await resp.text()


async def scrape(base: str) -> Samples:
    """Every sample of /metrics, by (name, labels)."""
    status, kind, body = await get(base + "/metrics")
    assert status == 200 and kind.startswith("text/plain; version="), (status, kind)
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when the series does not exist (nothing counted yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)
