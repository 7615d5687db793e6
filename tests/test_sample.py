"""The bundled offline sample and its PaperSource."""

from __future__ import annotations

from datetime import date

from bot.sources import HuggingFaceClient, PaperSource, SampleSource, load_sample_papers

DAY = date(2026, 11, 17)


def test_sample_has_76_papers_in_page_order() -> None:
    papers = load_sample_papers(DAY)
    assert len(papers) == 76
    assert papers[0].title == "Deliberation in Latent Space via Differentiable Cache Augmentation"
    assert papers[-1].title == "Discrete Key-Value Bottleneck"
    assert [p.id for p in papers[:2]] == ["sample-01", "sample-02"]
    assert papers[-1].id == "sample-76"
    assert len({p.id for p in papers}) == 76


def test_sample_invents_no_metadata() -> None:
    for paper in load_sample_papers(DAY):
        assert paper.arxiv_id is None and paper.url is None
        assert paper.authors == () and paper.published_at is None
        assert paper.upvotes == 0 and paper.featured_on == (DAY,)
        assert paper.abstract and "\n" not in paper.abstract


async def test_sample_source_serves_today_only() -> None:
    source = SampleSource(today=lambda: DAY)
    assert len(await source.daily_papers(DAY)) == 76
    assert await source.daily_papers(date(2026, 11, 16)) == []
    assert await source.paper("2412.17747") is None
    assert await source.search("latent space") == []


def test_both_sources_satisfy_the_protocol() -> None:
    assert isinstance(SampleSource(), PaperSource)
    assert isinstance(HuggingFaceClient(), PaperSource)
