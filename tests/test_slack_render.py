"""Block Kit rendering: escaping, links, limits and splitting."""

from __future__ import annotations

import json
import re

from hypothesis import given
from hypothesis import strategies as st

from adapters.slack.render import (
    MAX_BLOCKS,
    MAX_MESSAGE_CHARS,
    MAX_SECTION_TEXT,
    escape,
    fit,
    link,
    render,
    safe_url,
)
from bot.messages import Fields, Notice, PaperCard, PaperItem, PaperList, Tone
from bot.papers import Paper
from tests.fakes.slack_server import _check_message

ITEM = re.compile(r"^\*(\d+)\. ")


def test_escape_makes_entities_and_neutralises_formatting() -> None:
    assert escape("a & b < c > d *e* _f_ ~g~") == "a &amp; b &lt; c &gt; d ∗e∗ ˍfˍ ∼g∼"
    assert escape("&lt;") == "&amp;lt;"  # already-escaped text stays literal
    # Inside a word the characters cannot format, and names keep them.
    assert escape("America/New_York not_in_channel a~b") == "America/New_York not_in_channel a~b"


def test_links_cannot_be_broken_out_of() -> None:
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("https://x.org/a|b>c d") == "https://x.org/a%7Cb%3Ec%20d"
    assert link("https://x.org/p", "A <b> | c") == "<https://x.org/p|A &lt;b&gt; | c>"
    assert link(None, "plain <!here>") == "plain &lt;!here&gt;"


def test_notice_tone_and_usage() -> None:
    [msg] = render(Notice("Missing query.", tone=Tone.ERROR, usage="/papers subscribe <query>"))
    assert msg["blocks"][0]["text"]["text"] == ":x: Missing query."
    assert msg["blocks"][1] == {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": "Usage: `/papers subscribe &lt;query&gt;`", "verbatim": True}
        ],
    }
    assert msg["text"] == "Missing query.\nUsage: /papers subscribe &lt;query&gt;"


def test_card_without_arxiv_id_has_no_dead_links() -> None:
    [msg] = render(PaperCard(Paper(id="sample-03", title="A sample"), note="From the sample"))
    assert msg["blocks"][0]["text"]["text"].startswith("*A sample*")
    # No link buttons: only the paper's 👍 👎 🔖 Similar.
    assert [b["type"] for b in msg["blocks"]] == ["section", "actions", "context"]
    assert all("url" not in e for e in msg["blocks"][1]["elements"])


def test_card_abstract_is_clipped_at_a_word() -> None:
    [msg] = render(PaperCard(Paper(id="2401.00001", title="T", abstract="word " * 1000)))
    text = msg["blocks"][0]["text"]["text"]
    assert len(text) < 1000 and text.endswith("word…")


def test_empty_list_shows_its_empty_text() -> None:
    [msg] = render(PaperList(title="Digest", items=(), empty_text="Nothing matched today."))
    assert [b["text"]["text"] for b in msg["blocks"]] == ["*Digest*", "Nothing matched today."]


def test_long_fields_are_chunked_into_sections() -> None:
    rows = tuple((f"subscription {i}", "x" * 200) for i in range(100))
    messages = render(Fields(title="Status", rows=rows))
    sections = [b for m in messages for b in m["blocks"] if b["type"] == "section"]
    assert all(len(b["text"]["text"]) <= MAX_SECTION_TEXT for b in sections)
    joined = "\n".join(b["text"]["text"] for b in sections)
    assert all(f"*subscription {i}:*" in joined for i in range(100))


def test_help_rows_show_usage_as_code() -> None:
    [msg] = render(Fields(title="Help", rows=(("/papers paper <id>", "Show one paper."),)))
    assert msg["blocks"][1]["text"]["text"] == "`/papers paper &lt;id&gt;` — Show one paper."


def _paper(n: int, title: str) -> Paper:
    return Paper(
        id=f"2412.{n:05d}",
        title=title,
        authors=("X",),
        abstract="y" * 500,
        upvotes=n,
        github_repo="a/b",
    )


@given(
    titles=st.lists(st.text(min_size=1, max_size=400), min_size=0, max_size=130),
    reasons=st.lists(st.text(max_size=80), max_size=4),
)
def test_any_list_splits_within_slack_limits(titles: list[str], reasons: list[str]) -> None:
    items = tuple(PaperItem(_paper(i, t), reasons=tuple(reasons)) for i, t in enumerate(titles))
    messages = render(PaperList(title="Digest <!channel>", items=items, footer="more"))
    for msg in messages:
        assert _check_message(msg) is None  # the fake Slack's limits accept every part
        assert len(msg["blocks"]) <= MAX_BLOCKS
        assert 0 < len(msg["text"]) <= 3000
        assert sum(len(json.dumps(b)) for b in msg["blocks"]) < 3 * MAX_MESSAGE_CHARS
        assert "<!channel>" not in json.dumps(msg)
    numbers = [
        int(m.group(1))
        for msg in messages
        for b in msg["blocks"]
        if b["type"] == "section" and (m := ITEM.match(b["text"]["text"]))
    ]
    assert numbers == list(range(1, len(titles) + 1))


@given(st.text(max_size=200))
def test_no_text_can_produce_a_mention(text: str) -> None:
    rendered = json.dumps(render(Notice(text)) + render(PaperCard(_paper(1, text or "t"))))
    assert "<!" not in rendered and "<@" not in rendered and "<#" not in rendered


def test_a_huge_notice_is_split_too() -> None:
    messages = render(Notice("\n".join(f"line {i} " + "x" * 90 for i in range(3000))))
    assert len(messages) > 1
    assert all(_check_message(m) is None for m in messages)


def test_overlong_urls_get_no_button_or_link() -> None:
    """Slack rejects a whole message whose button URL exceeds 3,000 characters."""
    long = "https://example.org/" + "p" * 3000
    paper = Paper(id="2412.00002", title="T", project_page=long, github_repo="a/b")
    [msg] = render(PaperCard(paper))
    assert _check_message(msg) is None
    actions, _controls = [b for b in msg["blocks"] if b["type"] == "actions"]
    assert [e["text"]["text"] for e in actions["elements"]] == [
        "Hugging Face",
        "arXiv",
        "PDF",
        "GitHub",
    ]
    assert safe_url(long) is None and safe_url(long[:3000]) == long[:3000]
    assert link(long, "page") == "page"


STRAY = re.compile(r"(?<![^\W_])[*_~]|[*_~](?![^\W_])")  # could open or close formatting


def _strays(escaped: str) -> list[str]:
    """Formatting characters left in escaped text that Slack could act on."""
    # Inert: closed one-line code spans (not part of a fence) and URLs.
    rest = re.sub(r"(?<!`)`[^`\n]+`(?!`)|https?://[^\s<>|`*]+", "", escaped)
    return STRAY.findall(rest) + re.findall("`", rest)


@given(st.text(alphabet=st.sampled_from("ab *_~`>\n&<.:/"), max_size=60) | st.text())
def test_escaped_text_has_nothing_slack_could_format(text: str) -> None:
    escaped = escape(text)
    assert _strays(escaped) == []
    assert "```" not in escaped
    assert not re.search(r"^[ \t]*&gt;", escaped, re.MULTILINE)  # never a quote


def test_cutting_never_leaves_an_entity_or_a_code_span_open() -> None:
    assert fit("ab &amp; cd", 6) == "ab …"
    assert fit("run `paperbot run` now", 12) == "run ˋpaperb…"
    assert fit("`a` and `b`", 11) == "`a` and `b`"


def test_stray_marks_in_paper_text_cannot_swallow_a_section() -> None:
    paper = Paper(
        id="2412.00003",
        title="Deliberation *in Latent_ Space ~ `x",
        abstract="```python\nprint(x) *stray _under ~tilde `tick\n> quoted *line",
        authors=("A*", "_B"),
        organization="~Org",
        upvotes=1,
    )
    [card] = render(PaperCard(paper))
    [head] = [b["text"]["text"] for b in card["blocks"] if b["type"] == "section"]
    title, authors, meta, _, abstract = head.split("\n")
    # Our bold title wraps the whole title; nothing in it can close the bold early.
    assert title == (
        "*<https://huggingface.co/papers/2412.00003|Deliberation ∗in Latentˍ Space ∼ ˋx>*"
    )
    assert authors == "A∗, ˍB" and meta.endswith("∼Org")
    assert abstract == "ˋˋˋpython print(x) ∗stray ˍunder ∼tilde ˋtick &gt; quoted ∗line"
    [item] = render(PaperList("Digest", (PaperItem(paper, reasons=("*a", "_b_")),)))
    lines = item["blocks"][1]["text"]["text"].split("\n")
    assert lines[0].startswith("*1. <") and lines[0].endswith(">*")
    assert lines[-1] == "_matched: ∗a, ˍbˍ_"
    for line in [title[1:-1], authors, meta, abstract, lines[-1][1:-1]]:
        assert _strays(re.sub(r"<[^>]*\|", "", line)) == [], line


BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


def test_bidi_controls_never_reach_slack() -> None:
    paper = Paper(
        id="2412.00004",
        title=f"evil{BIDI}title",
        abstract=f"txt{BIDI}",
        authors=(f"A{BIDI}",),
        organization=BIDI,
    )
    replies = [
        PaperCard(paper, note=BIDI),
        PaperList(f"T{BIDI}", (PaperItem(paper, reasons=(BIDI,)),), footer=BIDI),
        Fields(f"F{BIDI}", ((BIDI, BIDI),), footer=BIDI),
        Notice(f"N{BIDI}", usage=BIDI),
        Notice(BIDI),
    ]
    rendered = json.dumps([render(r) for r in replies], ensure_ascii=False)
    assert not any(c in rendered for c in BIDI)
    assert "eviltitle" in rendered


def test_an_alerts_suggestions_stay_in_one_message_with_their_heading() -> None:
    """However the matches split, "You may also like" and the papers it heads go together:
    never the heading at the end of one message and its papers under the next one's
    "(continued)", where they would read as matches."""

    def big(n: int) -> Paper:
        return Paper(
            id=f"2501.{n:05d}",
            title=f"Paper {n} " + "long words " * 20,
            abstract="abstract " * 200,
            authors=("Ada Lovelace",) * 10,
        )

    def heading(block: dict[str, object]) -> bool:
        text = block.get("text")
        return isinstance(text, dict) and "You may also like" in str(text.get("text"))

    also = tuple(PaperItem(big(100 + k), ("like 2501.00001 you liked",)) for k in range(3))
    splits = 0
    for n in range(1, 60):
        items = tuple(PaperItem(big(k), ("diffusion",)) for k in range(n))
        messages = render(PaperList("New for you", items, footer="and 3 more", also=also))
        splits += len(messages) > 1
        [holding] = [m for m in messages if any(heading(b) for b in m["blocks"])]
        blocks = holding["blocks"]
        label = next(k for k, b in enumerate(blocks) if heading(b))
        after = [b["accessory"]["action_id"] for b in blocks[label + 1 :] if b.get("accessory")]
        assert len(after) == 3, n  # the three suggestions, right under their heading
        assert all(_check_message(m) is None for m in messages), n
    assert splits > 20  # the loop did split the matches, at many different points
