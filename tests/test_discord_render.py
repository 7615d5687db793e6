"""Rendering neutral replies as Discord messages: escaping, cards, limits, pages."""

from __future__ import annotations

import json
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.discord.render import (
    MAX_EMBED_CHARS,
    clip,
    escape,
    pack,
    paper_card,
    render,
    safe_url,
)
from adapters.discord.sender import nonce_for
from bot.messages import Fields, Notice, PaperCard, PaperItem, PaperList, Tone
from bot.papers import Paper
from tests.fakes.discord_server import embed_length, message_problems

FULL = Paper(
    id="2412.17747",
    title="Deliberation in *Latent* Space",
    abstract="A " * 1000,
    authors=("Ada", "Alan", "Grace", "Edsger"),
    upvotes=7,
    github_repo="example/repo",
    github_stars=120,
    project_page="https://example.org/p (v2)",
    thumbnail="https://cdn.example/t.png",
    featured_on=(date(2024, 12, 24),),
)


def test_escape_neutralises_markdown_and_mentions() -> None:
    text = escape("**bold** @everyone <@123456789012345678> [x](https://evil) `code`")
    assert "@everyone" not in text and "<@123456789012345678>" not in text
    assert text.startswith("\\*\\*bold\\*\\*")
    assert "\\[x\\](https://evil)" in text or "\\[x](https://evil)" in text
    assert "\\`code\\`" in text


def test_clip_never_leaves_a_dangling_escape() -> None:
    assert clip("abcdef", 4) == "abc…"
    assert clip("ab\\*cd", 4) == "ab…"
    assert clip("short", 10) == "short"


def test_safe_url_keeps_links_intact_and_drops_non_http() -> None:
    assert safe_url("https://example.org/p (v2)") == "https://example.org/p%20%28v2%29"
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("") is None


def test_paper_card_has_everything() -> None:
    embed = paper_card(PaperCard(FULL, note="From arXiv")).to_dict()
    assert embed["title"] == "Deliberation in \\*Latent\\* Space"
    assert embed["url"] == "https://huggingface.co/papers/2412.17747"
    assert embed["author"]["name"] == "Ada, Alan, Grace et al."
    assert len(embed["description"]) <= 700 and embed["description"].endswith("…")
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Upvotes"] == "▲ 7"
    assert fields["Featured"] == "2024-12-24"
    assert fields["Links"] == (
        "[arXiv](https://arxiv.org/abs/2412.17747) · [PDF](https://arxiv.org/pdf/2412.17747) · "
        "[GitHub ★120](https://github.com/example/repo) · "
        "[Project page](https://example.org/p%20%28v2%29)"
    )
    assert embed["thumbnail"]["url"] == "https://cdn.example/t.png"
    assert embed["footer"]["text"] == "From arXiv · arXiv:2412.17747"


def test_sample_paper_without_links_still_renders() -> None:
    card = paper_card(PaperCard(Paper(id="sample-01", title="T"))).to_dict()
    assert "url" not in card and card["footer"]["text"] == "sample-01"
    assert message_problems({"embeds": [card]}) == []


def test_notice_tones_usage_and_ephemeral() -> None:
    [out] = render(Notice("Missing query.", tone=Tone.ERROR, usage="/paper <id | `title`>"))
    assert out.content == "❌ Missing query.\nUsage: `/paper <id | 'title'>`"
    assert out.ephemeral
    [ok] = render(Notice("Subscribed to _diffusion_.", tone=Tone.SUCCESS))
    assert ok.content == "✅ Subscribed to \\_diffusion\\_." and not ok.ephemeral


def test_fields_with_many_rows_use_several_embeds() -> None:
    rows = tuple((f"#{i}", "x" * 2000) for i in range(30))
    short = render(Fields("Short", tuple((f"#{i}", "ok") for i in range(30))))
    assert [len(e.fields) for o in short for e in o.embeds] == [25, 5]
    outs = render(Fields("Subscriptions", rows, footer="30 in all"), ephemeral=True)
    embeds = [e.to_dict() for o in outs for e in o.embeds]
    assert [len(e["fields"]) for e in embeds] == [5, 5, 5, 5, 5, 5]  # 6,000 characters each
    assert embeds[1]["title"] == "Subscriptions (continued)"
    assert all(len(f["value"]) <= 1024 for e in embeds for f in e["fields"])
    assert all(o.ephemeral for o in outs)
    for o in outs:
        assert message_problems({"embeds": [e.to_dict() for e in o.embeds]}) == []


def test_interactive_list_pages_and_keeps_the_footer() -> None:
    items = tuple(PaperItem(Paper(id=f"2501.{i:05d}", title=f"P{i}")) for i in range(12))
    [first] = render(PaperList("Today", items, footer="and 4 more"), interactive=True)
    assert len(first.pages) == 3 and first.pages[0] == first
    assert [len(p.embeds) for p in first.pages] == [5, 5, 2]
    assert [p.content for p in first.pages] == [
        f"**Today** · page {i}/3\nand 4 more" for i in (1, 2, 3)
    ]


def test_empty_list_says_so() -> None:
    [out] = render(PaperList("Today", (), empty_text="No papers yet today."))
    assert out.content == "**Today**\nNo papers yet today." and out.embeds == ()


@settings(max_examples=40, deadline=None)
@given(
    titles=st.lists(st.text(min_size=1, max_size=400), min_size=1, max_size=40),
    abstract=st.text(max_size=3000),
)
def test_any_digest_fits_discords_limits(titles: list[str], abstract: str) -> None:
    items = tuple(
        PaperItem(Paper(id=f"2501.{i:05d}", title=t, abstract=abstract), reasons=(t[:50],))
        for i, t in enumerate(titles)
    )
    outs = render(PaperList("Digest " + titles[0], items, footer=abstract[:900] or None))
    assert sum(len(o.embeds) for o in outs) == len(items)
    for o in outs:
        payload = {"content": o.content, "embeds": [e.to_dict() for e in o.embeds]}
        assert message_problems(payload) == []
        assert "@everyone" not in str(payload) and "@here" not in str(payload)


def test_pack_respects_both_limits() -> None:
    embeds = [paper_card(PaperCard(FULL)) for _ in range(23)]
    outs = pack(embeds, head="head", tail="tail")
    assert sum(len(o.embeds) for o in outs) == 23
    assert all(sum(embed_length(e.to_dict()) for e in o.embeds) <= MAX_EMBED_CHARS for o in outs)
    assert all(len(o.embeds) <= 10 for o in outs)
    assert outs[0].content == "head" and outs[-1].content == "tail"


def test_nonce_is_short_stable_and_distinct() -> None:
    assert nonce_for("digest:1:0") == nonce_for("digest:1:0")
    assert nonce_for("digest:1:0") != nonce_for("digest:1:1")
    assert nonce_for("digest:1:0") != nonce_for("digest:2:0")
    assert len(nonce_for("x" * 500 + ":99")) <= 25


def test_notices_and_field_values_keep_their_lines_titles_do_not() -> None:
    [out] = render(Notice("First line.\nSecond   line."))
    assert out.content == "First line.\nSecond line."
    [table] = render(Fields("A\ntitle", (("Next", "Mon 09:00\nTue 09:00"),)))
    embed = table.embeds[0].to_dict()
    assert embed["title"] == "A title"
    assert embed["fields"][0]["value"] == "Mon 09:00\nTue 09:00"


def test_escape_holds_after_brackets_and_parentheses() -> None:
    # discord.utils.escape_markdown leaves everything between the first "[" and the last ")"
    # of a line untouched (its masked-link pattern is greedy): a second link stays clickable.
    text = escape("See [1] (2): **bold** ||spoiler|| [click](https://evil.example) `code` ~~s~~")
    assert text == (
        "See \\[1\\] (2): \\*\\*bold\\*\\* \\|\\|spoiler\\|\\| \\[click\\](https://evil.example)"
        " \\`code\\` \\~\\~s\\~\\~"
    )


def test_escape_keeps_urls_intact_and_quotes_headers_lists_inert() -> None:
    assert escape("code at https://github.com/a_b/c_d.") == "code at https://github.com/a_b/c_d."
    assert escape("> quote") == "\\> quote"
    assert escape("# big\n- item\n-# small") == "\\# big\n\\- item\n\\-# small"
    assert escape("back\\slash _x_") == "back\\\\slash \\_x\\_"


BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


def test_bidi_controls_never_reach_discord() -> None:
    paper = Paper(
        id="2412.00004",
        title=f"evil{BIDI}title",
        abstract=f"txt{BIDI}",
        authors=(f"A{BIDI}",),
        github_repo="example/repo",
    )
    replies = [
        PaperCard(paper, note=BIDI),
        PaperList(f"T{BIDI}", (PaperItem(paper, reasons=(BIDI,)),), footer=BIDI),
        Fields(f"F{BIDI}", ((f"n{BIDI}", f"v{BIDI}"),), footer=BIDI),
        Notice(f"N{BIDI}"),
    ]
    messages = [m for r in replies for m in render(r)]
    rendered = json.dumps(
        [[m.content, [e.to_dict() for e in m.embeds]] for m in messages], ensure_ascii=False
    )
    assert not any(c in rendered for c in BIDI)
    assert "eviltitle" in rendered
