"""Query fields on paper facts: has:code, stars>=N, org:, author:@user — parsed, stored,
matched by the engine and the day search, explained by why, read from the real HF shape."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest

from bot.app import App
from bot.matching.engine import Reason, match_batch
from bot.matching.explain import explain
from bot.papers import ArtifactRef, Artifacts, Paper
from bot.query import parse_query
from bot.query.stored import dump, load
from bot.sources.huggingface import parse_daily_item
from tests.helpers import TestBot
from tests.reference_matcher import reference_batch

TODAY = date(2024, 12, 24)  # the FakeClock's day

# The real responses sit beside the checkout (../shared/data), never in it; or name them.
DATA = Path(
    os.environ.get("PAPERBOT_BENCH_DATA")
    or Path(__file__).resolve().parents[2] / "shared" / "data" / "hf-daily-papers"
)

CODE = Paper(
    id="2501.00001",
    title="Diffusion with code",
    github_repo="https://github.com/a/b",
    github_stars=120,
    organization="ByteDance Seed",
    organization_handle="ByteDance-Seed",
    authors=("Yann LeCun", "Ada Lovelace"),
    claimed=(("Yann LeCun", "ylecun"),),
    artifacts=Artifacts(models=3, datasets=1, spaces=0, top=(ArtifactRef("models", "a/b-7b"),)),
)
BARE = Paper(id="2501.00002", title="Diffusion alone", authors=("Yann LeCun",))
# Looked up, and nothing cites it: has:model fails like for a paper never looked up.
CITED_BY_NONE = Paper(id="2501.00003", title="Diffusion cited by none", artifacts=Artifacts())
PAPERS = [CODE, BARE, CITED_BY_NONE]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("has:code", ["2501.00001"]),
        ("diffusion -has:code", ["2501.00002", "2501.00003"]),
        ("has:model", ["2501.00001"]),
        ("has:Dataset", ["2501.00001"]),
        ("has:space", []),
        ("diffusion -has:model", ["2501.00002", "2501.00003"]),
        ("has:space OR has:dataset", ["2501.00001"]),
        ("stars>=100", ["2501.00001"]),
        ("stars>=121", []),
        ("stars<5", []),  # no repository: no stars to compare, even "fewer than 5"
        ("org:bytedance-seed", ["2501.00001"]),
        ('org:"ByteDance  Seed"', ["2501.00001"]),
        ("org:ByteDance", []),  # a handle or full name is compared whole
        ("author:@YLeCun", ["2501.00001"]),
        ("author:@ada", []),
        ("author:LeCun", ["2501.00001", "2501.00002"]),  # by name: both, claimed or not
        ("diffusion (org:google OR author:@ylecun)", ["2501.00001"]),
    ],
)
def test_engine_and_reference_agree_on_each_fact(query: str, expected: list[str]) -> None:
    subs = [(1, parse_query(query))]
    found = match_batch(PAPERS, subs)
    assert (found[1].paper_ids if 1 in found else []) == expected
    assert found == reference_batch(PAPERS, subs)


def test_reasons_name_the_fact_fields() -> None:
    [match] = match_batch(PAPERS, [(1, parse_query("has:code stars>=10 org:bytedance-seed"))])[1]
    assert match.reasons == (
        Reason("has:code", "code"),
        Reason("org:bytedance-seed", "org"),
        Reason("stars>=10", "stars"),
    )


def test_reasons_and_why_name_the_artifact_kinds() -> None:
    [match] = match_batch(PAPERS, [(1, parse_query("has:model has:dataset"))])[1]
    assert match.reasons == (Reason("has:dataset", "dataset"), Reason("has:model", "model"))
    result = explain(parse_query("has:model has:space"), CODE)
    assert not result.matched
    model, space = result.terms
    assert model.found and (model.hits[0].field, model.hits[0].text) == ("model", "3 models")
    assert not space.found


def test_why_explains_a_fact_found_and_one_missing() -> None:
    result = explain(parse_query("author:@ylecun stars>=500"), CODE)
    assert not result.matched
    claimed, stars = result.terms
    assert claimed.found and claimed.hits[0].field == "author"
    assert claimed.hits[0].text == "Yann LeCun (@ylecun)"
    assert not stars.found


def test_facts_survive_the_stored_form_and_keep_canonical_text() -> None:
    query = parse_query('has:CODE stars >= 5 org:"Google DeepMind" author:@AK')
    assert str(query) == 'author:@ak has:code org:"google deepmind" stars>=5'
    loaded = load(dump(query), query.text, str(query))
    assert loaded is not None and loaded.root == query.root
    assert load({"v": 1, "tree": ["h", "models"]}, "x", "x") is None  # broken: parsed again
    assert load(dump(parse_query("has:space")), "has:space", "has:space") is not None


def test_equal_facts_are_duplicates() -> None:
    assert parse_query("org:Tencent has:code") == parse_query("has:code ORG:tencent")
    assert parse_query("author:@AK") == parse_query("author:@ak")


def _real_items() -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    for path in sorted(DATA.glob("2025-12-*.json")):
        items.extend(json.loads(path.read_text()))
    return items


@pytest.mark.skipif(not DATA.is_dir(), reason="the real Daily Papers responses are not here")
def test_the_real_responses_give_claims_orgs_and_stars() -> None:
    papers = [parse_daily_item(item, None) for item in _real_items()]  # type: ignore[arg-type]
    claimed = [p for p in papers if p.claimed]
    assert claimed, "no verified claim in December 2025"
    name, user = claimed[0].claimed[0]
    assert name in claimed[0].authors and user
    with_org = [p for p in papers if p.organization_handle]
    assert with_org and all(p.organization for p in with_org)
    subs = [(1, parse_query(f"author:@{user}")), (2, parse_query("has:code stars>=1000"))]
    found = match_batch(papers, subs)
    assert claimed[0].id in found[1].paper_ids
    assert found == reference_batch(papers, subs)


def test_an_unverified_claim_is_not_followed() -> None:
    item = {
        "paper": {
            "id": "2501.00009",
            "title": "T",
            "authors": [
                {"name": "A B", "user": {"user": "ab"}, "status": "claimed_verified"},
                {"name": "C D", "user": {"user": "cd"}, "status": "claimed"},
                {
                    "name": "E F",
                    "user": {"user": "ef"},
                    "status": "claimed_verified",
                    "hidden": True,
                },
                {"name": "G H", "user": {"user": "<!channel>"}, "status": "claimed_verified"},
            ],
            "organization": {"name": "acme-lab", "fullname": "Acme Lab"},
        }
    }
    paper = parse_daily_item(item, None)
    assert paper.claimed == (("A B", "ab"),)
    assert (paper.organization, paper.organization_handle) == ("Acme Lab", "acme-lab")


async def test_facts_are_stored_and_read_back(app: App) -> None:
    await app.papers.upsert([CODE])
    stored = await app.papers.get(CODE.id)
    assert stored is not None
    assert stored.claimed == CODE.claimed
    assert stored.organization_handle == "ByteDance-Seed"
    assert stored.authors == CODE.authors


async def test_subscribe_search_and_why_speak_the_new_fields(bot: TestBot) -> None:
    await bot.app.papers.upsert(
        [
            Paper(**{**CODE.__dict__, "featured_on": (TODAY,)}),
            Paper(**{**BARE.__dict__, "featured_on": (TODAY,)}),
        ]
    )
    text = await bot.text("/subscribe diffusion org:ByteDance-Seed has:code")
    assert "It would have matched 1 paper in the last 7 days" in text
    why = " ".join((await bot.text("/why 2501.00001 #1")).split())
    assert 'org "ByteDance Seed"' in why and "has:code" in why
    bad = await bot.text("/subscribe has:models")
    assert 'Unknown "has:models" (did you mean has:model?) at position 5' in bad
