"""Slack text is cut only at safe points: never inside `&lt;`, `<url|label>` or `<@U…>`.

Property tests over mrkdwn built the way render.py builds it (escaped paper text, links,
mentions, code spans, bold titles), cut at every length.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.slack.render import MAX_SECTION_TEXT, escape, fit, link, render
from bot.messages import PaperCard, PaperItem, PaperList
from bot.papers import Paper

ENTITY = re.compile(r"&(amp|lt|gt);")
ANGLED = re.compile(r"<[^<>\n]*>")

words = st.text(alphabet=st.sampled_from("ab &<>*_`~\n.|é😀"), max_size=30)
urls = st.builds(
    lambda path: f"https://arxiv.org/abs/{path}", st.text(alphabet="0123456789._-|>", max_size=20)
)
pieces = st.one_of(
    words.map(escape),
    st.builds(link, urls, words),
    st.sampled_from(["<@U0123ABC>", "<!here>", "<#C100|general>", "`code span`", "&amp;"]),
    st.builds(lambda u, w: f"*{link(u, w)}*", urls, words),
)
mrkdwn = st.lists(pieces, max_size=12).map("".join)


def assert_safe(original: str, cut: str, limit: int) -> None:
    assert len(cut) <= limit
    # Every entity and angle-bracket construct left is whole and came from the original.
    for angled in ANGLED.findall(cut):
        assert angled in original, (angled, original)
    rest = ENTITY.sub("", ANGLED.sub("", cut))
    assert "&" not in rest and "<" not in rest and ">" not in rest, (original, cut)
    assert cut.count("`") % 2 == 0  # no code span left open


@given(mrkdwn, st.integers(min_value=0, max_value=400))
@settings(max_examples=400)
def test_a_cut_never_leaves_an_escape_or_a_link_open(text: str, limit: int) -> None:
    assert_safe(text, fit(text, limit), limit)


@given(mrkdwn)
def test_every_length_is_safe(text: str) -> None:
    for limit in range(len(text) + 1):
        assert_safe(text, fit(text, limit), limit)


def test_a_link_that_does_not_fit_keeps_its_words_unlinked() -> None:
    text = "see " + link("https://arxiv.org/abs/2412.17747", "Deliberation & Latent Space")
    cut = fit(text, 30)
    assert cut == "see Deliberation &amp; Latent…"
    assert fit("<@U0123ABC> said hi", 8) == "…"  # a mention is never cut in half
    assert fit("a &lt;&lt;&lt;", 7) == "a &lt;…"


def test_a_bold_title_cut_open_is_closed_again() -> None:
    text = "*" + link("https://huggingface.co/papers/1", "A very long title") + "*"
    cut = fit(text, 12)
    assert cut == "*A very lo…*" and len(cut) <= 12


def test_long_hostile_titles_render_within_limits_with_whole_links() -> None:
    """A title of entities and markers at the section limit: every section stays well-formed."""
    hostile = "<!channel> & <@U1> *x* " * 400
    paper = Paper(id="2412.17747", title=hostile, abstract=hostile, authors=("A&B",), upvotes=1)
    messages = [
        *render(PaperCard(paper)),
        *render(PaperList("Digest & <co>", tuple(PaperItem(paper) for _ in range(30)))),
    ]
    for message in messages:
        for block in message["blocks"]:
            text = (block.get("text") or {}).get("text") or "".join(
                e.get("text", "") for e in block.get("elements", []) if e.get("type") == "mrkdwn"
            )
            assert len(text) <= MAX_SECTION_TEXT
            assert "<!channel>" not in text and "<@U1>" not in text
            assert_safe(text, text, MAX_SECTION_TEXT)
