"""bot.text: what user and paper text may not carry, removed once where it enters."""

from __future__ import annotations

from datetime import date

from bot.app import App
from bot.papers import Paper
from bot.services.ingest import store
from bot.text import clean, clean_paper, strip_bidi
from tests.helpers import TestBot

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
BAD = "\x00\x1b\x7f\x85\ud800\udfff" + BIDI


def test_clean_drops_controls_surrogates_and_bidi_only() -> None:
    assert clean(f"diff{BAD}usion") == "diffusion"
    kept = "tab\tline\nCR\r ünïcødé 论文 بحث 🚀 zero\u200bwidth join\u200d"
    assert clean(kept) == kept
    assert strip_bidi("a\u202eb\x00") == "ab\x00"  # renderers: bidi only


def test_a_clean_paper_is_returned_as_is() -> None:
    paper = Paper(id="2412.00001", title="Fine", authors=("A",), ai_summary=None)
    assert clean_paper(paper) is paper


async def test_stored_papers_carry_no_unsafe_characters(app: App, bot: TestBot) -> None:
    """On PostgreSQL a NUL or a lone surrogate would fail the whole upsert."""
    day = app.clock().date()
    dirty = Paper(
        id="2412.00002",
        title=f"Deliberation{BAD} in Latent Space",
        abstract=f"An abstract{BAD}.",
        authors=(f"Ada{BAD} Lovelace",),
        ai_summary=f"Sum{BAD}mary",
        ai_keywords=(f"key{BAD}word",),
        organization=f"Org{BAD}",
        github_repo=f"example/repo{BAD}",
        project_page=f"https://example.org/{BAD}p",
        featured_on=(day, date(2024, 12, 23)),
    )
    await store(app, [dirty])
    stored = await app.papers.get("2412.00002")
    assert stored is not None
    assert stored.title == "Deliberation in Latent Space"
    assert (stored.abstract, stored.authors, stored.ai_summary) == (
        "An abstract.",
        ("Ada Lovelace",),
        "Summary",
    )
    assert (stored.ai_keywords, stored.organization) == (("keyword",), "Org")
    assert (stored.github_repo, stored.project_page) == ("example/repo", "https://example.org/p")
    # The title index learnt the clean title too.
    assert "Deliberation in Latent Space" in await bot.text("paper deliberation latent space")
